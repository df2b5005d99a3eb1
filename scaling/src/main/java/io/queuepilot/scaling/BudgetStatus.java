package io.queuepilot.scaling;

import java.time.Instant;

/**
 * The shared token budget as {@code token_budget_status(name)} reports it (sql/V020): its
 * limits per window, what the live reservations hold now, calls in flight, and a block in
 * force ({@code blockedUntil}, null when none). The one source of truth the scaler's cap uses.
 */
public record BudgetStatus(
    String name,
    long tokensPerWindow,
    long requestsPerWindow,
    int windowSeconds,
    long tokensInWindow,
    long requestsInWindow,
    long inFlight,
    Instant blockedUntil) {

  public BudgetStatus {
    if (tokensPerWindow <= 0 || requestsPerWindow <= 0 || windowSeconds <= 0) {
      throw new IllegalArgumentException("budget " + name + ": limits and window must be positive (tokens "
          + tokensPerWindow + ", requests " + requestsPerWindow + ", window " + windowSeconds + " s)");
    }
  }

  /**
   * Tokens one request reserves on average now ({@code tokens_in_window / requests_in_window}):
   * estimates (upper bounds) of calls in flight and the real usage of settled ones; empty when
   * nothing is reserved.
   */
  public java.util.OptionalDouble tokensPerRequestNow() {
    return requestsInWindow > 0 ? java.util.OptionalDouble.of((double) tokensInWindow / requestsInWindow)
        : java.util.OptionalDouble.empty();
  }
}
