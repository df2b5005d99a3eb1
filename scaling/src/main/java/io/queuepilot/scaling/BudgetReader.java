package io.queuepilot.scaling;

import io.queuepilot.queue.TokenBudgetStatusRepository;
import java.util.Optional;

/** Where the scaler reads the shared budget's row from: {@code token_budget_status} in production. */
@FunctionalInterface
public interface BudgetReader {

  /** The budget called {@code name}; empty when no such row exists. Throws when it cannot be read. */
  Optional<BudgetStatus> read(String name);

  /** {@code token_budget_status} through the queue module's repository. */
  static BudgetReader of(TokenBudgetStatusRepository repository) {
    return name -> repository.status(name).map(r -> new BudgetStatus(r.name(), r.tokensPerWindow(),
        r.requestsPerWindow(), r.windowSeconds(), r.tokensInWindow(), r.requestsInWindow(), r.inFlight(),
        r.blockedUntil()));
  }
}
