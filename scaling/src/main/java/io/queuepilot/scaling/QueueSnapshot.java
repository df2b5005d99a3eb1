package io.queuepilot.scaling;

import io.queuepilot.queue.JobQueue.QueueStats;

/**
 * What the queue looked like at one observation (the rows of {@code queue_stats}) and, when the
 * spec names a shared budget, that budget's {@code token_budget_status} row ({@code budget},
 * null otherwise). Averages are null when no job finished in the recent window;
 * {@code readyEstimate} is null when no ready job carries a {@code tokens_estimated}.
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
    BudgetStatus budget,
    ReadyEstimate readyEstimate) {

  /**
   * What the ready jobs' {@code tokens_estimated} (set at enqueue) add up to: how many of the
   * ready jobs carry one, their sum and the largest ({@code queue_stats} since V113).
   */
  public record ReadyEstimate(long jobs, long tokens, long maxTokens) {
    public ReadyEstimate {
      if (jobs < 0 || tokens < 0 || maxTokens < 0) {
        throw new IllegalArgumentException("estimates must not be negative: jobs=" + jobs + " tokens=" + tokens
            + " maxTokens=" + maxTokens);
      }
    }

    /** The mean estimate per job. */
    public double tokensPerJob() {
      return jobs == 0 ? 0 : (double) tokens / jobs;
    }
  }

  /** A snapshot without a budget row. */
  public QueueSnapshot(long ready, long scheduled, long processing, long stale, long deadLetter,
      double oldestReadyAgeSeconds, Double avgDurationSeconds, Double avgTokensPerJob, long completedRecently) {
    this(ready, scheduled, processing, stale, deadLetter, oldestReadyAgeSeconds, avgDurationSeconds, avgTokensPerJob,
        completedRecently, null, null);
  }

  /** A snapshot without the ready jobs' estimates. */
  public QueueSnapshot(long ready, long scheduled, long processing, long stale, long deadLetter,
      double oldestReadyAgeSeconds, Double avgDurationSeconds, Double avgTokensPerJob, long completedRecently,
      BudgetStatus budget) {
    this(ready, scheduled, processing, stale, deadLetter, oldestReadyAgeSeconds, avgDurationSeconds, avgTokensPerJob,
        completedRecently, budget, null);
  }

  /** The same observation with the shared budget's row. */
  public QueueSnapshot withBudget(BudgetStatus b) {
    return new QueueSnapshot(ready, scheduled, processing, stale, deadLetter, oldestReadyAgeSeconds,
        avgDurationSeconds, avgTokensPerJob, completedRecently, b, readyEstimate);
  }

  /** The same observation with the ready jobs' estimates (null: none known). */
  public QueueSnapshot withReadyEstimate(ReadyEstimate e) {
    return new QueueSnapshot(ready, scheduled, processing, stale, deadLetter, oldestReadyAgeSeconds,
        avgDurationSeconds, avgTokensPerJob, completedRecently, budget, e);
  }

  /**
   * The ready jobs' mean tokens estimated at enqueue when every ready job carries one (a partial
   * estimate says nothing about the jobs without), else null.
   */
  public Double readyTokensPerJobEstimated() {
    if (readyEstimate == null || ready == 0 || readyEstimate.jobs() < ready || readyEstimate.tokens() <= 0) return null;
    return readyEstimate.tokensPerJob();
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
    ReadyEstimate e = s.readyEstimated() > 0 && s.readyTokensEstimated() != null
        ? new ReadyEstimate(s.readyEstimated(), s.readyTokensEstimated(),
            s.maxReadyTokensEstimated() == null ? 0 : s.maxReadyTokensEstimated())
        : null;
    return new QueueSnapshot(s.ready(), s.scheduled(), s.processing(), s.stale(), s.deadLetter(),
        s.oldestReadyAgeSeconds(), s.avgDurationSeconds(), s.avgTokensPerJob(), s.completedRecently(), null, e);
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
