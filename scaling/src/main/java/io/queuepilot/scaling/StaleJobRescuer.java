package io.queuepilot.scaling;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.JobQueue.RequeuedJob;
import java.util.List;

/**
 * Requeues (or dead-letters) the stale jobs of one scaler's scope. Exactly one process rescues
 * a scope: the Kubernetes controller's leader, the Render process, or local mode's controller;
 * workers do not. A {@link Scaler} without one never rescues.
 */
@FunctionalInterface
public interface StaleJobRescuer {

  /** Rescues what is stale now; what happened to each job. */
  List<RequeuedJob> rescue();

  /** {@code requeue_stale_jobs(timeout, job_types, lanes)} of {@code queue}, for {@code scope} only. */
  static StaleJobRescuer of(JobQueue queue, QueueScope scope) {
    return () -> queue.requeueStale(scope.heartbeatTimeout(), scope.jobTypes(), scope.lanes());
  }
}
