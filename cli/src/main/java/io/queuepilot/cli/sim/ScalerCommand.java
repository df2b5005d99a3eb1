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
    subcommands = ScalerCommand.Simulate.class)
public final class ScalerCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "simulate", mixinStandardHelpOptions = true,
      description = {
        "Replays a load trace through the controller's real scaling policy with the given QueueScaler spec",
        "and a simple service model, and writes the timeline as CSV and as an SVG chart (queue depth,",
        "replicas with the maxReplicas and token-budget ceilings, tokens/min against the budget)."
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
    }

    @Option(names = "--duration", defaultValue = "300", paramLabel = "SECONDS",
        description = "length of a --shape trace (default: ${DEFAULT-VALUE})")
    int duration;

    @Option(names = "--peak", defaultValue = "5", paramLabel = "JOBS_PER_S",
        description = "highest arrival rate of a --shape trace (default: ${DEFAULT-VALUE})")
    double peak;

    @Option(names = "--job-seconds", paramLabel = "SECONDS",
        description = "time one job takes (default: spec.tokenBudget.expectedJobSeconds, else 20)")
    Integer jobSeconds;

    @Option(names = "--tokens-per-job", paramLabel = "TOKENS",
        description = "tokens one job uses (default: spec.tokenBudget.tokensPerJob, else 1500)")
    Integer tokensPerJob;

    @Option(names = "--concurrency", paramLabel = "N", description = "jobs per replica at once (default: spec.concurrencyPerReplica)")
    Integer concurrency;

    @Option(names = "--startup-seconds", defaultValue = "10", paramLabel = "SECONDS",
        description = "time from scale-up until a new replica takes jobs (default: ${DEFAULT-VALUE})")
    int startupSeconds;

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
      int pollSeconds = (int) SpecMapping.pollInterval(crd).toSeconds();
      if (drainSeconds < 0) {
        throw CliException.usage("--drain-seconds must not be negative, was " + drainSeconds);
      }
      LoadTrace trace = load.trace != null ? LoadTrace.fromCsv(load.trace) : LoadTrace.shape(load.shape, duration, peak);

      ScalerSpec.Budget budget = policySpec.budget();
      int seconds = jobSeconds != null ? jobSeconds
          : crd.tokenBudget != null && crd.tokenBudget.expectedJobSeconds != null
              ? (int) Math.round(crd.tokenBudget.expectedJobSeconds) : 20;
      int tokens = tokensPerJob != null ? tokensPerJob
          : budget.tokensPerJob().isPresent() ? (int) budget.tokensPerJob().getAsLong() : 1500;
      ServiceModel model =
          new ServiceModel(
              concurrency != null ? concurrency : policySpec.concurrency(),
              seconds,
              tokens,
              startupSeconds,
              budget.tokensPerMinute().isPresent() ? budget.tokensPerMinute().getAsLong() : null);
      int initial = initialReplicas != null ? initialReplicas : policySpec.minReplicas();
      if (initial < 0) {
        throw CliException.usage("--initial-replicas must not be negative, was " + initial);
      }

      Simulator sim = new Simulator(model, new PolicyDecider(policySpec), pollSeconds,
          policySpec.minReplicas(), policySpec.maxReplicas(), Instant.parse("2025-01-01T00:00:00Z"));
      Timeline timeline = sim.run(trace, initial, drainSeconds);

      Path csv = Path.of(out + ".csv");
      Path svg = Path.of(out + ".svg");
      write(csv, w -> TimelineCsv.write(timeline, w));
      String title = String.format(Locale.ROOT, "scaler simulate: %s trace, %d jobs, spec %s (min %d, max %d, concurrency %d)",
          trace.name(), trace.total(), specFile.getFileName(), policySpec.minReplicas(), policySpec.maxReplicas(),
          model.concurrency());
      write(svg, w -> TimelineSvg.write(timeline, title, w));

      PrintWriter o = spec.commandLine().getOut();
      Map<String, Object> summary = summary(trace, timeline, csv, svg);
      if (json) {
        Map<String, Object> all = new LinkedHashMap<>(summary);
        all.put("decisions", timeline.decisions());
        Output.json(o, all);
        return 0;
      }
      o.println("Scaling decisions (" + timeline.decisions().size() + "):");
      Output.table(o, List.of("T(s)", "REPLICAS", "LIMITED BY", "WHY"),
          timeline.decisions().stream()
              .map(d -> List.of(Integer.toString(d.t()), d.from() + " -> " + d.to(), d.limitedBy(), d.reason()))
              .toList());
      o.println();
      Output.table(o, List.of("RESULT", "VALUE"),
          summary.entrySet().stream().map(e -> List.of(e.getKey(), String.valueOf(e.getValue()))).toList());
      return 0;
    }

    private static Map<String, Object> summary(LoadTrace trace, Timeline tl, Path csv, Path svg) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("trace", trace.name());
      m.put("jobs", trace.total());
      m.put("completed", tl.last().completed());
      m.put("simulatedSeconds", tl.last().t());
      m.put("peakQueueDepth", tl.peakQueueDepth());
      m.put("peakReplicas", tl.peakReplicas());
      m.put("tokenBudgetReplicas", tl.tokenBudgetReplicas() == null ? "none" : tl.tokenBudgetReplicas());
      int drained = -1;
      for (Timeline.Tick k : tl.ticks()) {
        if (k.t() >= trace.seconds() - 1 && k.queueDepth() == 0 && k.processing() == 0) {
          drained = k.t();
          break;
        }
      }
      m.put("queueDrainedAtSecond", drained < 0 ? "not within the simulation" : drained);
      m.put("finalReplicas", tl.last().replicas());
      m.put("csv", csv.toString());
      m.put("svg", svg.toString());
      return m;
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
