package io.queuepilot.cli.local;

import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.cli.CliConfig.DbSettings;
import io.queuepilot.cli.CliException;
import io.queuepilot.cli.db.Database;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleDownBehavior;
import io.queuepilot.controller.crd.ScaleTargetRef;
import io.queuepilot.controller.crd.SecretRef;
import io.queuepilot.scaling.ApplyStep;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.BudgetReader;
import io.queuepilot.scaling.QueueObserver;
import io.queuepilot.scaling.QueueScope;
import io.queuepilot.scaling.QueueStep;
import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.Scaler;
import io.queuepilot.scaling.ScalerSpec;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScalingHistoryStore;
import io.queuepilot.scaling.StaleJobRescuer;
import io.queuepilot.queue.EmbeddedDatabase;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.TokenBudgetStatusRepository;
import io.queuepilot.queue.QueueConfig;
import io.queuepilot.queue.QueueDataSources;
import io.queuepilot.queue.local.LocalModeRepository;
import io.queuepilot.queue.patient.PatientUploads.Upload;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.WorkerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole pipeline on one machine: PostgreSQL (embedded, or the one given), migrations, a
 * local document store filled with sample (or the user's) documents, uploads through
 * {@code register_shell_file} as an authenticated patient, worker replicas in this JVM scaled by
 * the controller's real {@link Scaler} through a {@link LocalScaleTarget}, a live progress
 * display, and a summary read back from the database.
 */
public final class LocalRun {

  private static final Logger log = LoggerFactory.getLogger(LocalRun.class);

  /** Everything {@code queuepilot local} can be told. */
  public record Options(
      Path workDir,
      Path docsFolder,
      int samples,
      int copies,
      boolean keepDb,
      DbSettings externalDb,
      int maxReplicas,
      int concurrency,
      Duration modelLatency,
      Duration uploadSpread,
      Duration timeout,
      boolean ansi,
      Optional<String> openAiApiKey,
      Optional<String> openAiBaseUrl,
      Optional<String> openAiModel) {}

  /** One change of the replica count the controller made. */
  public record ScalingStep(double atSeconds, int from, int to, String limitedBy, String reason) {}

  /** What the run did, read back from the database at the end. */
  public record Summary(
      String processor,
      long documents,
      long completed,
      long deadLettered,
      long cancelled,
      long clinicalEvents,
      Map<String, Long> eventsByType,
      Double p50Seconds,
      Double p95Seconds,
      List<ScalingStep> scaling,
      int peakReplicas,
      double elapsedSeconds,
      Map<String, String> deadLetterReasons,
      UUID patientId,
      String dbUrl,
      Path documentsFolder,
      Path storeFolder,
      boolean timedOut) {}

  /** How often the display redraws. */
  static final Duration FRAME = Duration.ofMillis(250);
  /**
   * How long the run waits after the last document for the controller to scale back down: the
   * policy removes the last replica only after its slots were idle over its 15 s drain lookback
   * ({@code ScalingPolicy.DRAIN_LOOKBACK}; the sustained-surplus rule keeps one replica while the
   * 5-minute rate is above zero), plus a few 1 s polls; on a loaded machine (a 1-minute load of
   * 26 on 2 cores was seen) those polls and the last jobs' write-back stretch, and 22 s was once
   * too short. The run ends as soon as the count reaches 0, so the longer bound costs nothing when
   * the scale-down comes.
   */
  static final Duration SCALE_DOWN_WAIT = Duration.ofSeconds(40);

  private final Options options;
  private final PrintWriter out;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  private volatile ScalingDecision lastDecision;
  private final List<ScalingStep> steps = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger peakReplicas = new AtomicInteger();
  private long startNanos;

  public LocalRun(Options options, PrintWriter out, Clock clock) {
    this.options = options;
    this.out = out;
    this.clock = clock;
  }

  /** Runs the pipeline to the end and returns the summary; the database stays up when keepDb. */
  public Summary run() throws Exception {
    startNanos = System.nanoTime();
    Files.createDirectories(options.workDir());
    EmbeddedDatabase embedded = null;
    try {
      DbSettings ownerSettings;
      if (options.externalDb() == null) {
        step("starting embedded PostgreSQL");
        embedded = EmbeddedDatabase.start();
        ownerSettings = new DbSettings(embedded.jdbcUrl("postgres"), "postgres", "postgres", true, 10);
        done("embedded PostgreSQL on port " + embedded.port());
      } else {
        ownerSettings = options.externalDb();
        done("using the database at " + ownerSettings.redactedUrl());
      }
      Summary summary = runOn(new Database(ownerSettings), ownerSettings);
      if (options.keepDb() && embedded != null) {
        // stays up for inspection until the JVM ends (Ctrl-C); the command says how to reach it
        EmbeddedDatabase keep = embedded;
        embedded = null;
        Runtime.getRuntime().addShutdownHook(new Thread(keep::close, "embedded-pg-stop"));
      }
      return summary;
    } finally {
      if (embedded != null) {
        embedded.close();
      }
    }
  }

  private Summary runOn(Database owner, DbSettings ownerSettings) throws Exception {
    LocalCleanup cleanup = new LocalCleanup();
    boolean external = options.externalDb() != null;
    if (external) {
      cleanup.onShutdown(); // Ctrl-C still removes what this run created
    }
    try {
      Summary summary = runOn(owner, ownerSettings, cleanup, external);
      report(cleanup.run(), external);
      return summary;
    } catch (Exception | Error e) {
      report(cleanup.run(), external);
      throw e;
    }
  }

  private void report(List<String> cleanupFailures, boolean external) {
    if (!external) {
      return;
    }
    if (cleanupFailures.isEmpty()) {
      done(options.keepDb() ? "logins of this run dropped; the demo patient and its rows kept (--keep-db)"
          : "demo patient, its rows and this run's logins removed (the audit log keeps its rows)");
    } else {
      out.println("  ✗ cleanup incomplete, see the log: " + String.join("; ", cleanupFailures));
      out.flush();
    }
  }

  private Summary runOn(Database owner, DbSettings ownerSettings, LocalCleanup cleanup, boolean external)
      throws Exception {
    MigrateResult migrated = Migrations.migrate(owner);
    done("migrations applied (" + migrated.migrationsExecuted + " new, schema version "
        + (migrated.targetSchemaVersion != null ? migrated.targetSchemaVersion : migrated.initialSchemaVersion) + ")");

    Path documents = prepareDocuments();
    List<Path> files = documentFiles(documents);
    Path store = options.workDir().resolve("store");
    deleteRecursively(store);

    // Everything this run creates carries its run id: its lane, its logins, its patient.
    String run = HexFormat.of().formatHex(randomBytes(5));
    String lane = LocalModeRepository.RUN_PREFIX + run;
    String workerLogin = LocalModeRepository.RUN_PREFIX + "worker_" + run;
    String controllerLogin = LocalModeRepository.RUN_PREFIX + "controller_" + run;
    LocalModeRepository repo = new LocalModeRepository(owner);
    String bucket = repo.documentsBucket();
    String workerPassword = password();
    String controllerPassword = password();
    if (external) {
      cleanup.add("dropping login " + workerLogin, () -> repo.dropLogin(workerLogin));
      cleanup.add("dropping login " + controllerLogin, () -> repo.dropLogin(controllerLogin));
    }
    repo.ensureLogin(workerLogin, workerPassword, "queue_worker");
    repo.ensureLogin(controllerLogin, controllerPassword, "queue_controller");

    UUID userId = UUID.randomUUID();
    UUID patientId = repo.createPatient(userId);
    if (external && !options.keepDb()) {
      cleanup.add("erasing the demo patient", () -> log.info("erased the demo patient: {}", repo.erasePatient(patientId)));
    }
    List<Upload> uploads = stageUploads(files, store, bucket, patientId);
    done(uploads.size() + " uploads staged (" + files.size() + " documents × " + options.copies() + ") in " + store);

    boolean openai = options.openAiApiKey().isPresent();
    String processor = openai ? "openai" : "local" + (options.modelLatency().isZero() ? ""
        : " + " + options.modelLatency().toMillis() + " ms simulated model latency");
    done("processor: " + processor + (openai ? "" : " (set OPENAI_API_KEY for the openai processor)"));

    Map<String, String> workerEnv = workerEnv(ownerSettings, workerLogin, workerPassword, lane, store, openai);
    QueueScalerSpec crd = localSpec(options.maxReplicas(), options.concurrency(), lane);
    done("controller: QueueScaler minReplicas " + crd.minReplicas + ", maxReplicas " + crd.maxReplicas
        + ", concurrencyPerReplica " + crd.concurrencyPerReplica + ", poll every " + crd.pollIntervalSeconds
        + " s, lane " + lane);
    out.println();

    HikariDataSource controllerPool = QueueDataSources.pool(
        new QueueConfig(ownerSettings.url(), controllerLogin, controllerPassword, 2,
            ownerSettings.preparedStatements(), null),
        "qp-local-controller");
    cleanup.add("closing the controller's pool", controllerPool::close);
    LocalScaleTarget target =
        new LocalScaleTarget(replicas(workerEnv, openai ? Duration.ZERO : options.modelLatency(), clock),
            options.maxReplicas());
    cleanup.add("stopping the workers", target::close);
    ScheduledExecutorService loops = Executors.newScheduledThreadPool(2,
        r -> Thread.ofPlatform().name("qp-local-loop").daemon(true).unstarted(r));
    cleanup.add("stopping the controller", () -> {
      loops.shutdownNow();
      loops.awaitTermination(10, TimeUnit.SECONDS);
    });
    boolean timedOut;
    JobQueue controllerQueue = new ObservingQueue(new PostgresJobQueue(controllerPool));
    Scaler scaler = controllerScaler(controllerQueue,
        BudgetReader.of(new TokenBudgetStatusRepository(controllerPool)), crd, target, clock);
    loops.scheduleWithFixedDelay(() -> controllerCycle(scaler), 0, crd.pollIntervalSeconds, TimeUnit.SECONDS);

    AtomicInteger registered = new AtomicInteger();
    AtomicReference<Exception> uploadFailure = new AtomicReference<>();
    Thread uploader = Thread.ofPlatform().name("qp-local-upload").daemon(true).start(() -> {
      long gapNanos = uploads.size() <= 1 ? 0 : options.uploadSpread().toNanos() / (uploads.size() - 1);
      long begin = System.nanoTime();
      try {
        for (int i = 0; i < uploads.size(); i++) {
          long due = begin + gapNanos * i;
          long wait = due - System.nanoTime();
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
          Upload u = uploads.get(i);
          repo.register(userId, u, lane);
          registered.incrementAndGet();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        uploadFailure.set(e);
      }
    });
    cleanup.add("stopping the uploads", () -> {
      uploader.interrupt();
      uploader.join(10_000);
    });

    timedOut = watch(repo, patientId, uploads.size(), registered, uploadFailure, target);
    uploader.interrupt();
    if (uploadFailure.get() != null) {
      throw new CliException(io.queuepilot.cli.ExitCode.FAILURE,
          "registering a document failed: " + uploadFailure.get().getMessage(), uploadFailure.get());
    }
    // The summary is read while the workers still run down; they have nothing left to claim.
    LocalModeRepository.Progress p = repo.progress(patientId);
    Map<String, Long> filesByStatus = repo.filesByStatus(patientId);
    double[] ttp = repo.timeToProcessed(patientId);
    List<ScalingStep> scaling;
    synchronized (steps) {
      scaling = List.copyOf(steps);
    }
    return new Summary(
        processor,
        filesByStatus.values().stream().mapToLong(Long::longValue).sum(),
        p.completed(),
        p.deadLetter(),
        p.cancelled(),
        p.clinicalEvents(),
        repo.eventsByType(patientId),
        ttp == null ? null : ttp[0],
        ttp == null ? null : ttp[1],
        scaling,
        peakReplicas.get(),
        elapsed(),
        repo.deadLetterReasons(patientId),
        patientId,
        ownerSettings.url(),
        documents,
        store,
        timedOut);
  }

  /** Redraws progress until every upload is finished (then waits a little for the scale-down) or time runs out. */
  private boolean watch(LocalModeRepository repo, UUID patientId, int total, AtomicInteger registered,
      AtomicReference<Exception> uploadFailure, LocalScaleTarget target) throws SQLException, InterruptedException {
    ProgressDisplay display = new ProgressDisplay(out, options.ansi());
    ArrayDeque<double[]> rate = new ArrayDeque<>(); // {seconds, finished}
    long deadline = startNanos + options.timeout().toNanos();
    Long allDoneAt = null;
    while (true) {
      LocalModeRepository.Progress p = repo.progress(patientId);
      double now = elapsed();
      rate.addLast(new double[] {now, p.finished()});
      while (rate.size() > 2 && rate.peekFirst()[0] < now - 3) {
        rate.pollFirst();
      }
      double[] first = rate.peekFirst();
      double jobsPerSecond = now - first[0] > 0.2 ? (p.finished() - first[1]) / (now - first[0]) : 0;
      ScalingDecision d = lastDecision;
      boolean finished = registered.get() == total && p.finished() >= total;
      if (finished && allDoneAt == null) {
        allDoneAt = System.nanoTime();
      }
      boolean scaledDown = target.currentReplicas() == 0 && target.stopping() == 0;
      boolean over = finished && (scaledDown || System.nanoTime() - allDoneAt > SCALE_DOWN_WAIT.toNanos());
      boolean timedOut = System.nanoTime() > deadline;
      display.show(new ProgressDisplay.Frame(now, total, registered.get(), p.ready(), p.processing(),
          p.completed(), p.deadLetter() + p.cancelled(), target.currentReplicas(),
          d == null ? 0 : d.replicas(), d == null ? "-" : d.limitedBy().statusValue(),
          d == null ? "waiting for the first controller cycle" : d.reason(), jobsPerSecond, p.clinicalEvents()),
          over || timedOut || uploadFailure.get() != null);
      if (over || uploadFailure.get() != null) {
        return false;
      }
      if (timedOut) {
        return true;
      }
      Thread.sleep(FRAME.toMillis());
    }
  }

  private void controllerCycle(Scaler scaler) {
    try {
      CycleOutcome o = scaler.runOnce();
      if (o.queue() instanceof QueueStep.QueueUnavailable u) {
        log.warn("controller cycle: {}", u.reason());
      }
      if (o instanceof CycleOutcome.Decided d) {
        lastDecision = d.decision();
        switch (d.apply()) {
          case ApplyStep.Applied a -> {
            steps.add(new ScalingStep(elapsed(), a.from(), a.to(), d.decision().limitedBy().statusValue(),
                d.decision().reason()));
            peakReplicas.accumulateAndGet(a.to(), Math::max);
          }
          case ApplyStep.ApplyFailed f -> log.warn("controller cycle: scaling failed: {}", f.message());
          case ApplyStep.Deferred df -> log.info("controller cycle: scaling deferred to {}: {}", df.at(), df.reason());
          case ApplyStep.Unchanged u -> { }
        }
      }
    } catch (RuntimeException e) {
      // The loop must survive one bad cycle, visibly.
      log.error("controller cycle failed", e);
    }
  }

  /**
   * Local mode's controller: the real {@link Scaler} over the run's spec. It is the one rescuer of
   * the run's stale jobs (its lane only; the workers do not rescue).
   */
  static Scaler controllerScaler(JobQueue controllerQueue, BudgetReader budgets, QueueScalerSpec crd,
      ScaleTarget target, Clock clock) {
    QueueScope scope = SpecMapping.scope(crd);
    ScalerSpec spec = SpecMapping.toPolicySpec(crd);
    return Scaler.builder("local").spec(spec)
        .queue(QueueObserver.of(controllerQueue, scope).withBudget(spec.budget().name(), budgets))
        .rescuer(StaleJobRescuer.of(controllerQueue, scope)).target(target)
        .history(ScalingHistoryStore.inMemory()).clock(clock).build();
  }

  /** The QueueScaler the local controller runs: quick to react, so a short demo shows both directions. */
  static QueueScalerSpec localSpec(int maxReplicas, int concurrency, String lane) {
    QueueScalerSpec s = new QueueScalerSpec();
    s.scaleTargetRef = ScaleTargetRef.deployment("in-process-workers");
    s.databaseSecretRef = new SecretRef("local");
    s.jobTypes = new ArrayList<>(List.of("document_extraction"));
    s.lanes = new ArrayList<>(List.of(lane));
    s.minReplicas = 0;
    s.maxReplicas = maxReplicas;
    s.concurrencyPerReplica = concurrency;
    s.pollIntervalSeconds = 1;
    s.heartbeatTimeoutSeconds = 30;
    s.scaleDown = new ScaleDownBehavior();
    s.scaleDown.stabilizationWindowSeconds = 3;
    s.scaleDown.maxStep = 2;
    s.scaleDown.periodSeconds = 1;
    return s;
  }

  /**
   * Worker replicas inside this JVM, each started by the worker's own composition root
   * ({@link WorkerApp#builder}) from the worker environment (validated by {@link WorkerConfig}),
   * without an HTTP server, with {@link ModelLatency} in front of the processor when a latency is set.
   */
  static LocalScaleTarget.Replicas replicas(Map<String, String> workerEnv, Duration modelLatency, Clock clock) {
    Map<String, String> base = Map.copyOf(workerEnv);
    return workerId -> {
      Map<String, String> env = new java.util.HashMap<>(base);
      env.put("QUEUEPILOT_WORKER_ID", workerId);
      WorkerApp app = WorkerApp.builder(WorkerConfig.from(env)).clock(clock).withoutHttpServer()
          .processor(p -> modelLatency.isZero() ? p : new ModelLatency(p, modelLatency))
          .start();
      return new LocalScaleTarget.Replica() {
        @Override
        public int shutdown() {
          return app.shutdown();
        }

        @Override
        public int inFlight() {
          return app.worker().inFlight();
        }
      };
    };
  }

  private Map<String, String> workerEnv(DbSettings owner, String workerLogin, String workerPassword, String lane,
      Path store, boolean openai) throws IOException {
    Path tmp = options.workDir().resolve("tmp");
    Files.createDirectories(tmp);
    Map<String, String> env = new LinkedHashMap<>();
    env.put("QUEUEPILOT_DB_URL", owner.url());
    env.put("QUEUEPILOT_DB_USER", workerLogin);
    env.put("QUEUEPILOT_DB_PASSWORD", workerPassword);
    env.put("QUEUEPILOT_DB_PREPARED_STATEMENTS", Boolean.toString(owner.preparedStatements()));
    env.put("QUEUEPILOT_HTTP_PORT", "0");
    env.put("QUEUEPILOT_CONCURRENCY", Integer.toString(options.concurrency()));
    env.put("QUEUEPILOT_JOB_TYPES", "document_extraction");
    env.put("QUEUEPILOT_LANES", lane); // only this run's jobs, never another app's
    env.put("QUEUEPILOT_PROCESSOR", openai ? "openai" : "local");
    options.openAiApiKey().ifPresent(k -> env.put("OPENAI_API_KEY", k));
    options.openAiBaseUrl().ifPresent(u -> env.put("OPENAI_BASE_URL", u));
    options.openAiModel().ifPresent(m -> env.put("QUEUEPILOT_OPENAI_MODEL", m));
    env.put("QUEUEPILOT_STORE", "local");
    env.put("QUEUEPILOT_STORE_DIR", store.toString());
    env.put("QUEUEPILOT_TEMP_DIR", tmp.toString());
    env.put("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "2");
    env.put("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS", "30");
    env.put("QUEUEPILOT_POLL_INTERVAL_SECONDS", "1");
    env.put("QUEUEPILOT_GRACE_PERIOD_SECONDS", "10");
    return env;
  }

  /** The folder to upload from: the user's, or freshly generated samples. */
  private Path prepareDocuments() throws IOException {
    if (options.docsFolder() != null) {
      if (!Files.isDirectory(options.docsFolder())) {
        throw CliException.usage("--docs " + options.docsFolder() + " is not a directory");
      }
      done("documents from " + options.docsFolder());
      return options.docsFolder();
    }
    Path folder = options.workDir().resolve("documents");
    deleteRecursively(folder);
    List<SampleDocuments.Sample> samples = SampleDocuments.generate(folder, options.samples(), 42);
    long pdfs = samples.stream().filter(s -> s.mimeType().equals("application/pdf")).count();
    long texts = samples.stream().filter(s -> s.mimeType().equals("text/plain")).count();
    long scans = samples.size() - pdfs - texts;
    done(samples.size() + " sample clinical notes generated in " + folder + " (" + pdfs + " PDF, " + texts
        + " text, " + scans + " scanned PNG)");
    return folder;
  }

  static final Map<String, String> MIME_TYPES = Map.of(
      "pdf", "application/pdf", "txt", "text/plain", "png", "image/png", "jpg", "image/jpeg", "jpeg", "image/jpeg",
      "tif", "image/tiff", "tiff", "image/tiff", "webp", "image/webp");

  static Optional<String> mimeType(Path file) {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot < 0 ? Optional.empty() : Optional.ofNullable(MIME_TYPES.get(name.substring(dot + 1).toLowerCase(Locale.ROOT)));
  }

  private List<Path> documentFiles(Path folder) throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(folder)) {
      files = s.filter(Files::isRegularFile).sorted(Comparator.comparing(Path::toString)).toList();
    }
    List<Path> usable = new ArrayList<>();
    for (Path f : files) {
      String lower = f.getFileName().toString().toLowerCase(Locale.ROOT);
      if (lower.endsWith(".heic") || lower.endsWith(".heif")) {
        // refused at upload (sql/V060): the worker has no HEIC decoder
        out.println("  - skipping " + f.getFileName() + ": HEIC is not accepted; export the photo as JPEG");
      } else if (mimeType(f).isEmpty()) {
        out.println("  - skipping " + f.getFileName() + ": not a PDF, image or .txt file");
      } else if (Files.size(f) == 0) {
        out.println("  - skipping " + f.getFileName() + ": empty");
      } else {
        usable.add(f);
      }
    }
    if (usable.isEmpty()) {
      throw CliException.usage("no documents to upload in " + folder + " (PDF, PNG/JPEG/TIFF/WebP or .txt)");
    }
    return usable;
  }

  /** Copies every document {@code copies} times into the store, as an upload to Storage would. */
  private List<Upload> stageUploads(List<Path> files, Path store, String bucket, UUID patientId) throws IOException {
    String run = Long.toString(System.currentTimeMillis(), 36);
    List<Upload> uploads = new ArrayList<>();
    for (int copy = 1; copy <= options.copies(); copy++) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        String storagePath = patientId + "/copy-" + copy + "/" + name;
        Path target = store.resolve(bucket).resolve(storagePath);
        Files.createDirectories(target.getParent());
        Files.copy(f, target);
        uploads.add(new Upload(patientId, bucket, storagePath, name, mimeType(f).orElseThrow(), Files.size(target),
            "local-" + run + "-" + copy + "-" + name));
      }
    }
    return uploads;
  }

  private String password() {
    return HexFormat.of().formatHex(randomBytes(18));
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private double elapsed() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private void step(String what) {
    out.println("  … " + what);
    out.flush();
  }

  private void done(String what) {
    out.println("  ✓ " + what);
    out.flush();
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
