package io.queuepilot.cli.sim;

import io.queuepilot.cli.CliException;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The seeded traces of {@code bench/run.sh scaling} (issue 15), as arrivals per second:
 * <ul>
 *   <li>{@code burst-2000}: 2,000 documents within 10 s at t = 10 s, then nothing;
 *   <li>{@code daily-ramp}: Poisson arrivals whose rate rises linearly from 0 to 6 docs/s over
 *       6 h and falls back to 0 over the next 6 h (a working day, compressed to 12 h);
 *   <li>{@code noisy-5}: Poisson arrivals around 5 docs/s for 1 h, the rate redrawn every 10 s
 *       uniformly within 2.5–7.5 docs/s;
 *   <li>{@code spikes-300}: 300 documents within 5 s every 10 minutes for 2 h, nothing between;
 *   <li>{@code budget-bound}: Poisson 12 docs/s for 30 min, more than the token budget can feed.
 * </ul>
 */
public final class BenchTraces {

  public static final List<String> NAMES = List.of("burst-2000", "daily-ramp", "noisy-5", "spikes-300", "budget-bound");

  private BenchTraces() {}

  public static LoadTrace generate(String name, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    String n = name.toLowerCase(Locale.ROOT);
    return switch (n) {
      case "burst-2000" -> {
        int[] a = new int[20];
        for (int t = 10; t < 20; t++) a[t] = 200;
        yield new LoadTrace(n, a);
      }
      case "daily-ramp" -> {
        int seconds = 12 * 3600;
        int[] a = new int[seconds];
        for (int t = 0; t < seconds; t++) {
          double rate = t < seconds / 2 ? 6.0 * t / (seconds / 2.0) : 6.0 * (seconds - t) / (seconds / 2.0);
          a[t] = poisson(r, rate);
        }
        yield new LoadTrace(n, a);
      }
      case "noisy-5" -> {
        int[] a = new int[3600];
        double rate = 5;
        for (int t = 0; t < a.length; t++) {
          if (t % 10 == 0) rate = 2.5 + 5 * r.nextDouble();
          a[t] = poisson(r, rate);
        }
        yield new LoadTrace(n, a);
      }
      case "spikes-300" -> {
        int[] a = new int[7200];
        for (int s = 0; s < 12; s++) {
          for (int t = 0; t < 5; t++) a[30 + s * 600 + t] = 60;
        }
        yield new LoadTrace(n, a);
      }
      case "budget-bound" -> {
        int[] a = new int[1800];
        for (int t = 0; t < a.length; t++) a[t] = poisson(r, 12);
        yield new LoadTrace(n, a);
      }
      default -> throw CliException.usage("unknown bench trace '" + name + "': expected one of " + String.join(", ", NAMES));
    };
  }

  /** A Poisson-distributed count with the given mean (Knuth's method; means here are small). */
  static int poisson(SplittableRandom r, double mean) {
    if (mean <= 0) return 0;
    double limit = Math.exp(-mean);
    double p = 1;
    int k = 0;
    do {
      k++;
      p *= r.nextDouble();
    } while (p > limit);
    return k - 1;
  }
}
