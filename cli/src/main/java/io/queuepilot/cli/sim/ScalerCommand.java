package io.queuepilot.cli.sim;

import io.queuepilot.cli.CliException;
import io.queuepilot.cli.Output;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.scaling.ScalerSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code queuepilot scaler simulate}: what-if scaling of a QueueScaler spec against a load trace. */
@Command(name = "scaler", mixinStandardHelpOptions = true, description = "Tune QueueScaler specs offline.",
    subcommands = {ScalerCommand.Simulate.class, ScalerBench.class})
public final class ScalerCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /**
   * One workload through QueuePilot's real scaler (with {@code spec}), the KEDA + HPA defaults
   * model and the oracle, in one simulated world: what {@code simulate} prints and {@code bench}
   * tabulates.
   */
  static Comparison.Outcome compare(ScalerSpec spec, double pollSeconds, Workload workload, int slots,
      double startupSeconds, double cycleSeconds, Long tokenLimit, Long requestLimit, boolean workersEnforce,
      int initial, int drainSeconds, double slo) {
    double reversalWindow = Math.max(1, spec.scaleDown().stabilizationWindow().toSeconds());
    World world = new World(new World.Config(slots, startupSeconds, cycleSeconds, tokenLimit, requestLimit, 60,
        workersEnforce, spec.minReplicas(), spec.maxReplicas(), drainSeconds, reversalWindow));
    Instant epoch = Instant.parse("2025-01-01T00:00:00Z");
    return Comparison.run(world, workload,
        new QueuePilotModel(new PolicyDecider(spec), pollSeconds, epoch, spec.budget().name()),
        new KedaHpaModel(slots, spec.maxReplicas()), slots, initial, slo);
  }

  @Command(name = "simulate", mixinStandardHelpOptions = true,
      description = {
        "Replays a load trace through the controller's real scaler with the given QueueScaler spec, through a",
        "model of KEDA's postgresql scaler + HPA with their documented defaults, and against the oracle lower bound,",
        "all in the same simulated fleet (job-time distribution, pod start-up, draining pods billed until done,",
        "the workers' shared-budget reservations, NOTIFY-driven reconciles). Prints per-job wait p50/p95/max, SLO",
        "violations, replica-minutes and minutes over the token / request budget side by side, and writes",
        "QueuePilot's timeline as CSV and SVG."
      })
  static final class Simulate implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--spec", required = true, paramLabel = "FILE",
        description = "QueueScaler YAML (a whole resource or just its spec)")
    Path specFile;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Load load;

    static final class Load {
      @Option(names = "--trace", paramLabel = "FILE.csv", description = "arrivals as 'second,count' lines")
      Path trace;

      @Option(names = "--shape", paramLabel = "SHAPE", description = "a named load shape: burst, ramp or diurnal")
      String shape;

      @Option(names = "--bench-trace", paramLabel = "NAME",
          description = "a seeded benchmark trace: burst-2000, daily-ramp, noisy-5, spikes-300, budget-bound")
      String benchTrace;
    }

    @Option(names = "--duration", defaultValue = "300", paramLabel = "SECONDS",
        description = "length of a --shape trace (default: ${DEFAULT-VALUE})")
    int duration;

    @Option(names = "--peak", defaultValue = "5", paramLabel = "JOBS_PER_S",
        description = "highest arrival rate of a --shape trace (default: ${DEFAULT-VALUE})")
    double peak;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "N",
        description = "seed of every random draw: arrivals within a second, job times, bench traces (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--job-time", paramLabel = "DIST",
        description = "job-time distribution: fixed:S, lognormal:MEDIAN,SIGMA, exponential:MEAN or file:PATH "
            + "(one duration per line) (default: lognormal:8,0.6)")
    String jobTime;

    @Option(names = "--job-seconds", paramLabel = "SECONDS", description = "shorthand for --job-time fixed:SECONDS")
    Double jobSeconds;

    @Option(names = "--tokens-per-job", paramLabel = "TOKENS",
        description = "tokens one job uses (default: spec.tokenBudget.tokensPerJob, else 2000)")
    Integer tokensPerJob;

    @Option(names = "--tokens-estimated", paramLabel = "TOKENS",
        description = "tokens_estimated every job is enqueued with, which queue_stats reports for the ready jobs"
            + " (default: none, as a job enqueued without p_tokens_estimated)")
    Long tokensEstimated;

    @Option(names = "--concurrency", paramLabel = "N", description = "jobs per replica at once (default: spec.concurrencyPerReplica)")
    Integer concurrency;

    @Option(names = "--startup-seconds", paramLabel = "SECONDS",
        description = "time from scale-up until a new replica takes jobs in the simulated world (default: "
            + "spec.podStartupSeconds)")
    Double startupOption;

    @Option(names = "--cycle-seconds", defaultValue = "0.1", paramLabel = "SECONDS",
        description = "time from a reconcile's start to its scale call (observe + API call) (default: ${DEFAULT-VALUE})")
    double cycleSeconds;

    @Option(names = "--budget-tokens-per-minute", paramLabel = "TOKENS",
        description = "the shared budget row's tokens per window (default: spec.tokenBudget.tokensPerMinute, else none)")
    Long budgetTokens;

    @Option(names = "--budget-requests-per-minute", paramLabel = "REQUESTS",
        description = "the shared budget row's requests per window (default: spec.tokenBudget.requestsPerMinute, else none)")
    Long budgetRequests;

    @Option(names = "--worker-budget", defaultValue = "enforce", paramLabel = "enforce|off",
        description = "enforce: workers reserve before each call and wait when the budget is full (production); "
            + "off: only the scaler's cap holds the budget (measures the cap alone) (default: ${DEFAULT-VALUE})")
    String workerBudget;

    @Option(names = "--slo-seconds", paramLabel = "SECONDS",
        description = "queue-wait SLO the violations are counted against (default: spec.targetQueueWaitSeconds)")
    Double sloSeconds;

    @Option(names = "--initial-replicas", paramLabel = "N", description = "replicas at t=0 (default: spec.minReplicas)")
    Integer initialReplicas;

    @Option(names = "--drain-seconds", defaultValue = "900", paramLabel = "SECONDS",
        description = "after the trace, simulate at most this long for the queue to drain and replicas to return "
            + "to minReplicas (default: ${DEFAULT-VALUE})")
    int drainSeconds;

    @Option(names = "--out", defaultValue = "scaler-simulation", paramLabel = "PREFIX",
        description = "writes PREFIX.csv and PREFIX.svg (default: ${DEFAULT-VALUE})")
    String out;

    @Option(names = "--json", description = "print the summary and decisions as JSON")
    boolean json;

    @Override
    public Integer call() {
      QueueScalerSpec crd = ScalerSpecFile.read(specFile);
      ScalerSpec policySpec;
      try {
        policySpec = SpecMapping.toPolicySpec(crd);
      } catch (IllegalArgumentException e) {
        throw CliException.usage(specFile + ": " + e.getMessage());
      }
      double pollSeconds = SpecMapping.pollInterval(crd).toMillis() / 1000.0;
      if (drainSeconds < 0) {
        throw CliException.usage("--drain-seconds must not be negative, was " + drainSeconds);
      }
      double startupSeconds = startupOption != null ? startupOption : policySpec.podStartup().toMillis() / 1000.0;
      if (startupSeconds < 0) {
        throw CliException.usage("--startup-seconds must not be negative, was " + startupSeconds);
      }
      if (cycleSeconds < 0) {
        throw CliException.usage("--cycle-seconds must not be negative, was " + cycleSeconds);
      }
      boolean enforce = switch (workerBudget) {
        case "enforce" -> true;
        case "off" -> false;
        default -> throw CliException.usage("--worker-budget must be enforce or off, was '" + workerBudget + "'");
      };
      if (jobTime != null && jobSeconds != null) {
        throw CliException.usage("--job-time and --job-seconds are mutually exclusive");
      }
      JobTimes times = JobTimes.parse(jobSeconds != null ? "fixed:" + jobSeconds : jobTime != null ? jobTime : "lognormal:8,0.6");
      LoadTrace trace = load.trace != null ? LoadTrace.fromCsv(load.trace)
          : load.benchTrace != null ? BenchTraces.generate(load.benchTrace, seed)
          : LoadTrace.shape(load.shape, duration, peak);

      ScalerSpec.Budget budget = policySpec.budget();
      long tokens = tokensPerJob != null ? tokensPerJob
          : budget.tokensPerJob().isPresent() ? budget.tokensPerJob().getAsLong() : 2000;
      if (tokens < 0) {
        throw CliException.usage("--tokens-per-job must not be negative, was " + tokens);
      }
      int slots = concurrency != null ? concurrency : policySpec.concurrency();
      if (slots < 1) {
        throw CliException.usage("--concurrency must be at least 1, was " + slots);
      }
      Long tokenLimit = budgetTokens != null ? budgetTokens
          : budget.tokensPerMinute().isPresent() ? Long.valueOf(budget.tokensPerMinute().getAsLong()) : null;
      Long requestLimit = budgetRequests != null ? budgetRequests
          : budget.requestsPerMinute().isPresent() ? Long.valueOf(budget.requestsPerMinute().getAsLong()) : null;
      int initial = initialReplicas != null ? initialReplicas : policySpec.minReplicas();
      if (initial < 0) {
        throw CliException.usage("--initial-replicas must not be negative, was " + initial);
      }
      double slo = sloSeconds != null ? sloSeconds : policySpec.targetQueueWait().toMillis() / 1000.0;
      double reversalWindow = Math.max(1, policySpec.scaleDown().stabilizationWindow().toSeconds());

      if (tokensEstimated != null && tokensEstimated < 1) {
        throw CliException.usage("--tokens-estimated must be at least 1, was " + tokensEstimated);
      }
      Workload workload = Workload.of(trace, times, tokens, tokensEstimated, seed);
      Comparison.Outcome outcome = compare(policySpec, pollSeconds, workload, slots, startupSeconds, cycleSeconds,
          tokenLimit, requestLimit, enforce, initial, drainSeconds, slo);
      Timeline timeline = outcome.queuePilot().timeline();

      Path csv = Path.of(out + ".csv");
      Path svg = Path.of(out + ".svg");
      write(csv, w -> TimelineCsv.write(timeline, w));
      String title = String.format(Locale.ROOT, "scaler simulate: %s trace, %d jobs, spec %s (min %d, max %d, concurrency %d)",
          trace.name(), trace.total(), specFile.getFileName(), policySpec.minReplicas(), policySpec.maxReplicas(), slots);
      write(svg, w -> TimelineSvg.write(timeline, title, w));

      PrintWriter o = spec.commandLine().getOut();
      Map<String, Object> summary = new LinkedHashMap<>();
      summary.put("trace", trace.name());
      summary.put("seed", seed);
      summary.put("jobs", workload.jobs().size());
      summary.put("jobTime", times.describe());
      summary.put("meanJobSeconds", Comparison.round(workload.workSeconds() / Math.max(1, workload.jobs().size())));
      summary.put("tokensPerJob", tokens);
      summary.put("startupSeconds", startupSeconds);
      summary.put("workerBudget", workerBudget);
      summary.put("tokensPerMinuteBudget", tokenLimit == null ? "none" : tokenLimit);
      summary.put("requestsPerMinuteBudget", requestLimit == null ? "none" : requestLimit);
      summary.put("sloSeconds", slo);
      summary.put("reversalWindowSeconds", reversalWindow);
      summary.put("completed", outcome.queuePilot().completed());
      summary.put("simulatedSeconds", (int) Math.ceil(outcome.queuePilot().simulatedSeconds()));
      summary.put("peakQueueDepth", timeline.peakQueueDepth());
      summary.put("peakReplicas", timeline.peakReplicas());
      summary.put("csv", csv.toString());
      summary.put("svg", svg.toString());
      if (json) {
        Map<String, Object> all = new LinkedHashMap<>(summary);
        all.put("models", outcome.rows().stream().map(Comparison.Row::asMap).toList());
        all.put("decisions", timeline.decisions());
        Output.json(o, all);
        return 0;
      }
      o.println("QueuePilot scaling decisions (" + timeline.decisions().size() + "):");
      Output.table(o, List.of("T(s)", "REPLICAS", "LIMITED BY", "WHY"),
          timeline.decisions().stream()
              .map(d -> List.of(Integer.toString(d.t()), d.from() + " -> " + d.to(), d.limitedBy(), d.reason()))
              .toList());
      o.println();
      Output.table(o, Comparison.HEADER, Comparison.table(outcome.rows()));
      o.println();
      Output.table(o, List.of("RESULT", "VALUE"),
          summary.entrySet().stream().map(e -> List.of(e.getKey(), String.valueOf(e.getValue()))).toList());
      return 0;
    }

    private interface WriteBody {
      void write(Writer w) throws IOException;
    }

    private static void write(Path file, WriteBody body) {
      try {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
          body.write(w);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("could not write " + file, e);
      }
    }
  }
}
