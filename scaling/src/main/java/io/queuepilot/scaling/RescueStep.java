package io.queuepilot.scaling;

import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.RequeuedJob;
import java.util.List;

/** What the stale-job rescue step of a cycle did. */
public sealed interface RescueStep {

  /** The rescuer ran; {@code jobs} may be empty. */
  record Rescued(List<RequeuedJob> jobs) implements RescueStep {
    public Rescued {
      jobs = List.copyOf(jobs);
    }
  }

  /** The rescuer ran and failed. */
  record RescueFailed(String reason) implements RescueStep {}

  /** The rescuer did not run: none is configured here, or the queue was unavailable. */
  record NotRun(String why) implements RescueStep {}

  /** The jobs rescued (empty unless {@link Rescued}). */
  default List<RequeuedJob> jobs() {
    return this instanceof Rescued r ? r.jobs() : List.of();
  }

  default long requeuedCount() {
    return jobs().stream().filter(r -> r.newStatus() == JobStatus.PENDING).count();
  }

  default long deadLetteredCount() {
    return jobs().stream().filter(r -> r.newStatus() == JobStatus.DEAD_LETTER).count();
  }
}
