package io.queuepilot.controller.target;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;

/**
 * Client-side limit for one bucket of API calls (Render's writes, or its reads): at most
 * {@code limit} per sliding {@code window}, and none before a server-announced reset (429,
 * {@code Ratelimit-Remaining: 0}, {@code Retry-After}).
 */
public final class WriteRateLimiter {

  private final int limit;
  private final Duration window;
  private final Clock clock;
  private final Deque<Instant> writes = new ArrayDeque<>();
  private Instant blockedUntil = Instant.MIN;

  public WriteRateLimiter(int limit, Duration window, Clock clock) {
    if (limit < 1) throw new IllegalArgumentException("limit must be >= 1");
    this.limit = limit;
    this.window = window;
    this.clock = clock;
  }

  /** Empty when a write may go now; otherwise the earliest instant it may. */
  public synchronized Optional<Instant> blockedUntil() {
    Instant now = clock.instant();
    while (!writes.isEmpty() && !writes.peekFirst().isAfter(now.minus(window))) writes.pollFirst();
    Instant earliest = blockedUntil;
    if (writes.size() >= limit) {
      Instant byWindow = writes.peekFirst().plus(window);
      if (byWindow.isAfter(earliest)) earliest = byWindow;
    }
    return earliest.isAfter(now) ? Optional.of(earliest) : Optional.empty();
  }

  /** Counts a write that was sent. */
  public synchronized void recordWrite() {
    writes.addLast(clock.instant());
  }

  /** The server said: no writes until {@code until}. */
  public synchronized void blockUntil(Instant until) {
    if (until.isAfter(blockedUntil)) blockedUntil = until;
  }
}
