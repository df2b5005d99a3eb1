package io.queuepilot.scaling;

import io.queuepilot.queue.JobQueue.QueueStats;

/**
 * What the queue looked like at one observation (the rows of {@code queue_stats}) and, when the
 * spec names a shared budget, that budget's {@code token_budget_status} row ({@code budget},
 * null otherwise). Averages are null when no job finished in the recent window.
 */
public record QueueSnapshot(
    long ready,
    long scheduled,
    long processing,
    long stale,
    long deadLetter,
    double oldestReadyAgeSeconds,
    Double avgDurationSeconds,
    Double avgTokensPerJob,
    long completedRecently,
    BudgetStatus budget) {

  /** A snapshot without a budget row. */
  public QueueSnapshot(long ready, long scheduled, long processing, long stale, long deadLetter,
      double oldestReadyAgeSeconds, Double avgDurationSeconds, Double avgTokensPerJob, long completedRecently) {
    this(ready, scheduled, processing, stale, deadLetter, oldestReadyAgeSeconds, avgDurationSeconds, avgTokensPerJob,
        completedRecently, null);
  }

  /** The same observation with the shared budget's row. */
  public QueueSnapshot withBudget(BudgetStatus b) {
    return new QueueSnapshot(ready, scheduled, processing, stale, deadLetter, oldestReadyAgeSeconds,
        avgDurationSeconds, avgTokensPerJob, completedRecently, b);
  }

  public QueueSnapshot {
    if (ready < 0 || scheduled < 0 || processing < 0 || stale < 0 || deadLetter < 0) {
      throw new IllegalArgumentException("queue counts must not be negative: ready=" + ready
          + " scheduled=" + scheduled + " processing=" + processing + " stale=" + stale
          + " deadLetter=" + deadLetter);
    }
  }

  /** The snapshot of one {@code queue_stats} row. */
  public static QueueSnapshot of(QueueStats s) {
    return new QueueSnapshot(s.ready(), s.scheduled(), s.processing(), s.stale(), s.deadLetter(),
        s.oldestReadyAgeSeconds(), s.avgDurationSeconds(), s.avgTokensPerJob(), s.completedRecently());
  }

  /** A snapshot with only the counts that drive the replica count (tests, examples). */
  public static QueueSnapshot of(long ready, long processing) {
    return new QueueSnapshot(ready, 0, processing, 0, 0, 0, null, null, 0);
  }

  /** Jobs a worker replica has to hold a slot for: ready now plus in flight. */
  public long work() {
    return ready + processing;
  }
}
