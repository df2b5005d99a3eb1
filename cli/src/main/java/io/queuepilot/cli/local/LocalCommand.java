package io.queuepilot.cli.local;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import io.queuepilot.cli.CliConfig;
import io.queuepilot.cli.CliException;
import io.queuepilot.cli.DbOptions;
import io.queuepilot.cli.ExitCode;
import io.queuepilot.cli.Output;
import io.queuepilot.cli.QueuePilotCli;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code queuepilot local}: the README's first command — the whole pipeline on this machine. */
@Command(name = "local", mixinStandardHelpOptions = true,
    description = {
      "Run the whole pipeline on this machine, with live progress and a summary.",
      "Embedded PostgreSQL (or --db-url), migrations, sample clinical documents uploaded through",
      "register_shell_file, in-process workers scaled by the controller's scaling policy.",
      "Logs go to <workdir>/queuepilot-local.log."
    })
public final class LocalCommand implements Callable<Integer> {

  /** Upper bounds: local mode is a demo on one machine, each copy a file on disk and a job. */
  static final int MAX_COPIES = 100;
  static final int MAX_SAMPLES = 200;
  static final int MAX_REPLICAS = 16;
  static final int MAX_CONCURRENCY = 16;

  @Spec CommandSpec spec;

  @Mixin DbOptions db;

  @Option(names = "--docs", paramLabel = "FOLDER",
      description = "upload the PDFs, images and .txt files of this folder instead of generated samples")
  Path docs;

  @Option(names = "--samples", defaultValue = "10", paramLabel = "N",
      description = "number of sample documents to generate (default: ${DEFAULT-VALUE})")
  int samples;

  @Option(names = "--copies", defaultValue = "4", paramLabel = "N",
      description = "upload every document N times, for load (1..100, default: ${DEFAULT-VALUE})")
  int copies;

  @Option(names = "--keep-db", description = "keep the embedded database running after the summary (Ctrl-C stops it); "
      + "with --db-url: keep the demo patient and its rows (the run's logins are dropped either way)")
  boolean keepDb;

  @Option(names = "--workdir", defaultValue = "queuepilot-local", paramLabel = "DIR",
      description = "folder for documents, the local store and the log (default: ${DEFAULT-VALUE})")
  Path workDir;

  @Option(names = "--max-replicas", defaultValue = "4", paramLabel = "N",
      description = "the scaler's maxReplicas (default: ${DEFAULT-VALUE})")
  int maxReplicas;

  @Option(names = "--concurrency", defaultValue = "2", paramLabel = "N",
      description = "jobs per worker replica (default: ${DEFAULT-VALUE})")
  int concurrency;

  @Option(names = "--model-latency", defaultValue = "1200ms", paramLabel = "DURATION",
      description = "think time added to each document by the local processor, like a model call "
          + "(default: ${DEFAULT-VALUE}; 0 = none; ignored with OPENAI_API_KEY)")
  Duration modelLatency;

  @Option(names = "--upload-over", defaultValue = "6s", paramLabel = "DURATION",
      description = "spread the uploads over this time (default: ${DEFAULT-VALUE})")
  Duration uploadSpread;

  @Option(names = "--timeout", defaultValue = "110s", paramLabel = "DURATION",
      description = "give up after this long (default: ${DEFAULT-VALUE})")
  Duration timeout;

  @Option(names = "--plain", description = "print progress lines instead of redrawing in place (default when not a terminal)")
  boolean plain;

  @Override
  public Integer call() throws Exception {
    if (samples < 1 || copies < 1 || maxReplicas < 1 || concurrency < 1) {
      throw CliException.usage("--samples, --copies, --max-replicas and --concurrency must be at least 1");
    }
    if (copies > MAX_COPIES) {
      throw CliException.usage("--copies " + copies + " is more than " + MAX_COPIES
          + ": every copy is a file on disk and a job; for bigger loads use the benchmarks (docs/benchmarks.md)");
    }
    if (samples > MAX_SAMPLES) {
      throw CliException.usage("--samples " + samples + " is more than " + MAX_SAMPLES + " generated documents");
    }
    if (maxReplicas > MAX_REPLICAS || concurrency > MAX_CONCURRENCY) {
      throw CliException.usage("--max-replicas is at most " + MAX_REPLICAS + " and --concurrency at most "
          + MAX_CONCURRENCY + " in local mode: every replica is a worker in this JVM");
    }
    if (modelLatency.isNegative() || uploadSpread.isNegative() || !timeout.isPositive()) {
      throw CliException.usage("--model-latency and --upload-over must not be negative, --timeout must be positive");
    }
    CliConfig config = QueuePilotCli.root(spec).config();
    CliConfig.DbSettings external = db.urlGiven() ? db.settings().validated() : null;
    PrintWriter out = spec.commandLine().getOut();
    Path log = workDir.resolve("queuepilot-local.log").toAbsolutePath();
    Files.createDirectories(workDir);
    logTo(log);
    boolean ansi = !plain && System.console() != null && !"dumb".equals(System.getenv("TERM"));
    out.println("QueuePilot local — the whole pipeline on this machine");
    LocalRun.Options options = new LocalRun.Options(workDir.toAbsolutePath(), docs, samples, copies, keepDb, external,
        maxReplicas, concurrency, modelLatency, uploadSpread, timeout, ansi, config.openAiApiKey(),
        config.openAiBaseUrl(), config.openAiModel());
    LocalRun.Summary s = new LocalRun(options, out, Clock.systemUTC()).run();
    print(out, s, log, keepDb, external != null);
    if (keepDb && external == null) {
      out.println();
      out.println("The database keeps running for inspection; press Ctrl-C to stop it. For example:");
      out.println("  java -jar cli/target/queuepilot-cli.jar jobs list --db-url " + s.dbUrl()
          + " --db-user postgres --db-password postgres");
      out.println("  psql " + s.dbUrl().replace("jdbc:postgresql://", "postgresql://postgres:postgres@"));
      out.flush();
      new CountDownLatch(1).await(); // until Ctrl-C; the shutdown hook stops the database
    }
    if (s.timedOut()) {
      return ExitCode.FAILURE;
    }
    return ExitCode.OK;
  }

  /** The closing table and where to look. */
  static void print(PrintWriter out, LocalRun.Summary s, Path log, boolean keptDb, boolean external) {
    out.println();
    if (s.timedOut()) {
      out.println("Timed out before every document was processed: the figures below are what was done.");
    }
    List<List<String>> rows = new ArrayList<>();
    rows.add(List.of("documents uploaded", Long.toString(s.documents())));
    rows.add(List.of("processed (completed)", Long.toString(s.completed())));
    rows.add(List.of("dead-lettered", Long.toString(s.deadLettered())));
    if (s.cancelled() > 0) {
      rows.add(List.of("cancelled", Long.toString(s.cancelled())));
    }
    rows.add(List.of("clinical events found", Long.toString(s.clinicalEvents())));
    s.eventsByType().forEach((type, n) -> rows.add(List.of("  " + type, Long.toString(n))));
    rows.add(List.of("time to processed p50", seconds(s.p50Seconds())));
    rows.add(List.of("time to processed p95", seconds(s.p95Seconds())));
    rows.add(List.of("scaling decisions", s.scaling().size() + " (peak " + s.peakReplicas() + " replicas)"));
    rows.add(List.of("processor", s.processor()));
    rows.add(List.of("wall time", String.format(Locale.ROOT, "%.1f s", s.elapsedSeconds())));
    Output.table(out, List.of("SUMMARY", ""), rows);

    if (!s.scaling().isEmpty()) {
      out.println();
      Output.table(out, List.of("AT", "REPLICAS", "LIMITED BY", "WHY"),
          s.scaling().stream()
              .map(d -> List.of(String.format(Locale.ROOT, "%.1fs", d.atSeconds()), d.from() + " -> " + d.to(),
                  d.limitedBy(), d.reason()))
              .toList());
    }
    if (!s.deadLetterReasons().isEmpty()) {
      out.println();
      out.println("Dead-lettered:");
      for (Map.Entry<String, String> e : s.deadLetterReasons().entrySet()) {
        out.println("  " + e.getKey() + ": " + e.getValue());
      }
      out.println("  (retry them with: queuepilot dlq retry --all — e.g. after setting OPENAI_API_KEY)");
    }
    out.println();
    out.println("Where to look:");
    out.println("  documents   " + s.documentsFolder());
    out.println("  store       " + s.storeFolder() + "  (<bucket>/<patient_id>/...)");
    out.println("  log         " + log);
    out.println("  patient     " + s.patientId());
    if (external) {
      out.println("  database    " + (keptDb ? "the demo patient's rows are kept (--keep-db)"
          : "the demo patient and its rows were erased; run with --keep-db to keep them"));
    } else if (keptDb) {
      out.println("  database    " + s.dbUrl() + "  (tables job_queue, shell_files, clinical_events, audit_log)");
    } else {
      out.println("  database    removed at exit; run with --keep-db to inspect it");
    }
    out.flush();
  }

  private static String seconds(Double s) {
    return s == null ? "-" : String.format(Locale.ROOT, "%.2f s", s);
  }

  /** Sends all logging to {@code file}: the terminal belongs to the progress display. */
  static void logTo(Path file) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%d{HH:mm:ss.SSS} %-5level [%thread] %logger{30} - %msg%n");
    encoder.start();
    FileAppender<ILoggingEvent> appender = new FileAppender<>();
    appender.setContext(context);
    appender.setName("local-file");
    appender.setFile(file.toString());
    appender.setAppend(false);
    appender.setEncoder(encoder);
    appender.start();
    root.detachAndStopAllAppenders();
    root.addAppender(appender);
    root.setLevel(Level.INFO);
    context.getLogger("io.zonky").setLevel(Level.WARN);
    context.getLogger("com.zaxxer.hikari").setLevel(Level.WARN);
  }
}
