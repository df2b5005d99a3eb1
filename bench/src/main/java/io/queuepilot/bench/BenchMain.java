package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Entry point of bench/run.sh: starts one real PostgreSQL server, gives every system a fresh
 * database, runs the named section with the same job count, worker sizes and no-op handlers
 * for all systems, and writes bench/results/&lt;section&gt;.md. Its options are its configuration.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "QueuePilot vs Graphile Worker vs pg-boss on one PostgreSQL server.")
public final class BenchMain implements Callable<Integer> {

  /** The sections this build can run. */
  enum Section { throughput, latency, bigtable, uploads, controller, heartbeat, extraction }

  @Parameters(index = "0", description = "section: ${COMPLETION-CANDIDATES}")
  Section section;

  @Option(names = "--jobs", defaultValue = "200000", description = "no-op jobs per burn-down (default ${DEFAULT-VALUE})")
  int jobs;

  @Option(names = "--processes", defaultValue = "4", description = "worker processes per system (Graphile perfTest: 4)")
  int processes;

  @Option(names = "--concurrency", defaultValue = "24", description = "concurrent jobs per process (Graphile perfTest: 24)")
  int concurrency;

  @Option(names = "--pool", defaultValue = "25", description = "connections per worker process (Graphile perfTest: concurrency + 1)")
  int pool;

  @Option(names = "--warmup-jobs", defaultValue = "0",
      description = "throughput: every system's own processes first burn this many extra jobs of the same burn-down"
          + " (inserted with the measured ones); the figures are the last --jobs, warm, with the first --jobs of the"
          + " same run beside them as the cold figure (default ${DEFAULT-VALUE}: cold only, as before)")
  int warmupJobs;

  @Option(names = "--diagnose",
      description = "QueuePilot worker processes also report where their pipeline waits: local queue empty share, batch and statement figures (stderr log)")
  boolean diagnose;

  @Option(names = "--batch-size", defaultValue = "20", description = "pg-boss batchSize when batching")
  int batchSize;

  @Option(names = "--local-queue", defaultValue = "500", description = "local queue per process when batching (Graphile localQueue.size, its documented 500; QueuePilot the same)")
  int localQueue;

  @Option(names = "--samples", defaultValue = "1000", description = "latency samples (after 100 warm-up ones)")
  int samples;

  @Option(names = "--big-completed", defaultValue = "1000000", description = "completed rows present in the big-table run")
  int bigCompleted;

  @Option(names = "--big-scheduled", defaultValue = "100000", description = "future-scheduled rows present in the big-table run")
  int bigScheduled;

  @Option(names = "--big-dead", defaultValue = "10000", description = "dead-lettered rows present in the big-table run")
  int bigDead;

  @Option(names = "--upload-clients", defaultValue = "1000", description = "concurrent register_shell_file clients")
  int uploadClients;

  @Option(names = "--upload-warmup", defaultValue = "32", description = "sequential registrations before the burst (warm API side)")
  int uploadWarmup;

  @Option(names = "--upload-pool", defaultValue = "32", description = "connections the API side has for them")
  int uploadPool;

  @Option(names = "--upload-workers", defaultValue = "2", description = "worker processes draining the uploads")
  int uploadWorkers;

  @Option(names = "--upload-worker-concurrency", defaultValue = "32", description = "QUEUEPILOT_CONCURRENCY of each")
  int uploadWorkerConcurrency;

  @Option(names = "--openai-latency-ms", defaultValue = "2000", description = "how long the fake OpenAI takes per request")
  long openAiLatencyMs;

  @Option(names = "--tokens-per-minute", defaultValue = "1500000", description = "the shared OpenAI token budget")
  long tokensPerMinute;

  @Option(names = "--drain-timeout-minutes", defaultValue = "15", description = "give up waiting for the drain after this")
  int drainTimeoutMinutes;

  @Option(names = "--controller-jar", defaultValue = "controller/target/queuepilot-controller.jar", description = "the controller under test")
  Path controllerJar;

  @Option(names = "--bursts", defaultValue = "20", description = "controller bursts")
  int bursts;

  @Option(names = "--burst-jobs", defaultValue = "1000", description = "enqueues per burst")
  int burstJobs;

  @Option(names = "--burst-gap-ms", defaultValue = "5000", description = "pause after each burst (Render allows 30 scale writes a minute)")
  long burstGapMs;

  @Option(names = "--controller-max-replicas", defaultValue = "100", description = "maxReplicas of the scaler (Render's ceiling)")
  int controllerMaxReplicas;

  @Option(names = "--controller-modes", split = ",", defaultValue = "kubernetes,render",
      description = "controller variants: kubernetes (real kube-apiserver, Deployment + QueueScaler status), render (fake Render API)")
  List<String> controllerModes;

  @Option(names = "--k8s-drain-timeout-seconds", defaultValue = "60", description = "kubernetes mode: wait this long for the scale-down to 0 between bursts")
  int k8sDrainTimeoutSeconds;

  @Option(names = "--modes", split = ",", defaultValue = "single,batched", description = "claim modes to run: single, batched")
  List<String> modes;

  @Option(names = "--systems", split = ",", defaultValue = "queuepilot,graphile,pgboss",
      description = "systems to run (queuepilot: the product Worker, started by the worker's composition root;"
          + " queuepilot_baseline: the same from --baseline-jar, for before/after in one run)")
  List<String> systems;

  @Option(names = "--baseline-jar",
      description = "a queuepilot-bench.jar built from an earlier revision: system queuepilot_baseline runs its worker"
          + " (same database, migrations of this revision) next to this revision's, interleaved")
  Path baselineJar;

  @Option(names = "--baseline-label", defaultValue = "baseline",
      description = "how the report names the --baseline-jar revision (e.g. main@d313688)")
  String baselineLabel;

  @Option(names = "--worker-jvm-options", split = " ", paramLabel = "OPTION",
      description = "options for system queuepilot's worker JVMs, space-separated in one argument"
          + " (e.g. \"-XX:TieredStopAtLevel=1\"); the report names them")
  List<String> workerJvmOptions = new ArrayList<>();

  @Option(names = "--baseline-jvm-options", split = " ", paramLabel = "OPTION",
      description = "the same for system queuepilot_baseline: with --baseline-jar naming this revision's own jar,"
          + " a JVM setting A/B in one run")
  List<String> baselineJvmOptions = new ArrayList<>();

  @Option(names = "--repeat", defaultValue = "3",
      description = "runs of every figure, interleaved across systems and modes (default ${DEFAULT-VALUE})")
  int repeat;

  @Option(names = "--held-jobs", defaultValue = "1000", description = "heartbeat section: jobs held in flight")
  int heldJobs;

  @Option(names = "--heartbeat-seconds", defaultValue = "5", description = "heartbeat section: the interval (the worker's default)")
  double heartbeatSeconds;

  @Option(names = "--idle-window-seconds", defaultValue = "30", description = "heartbeat section: PostgreSQL CPU measured over this window")
  int idleWindowSeconds;

  @Option(names = "--passes", defaultValue = "10", description = "extraction section: passes over the corpus in each JVM (default ${DEFAULT-VALUE})")
  int passes;

  @Option(names = "--extraction-settings", defaultValue = "jvm=;pipeline=-Dqueuepilot.jitPolicy=pipeline;c1-only=-XX:TieredStopAtLevel=1",
      description = "extraction section: label=JVM options, ';'-separated; -Dqueuepilot.jitPolicy sets QUEUEPILOT_JIT_POLICY's"
          + " policy (default ${DEFAULT-VALUE})")
  String extractionSettings;

  @Option(names = "--peers-dir", defaultValue = "bench/peers", description = "where bench/peers (with node_modules) is")
  Path peersDir;

  @Option(names = "--results-dir", defaultValue = "bench/results", description = "where results are written")
  Path resultsDir;

  @Option(names = "--invocation", defaultValue = "", description = "the command line as typed, recorded in the report")
  String invocation;

  @Option(names = "--revision", defaultValue = "unknown", description = "git revision of the code under test, recorded in the report")
  String revision;

  public static void main(String[] args) {
    System.exit(new CommandLine(new BenchMain()).execute(args));
  }

  /** The --modes as batching flags, validated. */
  boolean[] batchingModes() {
    boolean[] flags = new boolean[modes.size()];
    for (int i = 0; i < modes.size(); i++) {
      flags[i] = switch (modes.get(i)) {
        case "single" -> false;
        case "batched" -> true;
        default -> throw new CommandLine.ParameterException(
            new CommandLine(this), "unknown mode '" + modes.get(i) + "' in --modes (single, batched)");
      };
    }
    return flags;
  }

  WorkerSpec spec() {
    return new WorkerSpec(processes, concurrency, pool, false, batchSize, localQueue);
  }

  @Override
  public Integer call() throws Exception {
    Path logDir = resultsDir.resolve("logs");
    java.nio.file.Files.createDirectories(logDir);
    Report report = new Report(resultsDir, section.name());
    if (section == Section.extraction) { // no database: the document pipeline alone
      List<ExtractionBench.Setting> settings;
      try {
        settings = ExtractionBench.parseSettings(extractionSettings);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
      }
      if (passes < 1 || repeat < 1) {
        throw new CommandLine.ParameterException(new CommandLine(this),
            "--passes and --repeat must be at least 1 (got " + passes + " and " + repeat + ")");
      }
      header(report, null);
      ExtractionBench.run(report, logDir, settings, passes, repeat, Duration.ofMinutes(30));
      report.format("%n- load average after the section: %s", Machine.loadAverage());
      System.err.println("results: " + report.file());
      return 0;
    }
    try (BenchServer server = BenchServer.start()) {
      header(report, server);
      switch (section) {
        case throughput -> throughput(report, server, logDir);
        case latency -> latency(report, server, logDir);
        case bigtable -> BigTable.run(report, server, logDir, this);
        case uploads -> Uploads.run(report, server, logDir, this);
        case heartbeat -> Heartbeat.run(report, server, logDir, this);
        case controller -> {
          for (String m : controllerModes) {
            switch (m) {
              case "kubernetes" -> KubernetesControllerReaction.run(report, server, logDir, this);
              case "render" -> ControllerReaction.run(report, server, logDir, this);
              default -> throw new CommandLine.ParameterException(
                  new CommandLine(this), "unknown mode '" + m + "' in --controller-modes (kubernetes, render)");
            }
            report.line("");
          }
        }
      }
      report.format("%n- load average after the section: %s", Machine.loadAverage());
    }
    System.err.println("results: " + report.file());
    return 0;
  }

  private void header(Report report, BenchServer server) {
    report.format("## Run: %s", section);
    report.line("");
    report.format("- command: `%s` at revision %s", invocation.isBlank() ? "bench/run.sh " + section : invocation, revision);
    report.line(Machine.describe().stripTrailing());
    if (server != null) {
      report.format("- PostgreSQL %s (embedded binaries, one server for all systems): %s", server.version(), server.settings());
    }
    report.format("- load average before the section: %s", Machine.loadAverage());
    report.format("- other processes: %s", Machine.command("sh", "-c",
        "ps -eo pcpu,comm --sort=-pcpu | awk 'NR>1 && $1>5 {printf \"%s(%s%%) \", $2, $1}'"));
    report.line("");
  }

  List<QueueSystem> systems(Path logDir) {
    List<QueueSystem> list = new ArrayList<>();
    for (String s : systems) {
      switch (s) {
        case "queuepilot" -> list.add(new QueuePilotSystem(logDir).diagnosing(diagnose).withJvmOptions(workerJvmOptions));
        case "queuepilot_baseline" -> {
          if (baselineJar == null || !java.nio.file.Files.isRegularFile(baselineJar)) {
            throw new CommandLine.ParameterException(new CommandLine(this),
                "system queuepilot_baseline needs --baseline-jar naming an existing jar, got " + baselineJar);
          }
          list.add(QueuePilotSystem.baseline(logDir, baselineJar, baselineLabel).diagnosing(diagnose)
              .withJvmOptions(baselineJvmOptions));
        }
        case "graphile" -> list.add(NodePeer.graphileWorker(peersDir, logDir));
        case "pgboss" -> list.add(NodePeer.pgBoss(peersDir, logDir));
        default -> throw new CommandLine.ParameterException(
            new CommandLine(this), "unknown system '" + s + "' in --systems (queuepilot, queuepilot_baseline, graphile, pgboss)");
      }
    }
    return list;
  }

  static String mode(QueueSystem system, WorkerSpec spec) {
    if (system.name().equals("queuepilot_baseline")) {
      return "baseline jar's product Worker, " + (spec.batching()
          ? "local queue " + spec.localQueueSize() + ", its bench's batched handler" : "default settings, one complete_job per job");
    }
    if (!spec.batching()) {
      return switch (system.name()) {
        case "graphile" -> "no batching (localQueue -1, completeJobBatchDelay -1)";
        case "pgboss" -> "batchSize 1 (burstWhenReadyExceeds 1)";
        default -> "product Worker, default settings: claims up to free capacity, one complete_job per job";
      };
    }
    return switch (system.name()) {
      case "graphile" -> "batching (localQueue " + spec.localQueueSize() + ", completeJobBatchDelay 0)";
      case "pgboss" -> "batchSize " + spec.batchSize() + " (burstWhenBatchFull)";
      default -> "product Worker, local queue " + spec.localQueueSize()
          + " (claim-ahead), completeAsync: completions batched without waiting";
    };
  }

  private void throughput(Report report, BenchServer server, Path logDir) throws Exception {
    WorkerSpec spec = spec();
    report.format("Burn-down of %,d no-op jobs inserted up front; %d worker processes x %d concurrent jobs, %d connections each; "
        + "%d rounds, each round every mode and system once, in this order (interleaved).",
        jobs, spec.processes(), spec.concurrency(), spec.pool(), repeat);
    if (warmupJobs > 0) {
      report.format("Warm-up: %,d + %,d jobs in the table; the same processes burn through all of them without a pause."
          + " Warm = the last %,d (from the moment the processes had handled %,d, as their 100 ms counters report, to the"
          + " database showing none unfinished); cold = the first %,d of the same run (first handler start to the counters"
          + " reaching %,d).", warmupJobs, jobs, jobs, warmupJobs, jobs, jobs);
    }
    report.line("");
    String coldColumns = warmupJobs > 0 ? " cold jobs/s | cold CPU s per 1,000: workers / PostgreSQL |" : "";
    report.line("| round | system | version | mode | jobs | seconds | jobs/s | CPU s per 1,000 jobs: workers / PostgreSQL |"
        + coldColumns + " bulk enqueue jobs/s | load before | load after |");
    report.line("|---:|---|---|---|---:|---:|---:|---|" + (warmupJobs > 0 ? "---:|---|" : "") + "---:|---|---|");
    java.util.Map<String, List<BurnDown.Result>> runs = new java.util.LinkedHashMap<>();
    java.util.Map<String, List<Double>> inserts = new java.util.LinkedHashMap<>();
    for (int round = 1; round <= repeat; round++) {
      for (boolean batching : batchingModes()) {
        for (QueueSystem system : systems(logDir)) {
          WorkerSpec s = spec.withBatching(batching);
          String db = "tp_" + system.name() + (batching ? "_batched" : "_single");
          BenchServer.Db d = server.freshDatabase(db);
          int inserted = warmupJobs + jobs;
          double insertSeconds = system.setup(d, inserted);
          if (!Double.isNaN(insertSeconds)) {
            inserts.computeIfAbsent(system.name(), k -> new ArrayList<>()).add(inserted / insertSeconds);
          }
          d.execute("VACUUM ANALYZE");
          BurnDown.Result r = BurnDown.run(system, mode(system, s), d, s, warmupJobs, jobs, Duration.ofMinutes(20));
          runs.computeIfAbsent(system.name() + "|" + r.mode(), k -> new ArrayList<>()).add(r);
          String cold = r.cold() == null ? "" : " %,.0f | %s |".formatted(r.cold().jobsPerSecond(), r.cold().cpuPerThousand());
          report.format("| %d | %s | %s | %s | %,d | %.2f | %,.0f | %s |%s %,.0f | %s | %s |",
              round, r.system(), system.version(), r.mode(), r.jobs(), r.seconds(), r.jobsPerSecond(), r.cpuPerThousand(),
              cold, inserted / insertSeconds, r.loadBefore(), r.loadAfter());
        }
      }
    }
    report.line("");
    report.line("Summary (median of the rounds, min–max in brackets):");
    report.line("");
    // "of it, JIT": the workers' CPU spent by their JIT compiler threads (HotSpot names them; — where
    // the processes do not, as Node.js): in a burn-down of seconds the compiles are a cost of their own
    report.line(warmupJobs > 0
        ? "| system | mode | warm jobs/s | warm PostgreSQL CPU ms per job | warm workers' CPU ms per job | of it, JIT compiler threads |"
            + " cold jobs/s | cold PostgreSQL CPU ms per job | cold workers' CPU ms per job | of it, JIT compiler threads |"
        : "| system | mode | jobs/s | PostgreSQL CPU ms per job | workers' CPU ms per job | of it, JIT compiler threads |");
    report.line(warmupJobs > 0 ? "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|" : "|---|---|---:|---:|---:|---:|");
    runs.forEach((key, list) -> {
      String row = "| %s | %s | %s | %s | %s | %s |".formatted(list.getFirst().system(), list.getFirst().mode(),
          Spread.of(list.stream().mapToDouble(BurnDown.Result::jobsPerSecond).toArray()).format("%,.0f"),
          Spread.of(list.stream().mapToDouble(r -> r.postgresCpuSeconds() * 1000 / r.jobs()).toArray()).format("%.3f"),
          Spread.of(list.stream().mapToDouble(r -> r.workerCpuSeconds() * 1000 / r.jobs()).toArray()).format("%.3f"),
          perJob(list.stream().mapToDouble(r -> r.workerJitCpuSeconds() * 1000 / r.jobs()).toArray()));
      if (warmupJobs > 0) {
        row += " %s | %s | %s | %s |".formatted(
            Spread.of(list.stream().mapToDouble(r -> r.cold().jobsPerSecond()).toArray()).format("%,.0f"),
            Spread.of(list.stream().mapToDouble(r -> r.cold().postgresCpuSeconds() * 1000 / r.cold().jobs()).toArray()).format("%.3f"),
            Spread.of(list.stream().mapToDouble(r -> r.cold().workerCpuSeconds() * 1000 / r.cold().jobs()).toArray()).format("%.3f"),
            perJob(list.stream().mapToDouble(r -> r.cold().workerJitCpuSeconds() * 1000 / r.cold().jobs()).toArray()));
      }
      report.line(row);
    });
    report.line("");
    report.line("| system | bulk enqueue jobs/s (50,000 per statement; median, min–max) |");
    report.line("|---|---:|");
    inserts.forEach((name, list) -> report.format("| %s | %s |", name,
        Spread.of(list.stream().mapToDouble(Double::doubleValue).toArray()).format("%,.0f")));
  }

  /** A per-job CPU figure over the rounds, "—" when a round could not measure it (NaN). */
  private static String perJob(double[] values) {
    return Arrays.stream(values).anyMatch(Double::isNaN) ? "—" : Spread.of(values).format("%.3f");
  }

  private void latency(Report report, BenchServer server, Path logDir) throws Exception {
    report.format("Enqueue to handler start, %,d sequential samples (after 100 warm-up), one idle worker "
        + "woken by LISTEN/NOTIFY, 10 ms between samples; %d rounds, systems interleaved.", samples, repeat);
    report.line("");
    report.line("| round | system | version | p50 ms | p99 ms | max ms | avg ms | min ms | load before | load after |");
    report.line("|---:|---|---|---:|---:|---:|---:|---:|---|---|");
    java.util.Map<String, List<Double>> p50s = new java.util.LinkedHashMap<>();
    for (int round = 1; round <= repeat; round++) {
      for (QueueSystem system : systems(logDir)) {
        BenchServer.Db d = server.freshDatabase("lat_" + system.name());
        system.setup(d, 0);
        String before = Machine.loadAverage();
        JsonNode r = system.latency(d, samples, 100, Duration.ofMinutes(10));
        p50s.computeIfAbsent(system.name(), k -> new ArrayList<>()).add(r.path("p50Ms").asDouble());
        report.format("| %d | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s |",
            round, system.name(), system.version(), r.path("p50Ms").asDouble(), r.path("p99Ms").asDouble(),
            r.path("maxMs").asDouble(), r.path("avgMs").asDouble(), r.path("minMs").asDouble(), before, Machine.loadAverage());
      }
    }
    report.line("");
    report.line("| system | p50 ms, median of the rounds (min–max) |");
    report.line("|---|---:|");
    p50s.forEach((name, list) -> report.format("| %s | %s |", name,
        Spread.of(list.stream().mapToDouble(Double::doubleValue).toArray()).format("%.2f")));
  }
}
