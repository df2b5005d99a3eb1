package io.queuepilot.bench;

import java.time.Instant;

/** Wall-clock time in epoch microseconds: the clock every worker process reports in. */
public final class Clock {

  private Clock() {}

  public static long nowMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000L;
  }
}
