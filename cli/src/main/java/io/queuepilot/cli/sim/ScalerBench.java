package io.queuepilot.cli.sim;

import io.queuepilot.scaling.ScalerSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code queuepilot scaler bench} ({@code bench/run.sh scaling}): the seeded traces of issue 15
 * through QueuePilot, KEDA + HPA defaults and the oracle in one world — lognormal job times
 * (median 8 s, σ 0.6), 4 jobs per replica, 20 s pod start-up, 2,000 tokens per job, a shared
 * budget of 1,000,000 tokens and 10,000 requests per minute, a 60 s queue-wait SLO — each
 * twice: with the workers' reservations (production: waits, replica-minutes) and with the
 * scaler's cap alone (minutes over budget). Writes a markdown report.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Runs the issue-15 scaling benchmark traces and writes a markdown report.")
final class ScalerBench implements Callable<Integer> {

  static final int CONCURRENCY = 4;
  static final double STARTUP_SECONDS = 20;
  static final long TOKENS_PER_JOB = 2_000;
  /** What every job is enqueued with as tokens_estimated by default: exactly what it uses. */
  static final long TOKENS_ESTIMATED = 2_000;
  static final long TOKENS_PER_MINUTE = 1_000_000;
  static final long REQUESTS_PER_MINUTE = 10_000;
  static final double SLO_SECONDS = 60;
  static final int MAX_REPLICAS = 50;

  @Spec CommandSpec spec;

  @Option(names = "--out", defaultValue = "bench/results/scaling.md", paramLabel = "FILE",
      description = "markdown report (default: ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--seed", defaultValue = "1", paramLabel = "N", description = "seed of every draw (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--tokens-estimated", defaultValue = "2000", paramLabel = "TOKENS",
      description = "tokens_estimated every job is enqueued with (queue_stats reports the ready jobs' estimates);"
          + " 0: none (default: ${DEFAULT-VALUE}, the tokens a job uses)")
  long tokensEstimated;

  @Option(names = "--traces", split = ",", paramLabel = "NAME",
      description = "traces to run (default: all of burst-2000, daily-ramp, noisy-5, spikes-300, budget-bound)")
  List<String> traces = new ArrayList<>(BenchTraces.NAMES);

  /** The QueueScaler the benchmark runs: min 0, max 50, 4 per replica, 60 s target, 20 s start-up, budget row openai. */
  static ScalerSpec benchSpec() {
    ScalerSpec.Budget budget = new ScalerSpec.Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
        1.0, 8.0).named("openai");
    return ScalerSpec.of(0, MAX_REPLICAS, CONCURRENCY).withBudget(budget)
        .withSizing(Duration.ofSeconds((long) SLO_SECONDS), Duration.ofSeconds((long) STARTUP_SECONDS));
  }

  @Override
  public Integer call() {
    ScalerSpec s = benchSpec();
    JobTimes times = JobTimes.parse("lognormal:8,0.6");
    StringBuilder md = new StringBuilder();
    md.append("# bench/run.sh scaling\n\n");
    md.append(String.format(Locale.ROOT, "Generated %s by `queuepilot scaler bench --seed %d`. World: job times %s,"
        + " %d jobs per replica, %.0f s pod start-up, %d tokens per job (%s), shared budget %d tokens and %d requests per"
        + " 60 s, SLO: queue wait ≤ %.0f s; QueuePilot spec: minReplicas 0, maxReplicas %d, targetQueueWaitSeconds %.0f,"
        + " podStartupSeconds %.0f, tokenBudget {name: openai, expectedJobSeconds: 8}, other fields default."
        + " \"production\" = the workers reserve before each call (sql/V020 rule); \"cap alone\" = the workers do not"
        + " check the budget, only the scaler's replica cap holds it.%n%n",
        Instant.now(), seed, times.describe(), CONCURRENCY, STARTUP_SECONDS, TOKENS_PER_JOB,
        tokensEstimated > 0 ? "enqueued with tokens_estimated " + tokensEstimated : "enqueued without an estimate",
        TOKENS_PER_MINUTE,
        REQUESTS_PER_MINUTE, SLO_SECONDS, MAX_REPLICAS, SLO_SECONDS, STARTUP_SECONDS));
    md.append("| trace | jobs | model | replica-min | vs oracle | vs work bound | wait p50 s | wait p95 s | wait max s | SLO violations |"
        + " reversals / 300 s (total) | min over budget, cap alone | min over budget, production | first scale call s |\n");
    md.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    PrintWriter o = spec.commandLine().getOut();
    for (String name : traces) {
      LoadTrace trace = BenchTraces.generate(name, seed);
      Workload w = Workload.of(trace, JobTimes.parse(times.describe()), TOKENS_PER_JOB,
          tokensEstimated > 0 ? Long.valueOf(tokensEstimated) : null, seed);
      Comparison.Outcome prod = ScalerCommand.compare(s, 15, w, CONCURRENCY, STARTUP_SECONDS, 0.1, TOKENS_PER_MINUTE,
          REQUESTS_PER_MINUTE, true, 0, 1800, SLO_SECONDS);
      Comparison.Outcome alone = ScalerCommand.compare(s, 15, w, CONCURRENCY, STARTUP_SECONDS, 0.1, TOKENS_PER_MINUTE,
          REQUESTS_PER_MINUTE, false, 0, 1800, SLO_SECONDS);
      for (int i = 0; i < prod.rows().size(); i++) {
        Comparison.Row p = prod.rows().get(i);
        Comparison.Row a = alone.rows().get(i);
        boolean bound = p.model().equals("work-lower-bound");
        boolean oracle = bound || p.model().equals("oracle-schedule");
        md.append(String.format(Locale.ROOT, "| %s | %d | %s | %.1f | %.2f× | %.2f× | %s | %s | %s | %s | %s | %s | %s | %s |%n",
            name, w.jobs().size(), p.model(), p.replicaMinutes(), p.ratioToOracle(), p.ratioToBound(),
            bound ? "0" : f(p.waitP50()), bound ? "0" : f(p.waitP95()), bound ? "0" : f(p.waitMax()),
            bound ? "0" : Long.toString(p.sloViolations()),
            p.maxReversalsPerWindow() == null ? "—" : p.maxReversalsPerWindow() + " (" + p.reversals() + ")",
            oracle ? "—" : f(a.minutesOverTokenBudget() + a.minutesOverRequestBudget()),
            oracle ? "—" : f(p.minutesOverTokenBudget() + p.minutesOverRequestBudget()),
            p.firstScaleCallSeconds() == null ? "—" : f(p.firstScaleCallSeconds())));
      }
      o.println("scaling bench: " + name + " done (" + w.jobs().size() + " jobs)");
      o.flush();
    }
    md.append("\nThe oracle schedule is clairvoyant (it knows every arrival and duration): FIFO starts, pods requested"
        + " a start-up ahead and billed from then, removed when idle longer than a start-up, at most " + MAX_REPLICAS
        + " pods, the workers' reservation rule, each job placed where it adds the fewest replica-seconds within the"
        + " SLO (cli/.../sim/Oracle.java). The work lower bound is Σ job seconds / 4 (every replica fully busy, no"
        + " start-up, no idle slot, every job started on arrival): no schedule bills less.\n");
    try {
      Path parent = out.toAbsolutePath().getParent();
      if (parent != null) Files.createDirectories(parent);
      Files.writeString(out, md.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + out, e);
    }
    o.println("wrote " + out);
    return 0;
  }

  private static String f(Double v) {
    return v == null ? "—" : String.format(Locale.ROOT, "%.1f", v);
  }
}
