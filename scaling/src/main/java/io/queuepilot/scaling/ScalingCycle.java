package io.queuepilot.scaling;

import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.ScalerSpec;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScalingHistory;
import io.queuepilot.scaling.ScalingPolicy;
import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.JobQueue.RequeuedJob;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pass of observe → requeue stale → decide → apply, shared by the Kubernetes reconciler
 * and the standalone Render process. Failures of each step are caught and reported in the
 * {@link CycleOutcome}; a failed observation never changes the replica count.
 */
public final class ScalingCycle {

  private static final Logger log = LoggerFactory.getLogger(ScalingCycle.class);

  private ScalingCycle() {}

  /**
   * Runs one cycle. {@code queue} is null when the database could not even be opened
   * ({@code queueError} says why); {@code history} is null on the first cycle.
   */
  public static CycleOutcome run(String name, List<String> jobTypes, List<String> lanes, Duration heartbeatTimeout,
      ScalerSpec policySpec, JobQueue queue, String queueError, ScaleTarget target, ScalingHistory history, Instant now) {
    int current;
    try {
      current = target.clamp(target.currentReplicas());
    } catch (ScaleTargetException e) {
      log.warn("scaler {}: cannot read {}: {}", name, target.describe(), e.getMessage());
      Observation obs = observe(name, jobTypes, lanes, heartbeatTimeout, queue, queueError);
      return new CycleOutcome(null, e.getMessage(), e.kind(), null, obs.snapshot, obs.error, obs.requeued,
          obs.requeueError, null, false, null, e.retryAt(), history);
    }
    ScalingHistory h = history == null ? ScalingHistory.start(current, now) : history.withCurrent(current);

    String conflict;
    try {
      conflict = target.conflictingAutoscaler().orElse(null);
    } catch (ScaleTargetException e) {
      // Not knowing whether another autoscaler acts is reason enough not to act.
      conflict = "could not check for other autoscalers: " + e.getMessage();
    }

    Observation obs = observe(name, jobTypes, lanes, heartbeatTimeout, queue, queueError);
    if (conflict != null) {
      return new CycleOutcome(current, null, null, conflict, obs.snapshot, obs.error, obs.requeued,
          obs.requeueError, null, false, null, null, h);
    }

    ScalingDecision decision = ScalingPolicy.decide(obs.snapshot, policySpec, h, now);
    int wanted = target.clamp(decision.replicas());
    if (wanted != decision.replicas()) {
      decision = new ScalingDecision(wanted, current, decision.recommendation(), decision.limitedBy(),
          decision.reason() + "; " + target.describe() + " accepts " + wanted);
    }
    boolean scaled = false;
    String applyError = null;
    Instant retryAt = null;
    if (decision.changes()) {
      try {
        target.scale(decision.replicas());
        scaled = true;
        log.info("scaler {}: scaled {} from {} to {} (limitedBy {}): {}", name, target.describe(), current,
            decision.replicas(), decision.limitedBy().statusValue(), decision.reason());
      } catch (ScaleTargetException e) {
        applyError = e.getMessage();
        retryAt = e.retryAt();
        log.warn("scaler {}: scaling {} to {} failed, keeping {}: {}", name, target.describe(),
            decision.replicas(), current, e.getMessage());
      }
    }
    ScalingDecision recorded = scaled ? decision
        : new ScalingDecision(current, current, decision.recommendation(), decision.limitedBy(), decision.reason());
    ScalingHistory next = h.record(recorded, now, ScalingHistory.keepFor(policySpec));
    return new CycleOutcome(current, null, null, null, obs.snapshot, obs.error, obs.requeued, obs.requeueError,
        decision, scaled, applyError, retryAt, next);
  }

  private record Observation(QueueSnapshot snapshot, String error, List<RequeuedJob> requeued, String requeueError) {}

  private static Observation observe(String name, List<String> jobTypes, List<String> lanes,
      Duration heartbeatTimeout, JobQueue queue, String queueError) {
    if (queue == null) {
      return new Observation(null, Optional.ofNullable(queueError).orElse("database not configured"), List.of(), null);
    }
    QueueSnapshot snapshot;
    try {
      snapshot = QueueSnapshot.of(queue.stats(jobTypes, lanes, heartbeatTimeout));
    } catch (RuntimeException e) {
      log.warn("scaler {}: queue_stats failed: {}", name, e.toString());
      return new Observation(null, "queue_stats failed: " + rootMessage(e), List.of(), null);
    }
    try {
      List<RequeuedJob> requeued = queue.requeueStale(heartbeatTimeout);
      for (RequeuedJob r : requeued) {
        log.info("scaler {}: stale job {} of worker {} → {}", name, r.jobId(), r.workerId(), r.newStatus().sql());
      }
      return new Observation(snapshot, null, requeued, null);
    } catch (RuntimeException e) {
      log.warn("scaler {}: requeue_stale_jobs failed: {}", name, e.toString());
      return new Observation(snapshot, null, List.of(), "requeue_stale_jobs failed: " + rootMessage(e));
    }
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) t = t.getCause();
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
