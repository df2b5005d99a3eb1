package io.queuepilot.controller.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.queuepilot.controller.core.PauseSource;
import io.queuepilot.scaling.ApplyStep;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.scaling.LimitedBy;
import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.QueueStep;
import io.queuepilot.scaling.RescueStep;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScaleTargetException;
import io.queuepilot.queue.JobQueue;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The pure status/Event mapping: transitions keep their time, Events fire on change only. */
class StatusUpdateTest {

  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static CycleOutcome scaled(int from, int to, LimitedBy limit) {
    return new CycleOutcome.Decided(from, new QueueStep.Observed(QueueSnapshot.of(40, 0)),
        new RescueStep.Rescued(List.of()), new ScalingDecision(to, from, to, limit, "because"),
        from != to ? new ApplyStep.Applied(from, to) : new ApplyStep.Unchanged());
  }

  static Condition condition(QueueScalerStatus s, String type) {
    return s.conditions.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
  }

  @Test
  void scaleAndLimitEventsOnlyWhenSomethingChanges() {
    StatusUpdate.Result first = StatusUpdate.next(null, scaled(0, 10, LimitedBy.MAX), "deployment/w", 1L, T0);
    assertThat(first.events()).extracting(StatusUpdate.PendingEvent::reason).containsExactly("Scaled", "ScalingLimited");
    assertThat(first.status().lastScaleTime).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(first.status().observedGeneration).isEqualTo(1L);

    StatusUpdate.Result steady = StatusUpdate.next(first.status(), scaled(10, 10, LimitedBy.MAX), "deployment/w", 1L,
        T0.plusSeconds(15));
    assertThat(steady.events()).as("same count, same limit: quiet").isEmpty();
    assertThat(steady.status().lastScaleTime).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(condition(steady.status(), "ScalingLimited").getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(condition(steady.status(), "Ready").getStatus()).isEqualTo("True");
  }

  @Test
  void aDeferredScaleDownIsActiveNotFailedAndWarnsNothing() {
    QueueScalerStatus before = StatusUpdate.next(null, scaled(4, 4, LimitedBy.NONE), "deployment/w", 1L, T0).status();
    CycleOutcome deferred = new CycleOutcome.Decided(4, new QueueStep.Observed(QueueSnapshot.of(0, 2)),
        new RescueStep.Rescued(List.of()), new ScalingDecision(2, 4, 2, LimitedBy.NONE, "idle"),
        new ApplyStep.Deferred("costs just set on [w-a]", T0.plusSeconds(17)));

    StatusUpdate.Result r = StatusUpdate.next(before, deferred, "deployment/w", 1L, T0.plusSeconds(15));

    assertThat(r.events()).as("neither Scaled nor a Warning").isEmpty();
    Condition active = condition(r.status(), "ScalingActive");
    assertThat(active.getStatus()).isEqualTo("True");
    assertThat(active.getReason()).isEqualTo("ScaleDownDeferred");
    assertThat(active.getMessage()).isEqualTo("keeping 4 replicas until 2026-01-01T00:00:17Z: costs just set on [w-a]");
    assertThat(condition(r.status(), "Ready").getStatus()).isEqualTo("True");
    assertThat(r.status().lastScaleTime).isNull();
  }

  @Test
  void failedQueryTurnsConditionsAndWarnsOnce() {
    QueueScalerStatus ok = StatusUpdate.next(null, scaled(5, 5, LimitedBy.NONE), "deployment/w", 1L, T0).status();
    CycleOutcome failed = new CycleOutcome.Decided(5, new QueueStep.QueueUnavailable("queue_stats failed: connection refused"),
        new RescueStep.NotRun("the queue is unavailable"),
        new ScalingDecision(5, 5, 5, LimitedBy.NONE, "queue statistics unavailable"), new ApplyStep.Unchanged());

    StatusUpdate.Result r1 = StatusUpdate.next(ok, failed, "deployment/w", 1L, T0.plusSeconds(15));
    StatusUpdate.Result r2 = StatusUpdate.next(r1.status(), failed, "deployment/w", 1L, T0.plusSeconds(30));

    assertThat(r1.events()).extracting(StatusUpdate.PendingEvent::reason).containsExactly("DatabaseUnavailable");
    assertThat(r2.events()).isEmpty();
    assertThat(condition(r2.status(), "DatabaseReachable").getStatus()).isEqualTo("False");
    assertThat(condition(r2.status(), "DatabaseReachable").getLastTransitionTime()).isEqualTo("2026-01-01T00:00:15Z");
    assertThat(condition(r2.status(), "Ready").getStatus()).isEqualTo("False");
    assertThat(r2.status().queue.ready).as("last good snapshot kept").isEqualTo(40);
    assertThat(r2.status().currentReplicas).isEqualTo(5);
  }

  @Test
  void requeueTotalsAccumulateAndTargetNotFoundIsReported() {
    var requeued = List.of(new JobQueue.RequeuedJob(UUID.randomUUID(), JobQueue.JobStatus.PENDING, "w1"),
        new JobQueue.RequeuedJob(UUID.randomUUID(), JobQueue.JobStatus.DEAD_LETTER, "w1"));
    CycleOutcome missing = new CycleOutcome.TargetUnavailable(ScaleTargetException.Kind.NOT_FOUND,
        "deployment ns/w not found", Optional.empty(), new QueueStep.Observed(QueueSnapshot.of(1, 0)),
        new RescueStep.Rescued(requeued));
    QueueScalerStatus prior = new QueueScalerStatus();
    prior.requeuedTotal = 3L;

    StatusUpdate.Result r = StatusUpdate.next(prior, missing, "deployment/w", 2L, T0);

    assertThat(r.status().requeuedTotal).isEqualTo(4L);
    assertThat(r.status().deadLetteredTotal).isEqualTo(1L);
    assertThat(condition(r.status(), "TargetFound").getStatus()).isEqualTo("False");
    assertThat(condition(r.status(), "ScalingActive").getReason()).isEqualTo("TargetUnavailable");
    assertThat(r.events()).extracting(StatusUpdate.PendingEvent::reason).contains("RequeuedStaleJobs", "TargetNotFound");
  }

  @Test
  void totalsContinueFromWhatWasCountedBeforeWhenTheCachedStatusIsBehind() {
    var requeued = List.of(new JobQueue.RequeuedJob(UUID.randomUUID(), JobQueue.JobStatus.PENDING, "w1"),
        new JobQueue.RequeuedJob(UUID.randomUUID(), JobQueue.JobStatus.DEAD_LETTER, "w1"));
    CycleOutcome rescued = new CycleOutcome.Decided(2, new QueueStep.Observed(QueueSnapshot.of(1, 0)),
        new RescueStep.Rescued(requeued), new ScalingDecision(2, 2, 2, LimitedBy.NONE, "because"),
        new ApplyStep.Unchanged());
    QueueScalerStatus stale = new QueueScalerStatus();
    stale.requeuedTotal = 1L;
    RescueTotals.Totals counted = new RescueTotals.Totals(3, 2);

    QueueScalerStatus next = StatusUpdate.next(stale, counted, rescued, "deployment/w", 1L, T0, false, false).status();
    assertThat(next.requeuedTotal).isEqualTo(4L);
    assertThat(next.deadLetteredTotal).isEqualTo(3L);

    QueueScalerStatus invalid = StatusUpdate.invalidSpec(stale, counted, "bad spec", 1L, T0).status();
    assertThat(invalid.requeuedTotal).as("an unusable spec keeps the counted totals").isEqualTo(3L);
    assertThat(invalid.deadLetteredTotal).isEqualTo(2L);
  }

  @Test
  void theEffectivePauseIsInStatusWithItsSourceAndOneEventPerChange() {
    StatusUpdate.Result running = StatusUpdate.withPause(StatusUpdate.next(null, scaled(2, 2, LimitedBy.NONE),
        "deployment/w", 1L, T0), null, PauseSource.NONE, 1L, T0);
    assertThat(running.status().paused).isFalse();
    assertThat(condition(running.status(), "Paused").getReason()).isEqualTo("NotPaused");
    assertThat(running.events()).extracting(StatusUpdate.PendingEvent::reason).doesNotContain("Paused", "Resumed");

    StatusUpdate.Result paused = StatusUpdate.withPause(StatusUpdate.next(running.status(),
        scaled(2, 2, LimitedBy.PAUSED), "deployment/w", 1L, T0.plusSeconds(15)), running.status(),
        PauseSource.ANNOTATION, 1L, T0.plusSeconds(15));
    assertThat(paused.status().paused).as("paused by the annotation alone, spec.paused false").isTrue();
    Condition c = condition(paused.status(), "Paused");
    assertThat(c.getStatus()).isEqualTo("True");
    assertThat(c.getReason()).isEqualTo("PausedByAnnotation");
    assertThat(c.getMessage()).contains("queuepilot.io/paused=true");
    assertThat(paused.events()).extracting(StatusUpdate.PendingEvent::reason).containsOnlyOnce("Paused");
    assertThat(condition(paused.status(), "Ready").getStatus()).as("paused is not broken").isEqualTo("True");

    StatusUpdate.Result still = StatusUpdate.withPause(StatusUpdate.next(paused.status(),
        scaled(2, 2, LimitedBy.PAUSED), "deployment/w", 1L, T0.plusSeconds(30)), paused.status(),
        PauseSource.ANNOTATION, 1L, T0.plusSeconds(30));
    assertThat(still.events()).as("still paused the same way: quiet").isEmpty();
    assertThat(condition(still.status(), "Paused").getLastTransitionTime()).isEqualTo("2026-01-01T00:00:15Z");

    StatusUpdate.Result both = StatusUpdate.withPause(StatusUpdate.next(still.status(),
        scaled(2, 2, LimitedBy.PAUSED), "deployment/w", 1L, T0.plusSeconds(45)), still.status(),
        PauseSource.SPEC_AND_ANNOTATION, 1L, T0.plusSeconds(45));
    assertThat(condition(both.status(), "Paused").getReason()).isEqualTo("PausedBySpecAndAnnotation");

    StatusUpdate.Result resumed = StatusUpdate.withPause(StatusUpdate.next(both.status(),
        scaled(2, 3, LimitedBy.NONE), "deployment/w", 1L, T0.plusSeconds(60)), both.status(),
        PauseSource.NONE, 1L, T0.plusSeconds(60));
    assertThat(resumed.status().paused).isFalse();
    assertThat(resumed.events()).extracting(StatusUpdate.PendingEvent::reason).contains("Resumed");
  }
}
