package io.queuepilot.reliability;

import java.time.Duration;

/**
 * FAST vs SOAK sizing, from system properties set by the failsafe configuration: the FAST part
 * (in the README's test command) runs small job counts and shortened faults; the soak profile
 * ({@code -Psoak}, reliability/soak.sh) runs 2,000 jobs per scenario and the full-length faults.
 */
final class Scale {

  private Scale() {}

  static boolean soak() {
    return Boolean.getBoolean("reliability.soak");
  }

  /** Jobs per scenario (200 FAST, 2,000 SOAK). */
  static int jobs() {
    return Integer.getInteger("reliability.jobs", 200);
  }

  /** {@code fast} in the FAST part, {@code full} in the soak. */
  static Duration pick(Duration fast, Duration full) {
    return soak() ? full : fast;
  }

  static int pick(int fast, int full) {
    return soak() ? full : fast;
  }
}
