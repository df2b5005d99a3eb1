package io.queuepilot.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.RequeuedJob;
import io.queuepilot.scaling.ScaleTargetException.Kind;
import io.queuepilot.testkit.MutableClock;
import io.queuepilot.scaling.testing.TestingQueueObserver;
import io.queuepilot.scaling.testing.TestingScaleTarget;
import io.queuepilot.scaling.testing.TestingStaleJobRescuer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Scaler#runOnce()} with hand-written fakes for everything around the policy (target,
 * queue, rescuer, clock, history store): which step result each failure produces, what reaches
 * the target and what the history store keeps.
 */
class ScalerTest {

  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  /** 0..20 replicas, 4 jobs each, default scale-down behaviour (300 s window, step 2 per 15 s). */
  static final ScalerSpec SPEC = ScalerSpec.of(0, 20, 4);

  /** The fakes one cycle runs against; a row of the table arranges them. */
  static final class World {
    final TestingScaleTarget target = new TestingScaleTarget(1);
    final TestingQueueObserver queue = new TestingQueueObserver(QueueSnapshot.of(40, 0));
    final TestingStaleJobRescuer rescuer = new TestingStaleJobRescuer();
    final ScalingHistoryStore history = ScalingHistoryStore.inMemory();
    final MutableClock clock = new MutableClock(T0);
    boolean withRescuer = true;

    Scaler scaler() {
      Scaler.Builder b = Scaler.builder("test").spec(SPEC).queue(queue).target(target).history(history).clock(clock);
      return (withRescuer ? b.rescuer(rescuer) : b.noRescuer("not the leader")).build();
    }
  }

  /**
   * One row: how the world is arranged, then the expected result of each step, the scale calls
   * the target saw, the replica count after the cycle and whether the history store was written.
   */
  record Row(String name, Consumer<World> arrange, Class<? extends CycleOutcome> outcome,
      Class<? extends QueueStep> queue, Class<? extends RescueStep> rescue, Class<? extends ApplyStep> apply,
      List<Integer> scaleCalls, Integer replicasAfter, boolean historySaved) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Row> table() {
    return Stream.of(
        new Row("40 ready at 4 per replica: scales 1 → 10", w -> {},
            CycleOutcome.Decided.class, QueueStep.Observed.class, RescueStep.Rescued.class, ApplyStep.Applied.class,
            List.of(10), 10, true),
        new Row("4 ready on 1 replica: steady, nothing sent", w -> w.queue.shows(QueueSnapshot.of(4, 0)),
            CycleOutcome.Decided.class, QueueStep.Observed.class, RescueStep.Rescued.class, ApplyStep.Unchanged.class,
            List.of(), 1, true),
        new Row("queue_stats fails: keeps the count, does not rescue", w -> w.queue.unavailable("queue_stats failed: down"),
            CycleOutcome.Decided.class, QueueStep.QueueUnavailable.class, RescueStep.NotRun.class,
            ApplyStep.Unchanged.class, List.of(), 1, true),
        new Row("observer throws unchecked: same as unavailable", w -> w.queue.throwing(new IllegalStateException("bug")),
            CycleOutcome.Decided.class, QueueStep.QueueUnavailable.class, RescueStep.NotRun.class,
            ApplyStep.Unchanged.class, List.of(), 1, true),
        new Row("target not found: no decision, the queue is still observed and rescued",
            w -> w.target.failNextRead(new ScaleTargetException(Kind.NOT_FOUND, "deployment ns/w not found")),
            CycleOutcome.TargetUnavailable.class, QueueStep.Observed.class, RescueStep.Rescued.class, null,
            List.of(), null, false),
        new Row("another autoscaler: no decision, nothing sent", w -> w.target.conflict("HPA ns/cpu scales it"),
            CycleOutcome.Conflicting.class, QueueStep.Observed.class, RescueStep.Rescued.class, null,
            List.of(), 1, true),
        new Row("conflict check fails: treated as a conflict",
            w -> w.target.failNextConflictCheck(new ScaleTargetException(Kind.FAILED, "HPA list failed")),
            CycleOutcome.Conflicting.class, QueueStep.Observed.class, RescueStep.Rescued.class, null,
            List.of(), 1, true),
        new Row("scale refused: keeps the count",
            w -> w.target.failNextScale(new ScaleTargetException(Kind.FAILED, "HTTP 500")),
            CycleOutcome.Decided.class, QueueStep.Observed.class, RescueStep.Rescued.class, ApplyStep.ApplyFailed.class,
            List.of(10), 1, true),
        new Row("rescue fails: still decides and scales", w -> w.rescuer.failing(new IllegalStateException("conn reset")),
            CycleOutcome.Decided.class, QueueStep.Observed.class, RescueStep.RescueFailed.class, ApplyStep.Applied.class,
            List.of(10), 10, true),
        new Row("no rescuer in this process (not the leader): rescue not run", w -> w.withRescuer = false,
            CycleOutcome.Decided.class, QueueStep.Observed.class, RescueStep.NotRun.class, ApplyStep.Applied.class,
            List.of(10), 10, true),
        new Row("target accepts 1..5: clamped to 5", w -> w.target.accepting(1, 5),
            CycleOutcome.Decided.class, QueueStep.Observed.class, RescueStep.Rescued.class, ApplyStep.Applied.class,
            List.of(5), 5, true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void eachStepReportsItsOwnResult(Row row) {
    World w = new World();
    row.arrange().accept(w);

    CycleOutcome o = w.scaler().runOnce();

    assertThat(o).isInstanceOf(row.outcome());
    assertThat(o.queue()).isInstanceOf(row.queue());
    assertThat(o.rescue()).isInstanceOf(row.rescue());
    if (row.apply() != null) {
      assertThat(((CycleOutcome.Decided) o).apply()).isInstanceOf(row.apply());
    }
    assertThat(w.target.scaleCalls()).isEqualTo(row.scaleCalls());
    assertThat(o.replicasAfter())
        .isEqualTo(row.replicasAfter() == null ? OptionalInt.empty() : OptionalInt.of(row.replicasAfter()));
    assertThat(w.history.load().isPresent()).as("history saved").isEqualTo(row.historySaved());
    assertThat(w.rescuer.runs()).as("rescuer runs only with a readable queue")
        .isEqualTo(w.withRescuer && o.queue() instanceof QueueStep.Observed ? 1 : 0);
  }

  @Test
  void resultsCarryWhatEachStepSaw() {
    World w = new World();
    RequeuedJob requeued = new RequeuedJob(UUID.randomUUID(), JobStatus.PENDING, "w1");
    RequeuedJob dead = new RequeuedJob(UUID.randomUUID(), JobStatus.DEAD_LETTER, "w2");
    w.rescuer.next(List.of(requeued, dead));
    w.target.accepting(1, 5);

    CycleOutcome.Decided d = (CycleOutcome.Decided) w.scaler().runOnce();

    assertThat(((QueueStep.Observed) d.queue()).snapshot()).isEqualTo(QueueSnapshot.of(40, 0));
    assertThat(d.rescue().jobs()).containsExactly(requeued, dead);
    assertThat(d.rescue().requeuedCount()).isEqualTo(1);
    assertThat(d.rescue().deadLetteredCount()).isEqualTo(1);
    assertThat(d.apply()).isEqualTo(new ApplyStep.Applied(1, 5));
    assertThat(d.decision().replicas()).isEqualTo(5);
    assertThat(d.decision().reason()).endsWith("; testing/target accepts 5");
    assertThat(d.currentReplicas()).isEqualTo(1);
  }

  @Test
  void failuresSayWhyAndWhenToRetry() {
    World w = new World();
    Instant reset = T0.plusSeconds(30);
    w.target.failNextScale(new ScaleTargetException(Kind.RATE_LIMITED, "rate limit until reset", reset, null));
    CycleOutcome limited = w.scaler().runOnce();
    assertThat(((CycleOutcome.Decided) limited).apply())
        .isEqualTo(new ApplyStep.ApplyFailed("rate limit until reset", Optional.of(reset)));
    assertThat(limited.retryAt()).contains(reset);

    World deferred = new World();
    Instant due = T0.plusSeconds(2);
    deferred.target.failNextScale(new ScaleTargetException(Kind.DEFERRED, "costs just set", due, null));
    CycleOutcome waiting = deferred.scaler().runOnce();
    assertThat(((CycleOutcome.Decided) waiting).apply()).as("a deferral is not a failure")
        .isEqualTo(new ApplyStep.Deferred("costs just set", due));
    assertThat(waiting.retryAt()).as("the next cycle runs when the target asked").contains(due);
    assertThat(waiting.replicasAfter()).hasValue(((CycleOutcome.Decided) waiting).currentReplicas());

    World gone = new World();
    gone.target.failNextRead(new ScaleTargetException(Kind.FORBIDDEN, "may not read deployment ns/w", reset, null));
    gone.queue.unavailable("database Secret ns/db not readable");
    CycleOutcome forbidden = gone.scaler().runOnce();
    assertThat(forbidden).isEqualTo(new CycleOutcome.TargetUnavailable(Kind.FORBIDDEN, "may not read deployment ns/w",
        Optional.of(reset), new QueueStep.QueueUnavailable("database Secret ns/db not readable"),
        new RescueStep.NotRun("the queue is unavailable")));
    assertThat(forbidden.decided()).isEmpty();

    World noCheck = new World();
    noCheck.target.failNextConflictCheck(new ScaleTargetException(Kind.FAILED, "HPA list failed"));
    assertThat(((CycleOutcome.Conflicting) noCheck.scaler().runOnce()).conflict())
        .isEqualTo("could not check for other autoscalers: HPA list failed");

    World bug = new World();
    bug.queue.throwing(new IllegalStateException("outer", new RuntimeException("connection reset")));
    assertThat(bug.scaler().runOnce().queue())
        .isEqualTo(new QueueStep.QueueUnavailable("observing the queue failed: connection reset"));
  }

  @Test
  void aFailedScaleIsRecordedAsTheCountKeptSoTheNextCycleRetries() {
    World w = new World();
    w.target.failNextScale(new ScaleTargetException(Kind.FAILED, "HTTP 500"));
    Scaler scaler = w.scaler();

    scaler.runOnce();
    assertThat(w.history.load().orElseThrow().currentReplicas()).isEqualTo(1);
    assertThat(w.history.load().orElseThrow().lastScaleTime()).as("nothing was scaled").isNull();

    w.clock.advance(Duration.ofSeconds(15));
    CycleOutcome retried = scaler.runOnce();
    assertThat(((CycleOutcome.Decided) retried).apply()).isEqualTo(new ApplyStep.Applied(1, 10));
    assertThat(w.target.scaleCalls()).containsExactly(10, 10);
    assertThat(w.history.load().orElseThrow().lastScaleTime()).isEqualTo(T0.plusSeconds(15));
  }

  @Test
  void theHistoryStoreCarriesTheWindowAcrossScalerInstances() {
    // The reconciler builds a new Scaler per reconcile: only the store connects the cycles.
    World w = new World();
    w.scaler().runOnce(); // 1 → 10 at T0
    w.queue.shows(QueueSnapshot.of(0, 0));
    w.clock.advance(Duration.ofSeconds(310)); // the T0 recommendation of 10 has left the 300 s window

    CycleOutcome continued = w.scaler().runOnce();
    assertThat(((CycleOutcome.Decided) continued).apply())
        .as("the window was observed since T0: steps down by maxStep 2").isEqualTo(new ApplyStep.Applied(10, 8));

    World forgetful = new World();
    forgetful.scaler().runOnce();
    forgetful.queue.shows(QueueSnapshot.of(0, 0));
    forgetful.clock.advance(Duration.ofSeconds(310));
    Scaler fresh = Scaler.builder("fresh").spec(SPEC).queue(forgetful.queue).target(forgetful.target)
        .history(ScalingHistoryStore.inMemory()).clock(forgetful.clock).build();
    CycleOutcome.Decided held = (CycleOutcome.Decided) fresh.runOnce();
    assertThat(held.apply()).as("a new store has not observed the window yet: holds").isEqualTo(new ApplyStep.Unchanged());
    assertThat(held.decision().limitedBy()).isEqualTo(LimitedBy.STABILIZATION);
  }

  @Test
  void thePolicyIsPluggableAndGetsNullWhenTheQueueIsUnavailable() {
    World w = new World();
    w.queue.unavailable("queue_stats failed: down");
    QueueSnapshot[] seen = {QueueSnapshot.of(99, 99)};
    Scaler scaler = Scaler.builder("custom").spec(SPEC).queue(w.queue).target(w.target).history(w.history)
        .clock(w.clock).policy((snapshot, spec, history, now) -> {
          seen[0] = snapshot;
          return new ScalingDecision(3, history.currentReplicas(), 3, LimitedBy.NONE, "fixed");
        }).build();

    CycleOutcome.Decided d = (CycleOutcome.Decided) scaler.runOnce();

    assertThat(seen[0]).isNull();
    assertThat(d.apply()).isEqualTo(new ApplyStep.Applied(1, 3));
    assertThat(d.rescue()).isEqualTo(new RescueStep.NotRun("no stale-job rescuer configured"));
  }

  @Test
  void theNextCycleIsThePollUnlessTheDecisionAsksSoonerAndNeverInThePast() {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    Duration poll = Duration.ofSeconds(15);
    java.util.function.Function<Instant, CycleOutcome> decidedAskingFor = at -> new CycleOutcome.Decided(0,
        new QueueStep.QueueUnavailable("not read"), new RescueStep.NotRun("none"),
        new ScalingDecision(0, 0, 0, LimitedBy.NONE, "test", null, null, at), new ApplyStep.Unchanged());
    assertThat(decidedAskingFor.apply(null).nextCycleAfter(now, poll, Duration.ofSeconds(1))).isEqualTo(poll);
    assertThat(decidedAskingFor.apply(now.plusMillis(4_200)).nextCycleAfter(now, poll, Duration.ofSeconds(1)))
        .as("a pre-warm due in 4.2 s").isEqualTo(Duration.ofMillis(4_200));
    assertThat(decidedAskingFor.apply(now.plusSeconds(40)).nextCycleAfter(now, poll, Duration.ofSeconds(1)))
        .as("after the poll: the poll comes first").isEqualTo(poll);
    assertThat(decidedAskingFor.apply(now.minusSeconds(3)).nextCycleAfter(now, poll, Duration.ofSeconds(1)))
        .as("already past: soon, not a loop").isEqualTo(Duration.ofSeconds(1));
  }
}
