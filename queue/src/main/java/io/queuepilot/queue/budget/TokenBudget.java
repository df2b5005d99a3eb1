package io.queuepilot.queue.budget;

import java.time.Duration;
import java.util.UUID;

/**
 * The token and request budget shared by every worker replica: reserve an estimate before a model
 * call, settle with the real usage after it, and block everyone when OpenAI says to back off.
 */
public interface TokenBudget {

  /** Result of a reservation. */
  sealed interface Reservation {
    /** Go ahead; settle this id afterwards. */
    record Granted(UUID id, long tokens) implements Reservation {}

    /** Not now; try again after {@code retryAfter}. */
    record Denied(Duration retryAfter) implements Reservation {}
  }

  /** Reserves {@code tokens} and {@code requests} for one call (of the job {@code jobId}, may be null). */
  Reservation reserve(long tokens, int requests, UUID jobId);

  /** Replaces the reservation's estimate with what the call really used. */
  void settle(Reservation.Granted reservation, long tokensUsed);

  /** Blocks the whole budget for {@code duration} (after a 429 or exhausted rate-limit headers). */
  void block(Duration duration, String reason);

  /** Why the budget is blocked now (the reason given to {@link #block}), if it is. */
  default java.util.Optional<String> blockedReason() {
    return java.util.Optional.empty();
  }
}
