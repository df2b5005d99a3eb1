package io.queuepilot.worker.budget;

import io.queuepilot.queue.budget.TokenBudget;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/**
 * A budget with no shared limit, used when no token_budget row is configured: it grants every
 * reservation but still honours blocks from OpenAI's 429s and rate-limit headers within this process.
 */
public final class LocalTokenBudget implements TokenBudget {

  private final Clock clock;
  private volatile Instant blockedUntil = Instant.MIN;
  private volatile String blockedReason;

  public LocalTokenBudget(Clock clock) {
    this.clock = clock;
  }

  @Override
  public Reservation reserve(long tokens, int requests, UUID jobId) {
    Instant now = clock.instant();
    if (now.isBefore(blockedUntil)) {
      return new Reservation.Denied(Duration.between(now, blockedUntil));
    }
    return new Reservation.Granted(UUID.randomUUID(), tokens);
  }

  @Override
  public void settle(Reservation.Granted reservation, long tokensUsed) {
    // nothing shared to correct
  }

  @Override
  public synchronized void block(Duration duration, String reason) {
    Instant until = clock.instant().plus(duration);
    if (until.isAfter(blockedUntil)) {
      blockedUntil = until;
      blockedReason = reason;
    }
  }

  @Override
  public java.util.Optional<String> blockedReason() {
    return clock.instant().isBefore(blockedUntil) ? java.util.Optional.ofNullable(blockedReason) : java.util.Optional.empty();
  }
}
