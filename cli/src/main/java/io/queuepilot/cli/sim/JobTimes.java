package io.queuepilot.cli.sim;

import io.queuepilot.cli.CliException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * How long one job takes, drawn per job from a seeded generator: {@code fixed:S},
 * {@code lognormal:MEDIAN,SIGMA} (the shape of document-extraction times: most short, a long
 * tail), {@code exponential:MEAN}, or {@code file:PATH} (one duration in seconds per line,
 * replayed in order and cycled — a trace of real durations).
 */
public sealed interface JobTimes {

  /** The next job's duration in seconds (always > 0). */
  double next(SplittableRandom random);

  /** The distribution's mean in seconds (what a clairvoyant oracle would plan with). */
  double mean();

  /** The spelling {@link #parse} reads. */
  String describe();

  /** Every job takes the same time. */
  record Fixed(double seconds) implements JobTimes {
    public Fixed {
      if (!(seconds > 0)) throw CliException.usage("job time must be positive, was " + seconds);
    }

    @Override
    public double next(SplittableRandom random) {
      return seconds;
    }

    @Override
    public double mean() {
      return seconds;
    }

    @Override
    public String describe() {
      return fmt("fixed:%s", seconds);
    }
  }

  /** ln(duration) is normal with mean ln(median) and standard deviation {@code sigma}. */
  record LogNormal(double median, double sigma) implements JobTimes {
    public LogNormal {
      if (!(median > 0)) throw CliException.usage("lognormal median must be positive, was " + median);
      if (!(sigma >= 0) || sigma > 3) throw CliException.usage("lognormal sigma must be within 0..3, was " + sigma);
    }

    @Override
    public double next(SplittableRandom random) {
      return Math.max(0.05, median * Math.exp(sigma * gaussian(random)));
    }

    @Override
    public double mean() {
      return median * Math.exp(sigma * sigma / 2);
    }

    @Override
    public String describe() {
      return fmt("lognormal:%s,%s", median, sigma);
    }
  }

  /** Memoryless job times with the given mean. */
  record Exponential(double meanSeconds) implements JobTimes {
    public Exponential {
      if (!(meanSeconds > 0)) throw CliException.usage("exponential mean must be positive, was " + meanSeconds);
    }

    @Override
    public double next(SplittableRandom random) {
      return Math.max(0.05, -meanSeconds * Math.log(1 - random.nextDouble()));
    }

    @Override
    public double mean() {
      return meanSeconds;
    }

    @Override
    public String describe() {
      return fmt("exponential:%s", meanSeconds);
    }
  }

  /** Durations replayed from a file, in order, cycling when the trace has more jobs. */
  record Replayed(String source, double[] seconds, int[] cursor) implements JobTimes {
    @Override
    public double next(SplittableRandom random) {
      double s = seconds[cursor[0] % seconds.length];
      cursor[0]++;
      return s;
    }

    @Override
    public double mean() {
      double sum = 0;
      for (double s : seconds) sum += s;
      return sum / seconds.length;
    }

    @Override
    public String describe() {
      return "file:" + source;
    }
  }

  /** Reads {@code fixed:S}, {@code lognormal:MEDIAN,SIGMA}, {@code exponential:MEAN} or {@code file:PATH}. */
  static JobTimes parse(String text) {
    String t = text.strip();
    int colon = t.indexOf(':');
    if (colon < 0) {
      throw CliException.usage("job time '" + text + "': expected fixed:S, lognormal:MEDIAN,SIGMA, exponential:MEAN or file:PATH");
    }
    String kind = t.substring(0, colon).toLowerCase(Locale.ROOT);
    String arg = t.substring(colon + 1);
    try {
      return switch (kind) {
        case "fixed" -> new Fixed(Double.parseDouble(arg));
        case "exponential" -> new Exponential(Double.parseDouble(arg));
        case "lognormal" -> {
          String[] p = arg.split(",");
          if (p.length != 2) throw CliException.usage("job time '" + text + "': lognormal needs MEDIAN,SIGMA");
          yield new LogNormal(Double.parseDouble(p[0].strip()), Double.parseDouble(p[1].strip()));
        }
        case "file" -> fromFile(Path.of(arg));
        default -> throw CliException.usage("job time '" + text + "': unknown kind '" + kind
            + "', expected fixed, lognormal, exponential or file");
      };
    } catch (NumberFormatException e) {
      throw CliException.usage("job time '" + text + "': not a number");
    }
  }

  private static JobTimes fromFile(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (NoSuchFileException e) {
      throw CliException.usage("job-time file not found: " + file);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + file, e);
    }
    List<Double> values = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) continue;
      double v;
      try {
        v = Double.parseDouble(line);
      } catch (NumberFormatException e) {
        throw CliException.usage(file + " line " + (i + 1) + ": expected a duration in seconds, got '" + line + "'");
      }
      if (!(v > 0)) throw CliException.usage(file + " line " + (i + 1) + ": a duration must be positive, got '" + line + "'");
      values.add(v);
    }
    if (values.isEmpty()) throw CliException.usage("job-time file " + file + " has no durations");
    return new Replayed(file.getFileName().toString(), values.stream().mapToDouble(Double::doubleValue).toArray(), new int[1]);
  }

  /** A standard normal deviate (Box–Muller), from the seeded generator only. */
  static double gaussian(SplittableRandom random) {
    double u1 = 1 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  private static String fmt(String f, Object... a) {
    return String.format(Locale.ROOT, f, a).replace(".0,", ",").replaceAll("\\.0$", "");
  }
}
