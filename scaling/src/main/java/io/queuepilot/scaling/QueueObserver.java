package io.queuepilot.scaling;

import io.queuepilot.queue.JobQueue;

/** Where a {@link Scaler} reads the queue's state from: {@code queue_stats} in production, a fake in tests. */
@FunctionalInterface
public interface QueueObserver {

  /** The queue now, for the scaler's scope. */
  QueueSnapshot observe() throws QueueUnavailableException;

  /** {@code queue_stats} of {@code queue}, filtered to {@code scope}. */
  static QueueObserver of(JobQueue queue, QueueScope scope) {
    return () -> {
      try {
        return QueueSnapshot.of(queue.stats(scope.jobTypes(), scope.lanes(), scope.heartbeatTimeout()));
      } catch (RuntimeException e) {
        throw new QueueUnavailableException("queue_stats failed: " + Errors.rootMessage(e), e);
      }
    };
  }

  /** An observer that always fails with {@code reason} (e.g. the database Secret could not be read). */
  static QueueObserver unavailable(String reason) {
    return () -> {
      throw new QueueUnavailableException(reason);
    };
  }
}
