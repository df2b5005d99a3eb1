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

  /**
   * This observer with the shared budget {@code budgetName}'s row added to every snapshot
   * ({@code null} name: unchanged). A budget that cannot be read, or does not exist, leaves the
   * row out — the policy then falls back to the spec's numbers and says so — and is logged with
   * the budget's name, never failing the cycle.
   */
  default QueueObserver withBudget(String budgetName, BudgetReader budgets) {
    if (budgetName == null) return this;
    QueueObserver queue = this;
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(QueueObserver.class);
    return () -> {
      QueueSnapshot s = queue.observe();
      try {
        java.util.Optional<BudgetStatus> row = budgets.read(budgetName);
        if (row.isEmpty()) {
          log.warn("token budget {} does not exist (configure_token_budget): using the spec's fallback numbers", budgetName);
          return s;
        }
        return s.withBudget(row.get());
      } catch (RuntimeException e) {
        log.warn("token budget {} could not be read, using the spec's fallback numbers: {}", budgetName,
            Errors.rootMessage(e));
        return s;
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
