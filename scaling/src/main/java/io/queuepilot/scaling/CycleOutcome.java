package io.queuepilot.scaling;

import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScalingHistory;
import io.queuepilot.scaling.ScaleTargetException;
import io.queuepilot.queue.JobQueue.RequeuedJob;
import java.time.Instant;
import java.util.List;

/**
 * Everything one scaling cycle observed and did, for status, Events, metrics and logs.
 * Null fields mean "that step did not happen or failed"; the matching error field says why.
 */
public record CycleOutcome(
    Integer currentReplicas,
    String targetError,
    ScaleTargetException.Kind targetErrorKind,
    String conflict,
    QueueSnapshot snapshot,
    String databaseError,
    List<RequeuedJob> requeued,
    String requeueError,
    ScalingDecision decision,
    boolean scaled,
    String applyError,
    Instant retryAt,
    ScalingHistory history) {

  public boolean databaseReachable() {
    return databaseError == null;
  }

  public boolean targetFound() {
    return targetError == null || targetErrorKind != ScaleTargetException.Kind.NOT_FOUND;
  }

  public long requeuedCount() {
    return requeued.stream().filter(r -> r.newStatus() == io.queuepilot.queue.JobQueue.JobStatus.PENDING).count();
  }

  public long deadLetteredCount() {
    return requeued.stream().filter(r -> r.newStatus() == io.queuepilot.queue.JobQueue.JobStatus.DEAD_LETTER).count();
  }

  /** The replica count the target has after this cycle (null when it could not be read). */
  public Integer replicasAfter() {
    if (scaled) return decision.replicas();
    return currentReplicas;
  }
}
