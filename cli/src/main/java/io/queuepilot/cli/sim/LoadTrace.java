package io.queuepilot.cli.sim;

import io.queuepilot.cli.CliException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/** Job arrivals per second of simulated time: read from a CSV file or generated from a named shape. */
public record LoadTrace(String name, int[] arrivals) {

  /** The shapes {@link #shape} knows. */
  public static final List<String> SHAPES = List.of("burst", "ramp", "diurnal");

  public LoadTrace {
    arrivals = arrivals.clone();
  }

  public int seconds() {
    return arrivals.length;
  }

  public int at(int second) {
    return second < arrivals.length ? arrivals[second] : 0;
  }

  public long total() {
    return Arrays.stream(arrivals).asLongStream().sum();
  }

  /**
   * Reads {@code second,count} lines (an optional header, blank lines and {@code #} comments are
   * skipped); seconds not listed have no arrivals. Fails naming the file and line of a bad row.
   */
  public static LoadTrace fromCsv(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw CliException.usage("trace file not found: " + file);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read trace " + file, e);
    }
    TreeMap<Integer, Integer> bySecond = new TreeMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split(",");
      if (i == 0 && !parts[0].strip().matches("\\d+")) {
        continue; // header
      }
      if (parts.length != 2) {
        throw CliException.usage(file + " line " + (i + 1) + ": expected 'second,count', got '" + line + "'");
      }
      int second;
      int count;
      try {
        second = Integer.parseInt(parts[0].strip());
        count = Integer.parseInt(parts[1].strip());
      } catch (NumberFormatException e) {
        throw CliException.usage(file + " line " + (i + 1) + ": second and count must be whole numbers, got '" + line + "'");
      }
      if (second < 0 || count < 0) {
        throw CliException.usage(file + " line " + (i + 1) + ": second and count must not be negative, got '" + line + "'");
      }
      if (second > 86_400) {
        throw CliException.usage(file + " line " + (i + 1) + ": second " + second + " is beyond one day (86400)");
      }
      bySecond.merge(second, count, Integer::sum);
    }
    if (bySecond.isEmpty()) {
      throw CliException.usage("trace file " + file + " has no 'second,count' rows");
    }
    int[] arrivals = new int[bySecond.lastKey() + 1];
    bySecond.forEach((s, c) -> arrivals[s] = c);
    return new LoadTrace(file.getFileName().toString(), arrivals);
  }

  /**
   * A named load shape over {@code seconds} with {@code peak} arrivals per second at its highest:
   * <ul>
   *   <li>{@code burst}: one arrival every 5 s, then {@code peak}/s for 20 s starting at 30 s, then quiet again;
   *   <li>{@code ramp}: rising linearly from 0 to {@code peak}/s over the whole duration;
   *   <li>{@code diurnal}: one day compressed into the duration, a cosine from night (0) to noon ({@code peak}).
   * </ul>
   * Fractional rates accumulate, so the counts are whole and deterministic.
   */
  public static LoadTrace shape(String shape, int seconds, double peak) {
    if (seconds < 1) {
      throw CliException.usage("--duration must be at least 1 second, was " + seconds);
    }
    if (peak <= 0) {
      throw CliException.usage("--peak must be positive, was " + peak);
    }
    int[] arrivals = new int[seconds];
    double carry = 0;
    for (int t = 0; t < seconds; t++) {
      double rate =
          switch (shape.toLowerCase(Locale.ROOT)) {
            case "burst" -> (t >= 30 && t < 50) ? peak : 0.2;
            case "ramp" -> peak * t / Math.max(1, seconds - 1);
            case "diurnal" -> peak * (0.5 - 0.5 * Math.cos(2 * Math.PI * t / seconds));
            default -> throw CliException.usage(
                "unknown shape '" + shape + "': expected one of " + String.join(", ", SHAPES));
          };
      carry += rate;
      int whole = (int) Math.floor(carry + 1e-9);
      arrivals[t] = whole;
      carry -= whole;
    }
    return new LoadTrace(shape.toLowerCase(Locale.ROOT), arrivals);
  }
}
