package io.queuepilot.reliability;

import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.patient.PatientUploads;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.testkit.WorkerProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One scenario's world: a real PostgreSQL (migrated exactly as in production) behind a
 * {@link FaultProxy}, a local document store, a fleet of real worker processes that reach the
 * database only through the proxy, an uploader registering shell files through
 * {@code register_shell_file}, and a controller stand-in running {@code requeue_stale_jobs} on its
 * own direct path (as the controller does) — so a partition between workers and database does
 * not also blind the requeuer.
 */
public final class ChaosWorld implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ChaosWorld.class);
  static final String BUCKET = "medical-docs";
  static final String JOB_TYPE = "document_extraction";

  private final String name;
  private final Path root;
  private final Path storeDir;
  private final PgServer pg;
  private final FaultProxy proxy;
  private final DataSource superuser;
  private final DataSource controller;
  private final JobQueue controllerQueue;
  private final Path workerJar;
  private final Map<String, String> workerEnv = new LinkedHashMap<>();
  private final List<WorkerProcess> workers = new CopyOnWriteArrayList<>();
  private final List<WorkerProcess> everyWorker = new CopyOnWriteArrayList<>();
  private final Map<String, String> loginOfWorker = new ConcurrentHashMap<>();
  private final AtomicInteger generation = new AtomicInteger();
  private final List<UUID> patients = new ArrayList<>();
  private final List<Registered> registered = Collections.synchronizedList(new ArrayList<>());
  private final ScheduledExecutorService background = Executors.newScheduledThreadPool(2, r -> {
    Thread t = new Thread(r, "chaos-world");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong requeued = new AtomicLong();
  private final AtomicLong requeueErrors = new AtomicLong();
  private final Duration heartbeatTimeout;
  private volatile boolean requeuing = true;
  private FakeStorage storage;

  /** One registered upload: the shell file and its job. */
  public record Registered(UUID shellFileId, UUID jobId, String storagePath) {}

  private ChaosWorld(String name, Duration heartbeatTimeout) throws IOException, SQLException {
    this.name = name;
    this.heartbeatTimeout = heartbeatTimeout;
    this.root = Path.of("target", "chaos", name + "-" + System.currentTimeMillis()).toAbsolutePath();
    this.storeDir = root.resolve("store");
    Files.createDirectories(storeDir.resolve(BUCKET));
    this.workerJar = Path.of(System.getProperty("reliability.workerJar", "../worker/target/queuepilot-worker.jar"))
        .toAbsolutePath().normalize();
    if (!Files.isRegularFile(workerJar)) {
      throw new IllegalStateException("worker jar " + workerJar + " is missing: build it with ./mvnw -pl worker -am package");
    }
    this.pg = PgServer.start(root.resolve("pgdata"));
    this.superuser = pg.superuser();
    Migrations.migrate(superuser);
    exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chaos_controller') THEN "
        + "CREATE ROLE chaos_controller LOGIN PASSWORD 'chaos_controller'; END IF; END $$; "
        + "GRANT queue_controller TO chaos_controller;");
    this.controller = pg.dataSource("chaos_controller", "chaos_controller");
    this.controllerQueue = new PostgresJobQueue(controller);
    this.proxy = FaultProxy.start(name, pg.port());
    workerEnv.put("QUEUEPILOT_DB_URL", pg.jdbcUrl(proxy.port()));
    workerEnv.put("QUEUEPILOT_LOG_FORMAT", "text");
    workerEnv.put("QUEUEPILOT_CONCURRENCY", "4");
    workerEnv.put("QUEUEPILOT_JOB_TYPES", JOB_TYPE);
    workerEnv.put("QUEUEPILOT_PROCESSOR", "local");
    workerEnv.put("QUEUEPILOT_STORE", "local");
    workerEnv.put("QUEUEPILOT_STORE_DIR", storeDir.toString());
    workerEnv.put("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "1");
    workerEnv.put("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS", Long.toString(heartbeatTimeout.toSeconds()));
    workerEnv.put("QUEUEPILOT_POLL_INTERVAL_SECONDS", "1");
    workerEnv.put("QUEUEPILOT_GRACE_PERIOD_SECONDS", "5");
    workerEnv.put("QUEUEPILOT_MAX_RUNTIME_SECONDS", "120");
    workerEnv.put("QUEUEPILOT_HEAP_PER_JOB_MB", "8");
    background.scheduleWithFixedDelay(this::requeueStale, 1, 1, TimeUnit.SECONDS);
    log.info("world {} up: postgres :{}, proxy :{}, store {}", name, pg.port(), proxy.port(), storeDir);
  }

  /** A world whose requeuer takes back jobs with heartbeats older than {@code heartbeatTimeout}. */
  public static ChaosWorld create(String name, Duration heartbeatTimeout) {
    try {
      return new ChaosWorld(name, heartbeatTimeout);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  public String name() {
    return name;
  }

  public FaultProxy proxy() {
    return proxy;
  }

  public PgServer pg() {
    return pg;
  }

  public DataSource superuser() {
    return superuser;
  }

  public DataSource controller() {
    return controller;
  }

  public JobQueue controllerQueue() {
    return controllerQueue;
  }

  public Path root() {
    return root;
  }

  public Path storeDir() {
    return storeDir;
  }

  public Duration heartbeatTimeout() {
    return heartbeatTimeout;
  }

  public long requeued() {
    return requeued.get();
  }

  /**
   * Workers started from now on read documents from a loopback Supabase Storage serving this
   * world's store directory, downloading each to a temp file (the local store reads in place).
   */
  public FakeStorage useSupabaseStore() {
    if (storage == null) {
      try {
        storage = new FakeStorage("service-role-key-reliability").serveDirectory(storeDir).bucket(BUCKET, false);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    workerEnv("QUEUEPILOT_STORE", "supabase");
    workerEnv("SUPABASE_URL", storage.baseUrl());
    workerEnv("SUPABASE_SERVICE_ROLE_KEY", "service-role-key-reliability");
    workerEnv("QUEUEPILOT_STORAGE_BUCKET", BUCKET);
    return storage;
  }

  /** Pauses or resumes the controller stand-in (a controller that is down requeues nothing). */
  public void requeuing(boolean on) {
    requeuing = on;
  }

  /** Worker environment shared by every process started afterwards (a key set to null is removed). */
  public ChaosWorld workerEnv(String key, String value) {
    if (value == null) {
      workerEnv.remove(key);
    } else {
      workerEnv.put(key, value);
    }
    return this;
  }

  private void requeueStale() {
    if (!requeuing) {
      return;
    }
    try {
      for (JobQueue.RequeuedJob r : controllerQueue.requeueStale(heartbeatTimeout)) {
        requeued.incrementAndGet();
        log.info("requeued stale job {} of {} -> {}", r.jobId(), r.workerId(), r.newStatus());
      }
    } catch (RuntimeException e) {
      requeueErrors.incrementAndGet(); // e.g. PostgreSQL restarting: the next round retries
      log.debug("requeue_stale_jobs failed: {}", e.getMessage());
    }
  }

  // ---------------------------------------------------------------------------------------------
  // workers

  /** Starts {@code n} worker processes and waits until each answers /readyz. */
  public List<WorkerProcess> startWorkers(int n) {
    List<WorkerProcess> started = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      started.add(startWorker());
    }
    for (WorkerProcess w : started) {
      awaitReady(w);
    }
    return started;
  }

  /** Starts one worker process with a fresh database login (so audit rows name the process). */
  public WorkerProcess startWorker() {
    int gen = generation.incrementAndGet();
    String login = "chaos_w" + gen;
    exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + login + "') THEN "
        + "CREATE ROLE " + login + " LOGIN PASSWORD '" + login + "'; END IF; END $$; GRANT queue_worker TO " + login + ";");
    String id = name + "-w" + gen;
    Map<String, String> env = new HashMap<>(workerEnv);
    env.put("QUEUEPILOT_DB_USER", login);
    env.put("QUEUEPILOT_DB_PASSWORD", login);
    WorkerProcess w = WorkerProcess.start(workerJar, id, login, root.resolve("tmp").resolve(id), root.resolve("logs"), env);
    loginOfWorker.put(id, login);
    workers.add(w);
    everyWorker.add(w);
    return w;
  }

  public void awaitReady(WorkerProcess w) {
    await("worker " + w.workerId() + " ready").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250))
        .failFast("worker " + w.workerId() + " exited: " + tail(w), () -> !w.alive())
        .until(w::ready);
  }

  public List<WorkerProcess> workers() {
    return List.copyOf(workers);
  }

  public List<WorkerProcess> everyWorker() {
    return List.copyOf(everyWorker);
  }

  public Map<String, String> loginOfWorker() {
    return Map.copyOf(loginOfWorker);
  }

  /** SIGKILLs {@code w} and forgets it (its jobs come back through requeue_stale_jobs). */
  public void kill(WorkerProcess w) {
    w.kill();
    workers.remove(w);
  }

  /** Gracefully stops every live worker (SIGTERM); returns the exit codes by worker. */
  public Map<String, Integer> stopWorkers() {
    Map<String, Integer> codes = new LinkedHashMap<>();
    for (WorkerProcess w : workers) {
      w.sigcont(); // a frozen process cannot drain
    }
    for (WorkerProcess w : workers) {
      codes.put(w.workerId(), w.stop(Duration.ofSeconds(30)));
    }
    workers.clear();
    return codes;
  }

  static String tail(WorkerProcess w) {
    String s = w.log();
    return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
  }

  // ---------------------------------------------------------------------------------------------
  // uploads

  /** Creates {@code n} patient profiles. */
  public void patients(int n) {
    try (Connection c = superuser.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "INSERT INTO public.user_profiles (account_owner_id, display_name) VALUES (gen_random_uuid(), ?) RETURNING id")) {
      for (int i = 0; i < n; i++) {
        ps.setString(1, "Chaos patient " + i);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          patients.add((UUID) rs.getObject(1));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A plausible clinical note the local processor extracts events from. */
  static String clinicalNote(int i, int paddingLines) {
    StringBuilder sb = new StringBuilder();
    sb.append("Visit note ").append(i).append('\n');
    sb.append("Date: 2025-0").append(1 + i % 9).append("-1").append(i % 10).append('\n');
    sb.append("Medications:\n- Metformin ").append(250 + (i % 4) * 250).append(" mg twice daily\n- Lisinopril 10 mg\n");
    sb.append("Allergies:\n- Penicillin\n");
    sb.append("Diagnoses:\n- Type 2 diabetes mellitus E11.9\n");
    sb.append("Vitals: BP 1").append(20 + i % 30).append("/8").append(i % 10).append(" mmHg, HR ").append(60 + i % 40).append(" bpm\n");
    sb.append("Plan:\n");
    for (int p = 0; p < paddingLines; p++) {
      sb.append("Continue current regimen and review in clinic; patient counselled on diet and exercise. ").append(p).append('\n');
    }
    return sb.toString();
  }

  /** Writes a document into the store and registers it (the real upload door); returns the registration. */
  public Registered upload(String filename, String mimeType, byte[] content) {
    UUID patient = patients.get(registered.size() % patients.size());
    String storagePath = patient + "/" + UUID.randomUUID() + "-" + safeName(filename);
    return upload(patient, storagePath, filename, mimeType, content, content.length);
  }

  /** Full control of what is stored and what is declared (mislabelled / lying uploads). */
  public Registered upload(UUID patient, String storagePath, String filename, String mimeType, byte[] content,
      long declaredSize) {
    try {
      Path file = storeDir.resolve(BUCKET).resolve(storagePath);
      Files.createDirectories(file.getParent());
      Files.write(file, content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Registered r = register(patient, storagePath, filename, mimeType, declaredSize);
    registered.add(r);
    return r;
  }

  public UUID patient(int i) {
    return patients.get(i % patients.size());
  }

  private static String safeName(String filename) {
    return filename.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /** {@code register_shell_file} as the service role (the upload API's identity). */
  public Registered register(UUID patient, String storagePath, String filename, String mimeType, long size) {
    PatientUploads.Registered r = new PatientUploads(superuser).register(PatientUploads.Caller.uploadApi(),
        new PatientUploads.Upload(patient, BUCKET, storagePath, filename, mimeType, size, "upload:" + storagePath));
    return new Registered(r.shellFileId(), r.jobId(), storagePath);
  }

  /**
   * Uploads {@code n} clinical notes spread over {@code over} from a background thread (traffic
   * keeps arriving while faults happen); returns at once.
   */
  public void uploadNotesOver(int n, Duration over, int paddingLines) {
    if (patients.isEmpty()) {
      patients(Math.max(1, Math.min(50, n / 10)));
    }
    long periodMicros = Math.max(1, over.toNanos() / 1000 / Math.max(1, n));
    AtomicInteger next = new AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>> task =
        new java.util.concurrent.atomic.AtomicReference<>();
    task.set(background.scheduleAtFixedRate(() -> {
      int i = next.getAndIncrement();
      if (i >= n) {
        java.util.concurrent.ScheduledFuture<?> f = task.get();
        if (f != null) {
          f.cancel(false);
        }
        return;
      }
      try {
        upload("note-" + i + ".txt", "text/plain", clinicalNote(i, paddingLines).getBytes(StandardCharsets.UTF_8));
      } catch (RuntimeException e) {
        // the uploader is outside the fault path; a failure here is a harness error worth seeing
        log.error("upload {} failed", i, e);
        next.decrementAndGet();
      }
    }, 0, periodMicros, TimeUnit.MICROSECONDS));
  }

  public List<Registered> registered() {
    synchronized (registered) {
      return List.copyOf(registered);
    }
  }

  /** Waits until {@code n} uploads are registered. */
  public void awaitUploaded(int n, Duration atMost) {
    await("uploads registered").atMost(atMost).pollInterval(Duration.ofMillis(200)).until(() -> registered.size() >= n);
  }

  // ---------------------------------------------------------------------------------------------
  // observation

  /** Counts of job_queue rows by status. */
  public Map<String, Long> statusCounts() {
    Map<String, Long> m = new LinkedHashMap<>();
    try (Connection c = superuser.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT status, count(*) FROM public.jobs GROUP BY status ORDER BY status")) {
      while (rs.next()) {
        m.put(rs.getString(1), rs.getLong(2));
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return m;
  }

  public long completed() {
    return statusCounts().getOrDefault("completed", 0L);
  }

  /** Waits until every job of {@code jobTypes} is completed, dead-lettered or cancelled. */
  public void awaitDrained(int expectedJobs, Duration atMost) {
    await(name + ": every job settled").atMost(atMost).pollInterval(Duration.ofMillis(500)).until(() -> {
      Map<String, Long> c = statusCounts();
      long terminal = c.getOrDefault("completed", 0L) + c.getOrDefault("dead_letter", 0L) + c.getOrDefault("cancelled", 0L);
      long all = c.values().stream().mapToLong(Long::longValue).sum();
      return all >= expectedJobs && terminal == all;
    });
  }

  /** Waits until every job except those of {@code unclaimedTypes} is completed or dead-lettered. */
  public void awaitDrainedExcept(List<String> unclaimedTypes, Duration atMost) {
    await(name + ": every claimable job settled").atMost(atMost).pollInterval(Duration.ofMillis(500)).until(() -> {
      try (Connection c = superuser.getConnection();
          PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM public.jobs "
              + "WHERE status NOT IN ('completed', 'dead_letter', 'cancelled') AND NOT (job_type = ANY (?))")) {
        ps.setArray(1, c.createArrayOf("text", unclaimedTypes.toArray()));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1) == 0;
        }
      }
    });
  }

  /** Jobs {@code worker} holds (status processing under its id) right now. */
  public List<UUID> heldBy(String workerId) {
    List<UUID> ids = new ArrayList<>();
    try (Connection c = superuser.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT id FROM public.jobs WHERE status = 'processing' AND worker_id = ?")) {
      ps.setString(1, workerId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ids.add((UUID) rs.getObject(1));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return ids;
  }

  /** Seconds from {@code since} until the first job completed after it (null if none did). */
  public Double secondsToNextCompletion(Instant since) {
    return scalar("SELECT EXTRACT(EPOCH FROM (min(completed_at) - ?::timestamptz))::float8 FROM public.jobs "
        + "WHERE status = 'completed' AND completed_at > ?::timestamptz", since);
  }

  /** Seconds from {@code since} until the last of {@code jobs} settled (completed or dead-lettered). */
  public Double secondsUntilSettled(List<UUID> jobs, Instant since) {
    if (jobs.isEmpty()) {
      return 0.0;
    }
    try (Connection c = superuser.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT EXTRACT(EPOCH FROM (max(coalesce(completed_at, dead_letter_at)) - ?::timestamptz))::float8 "
                + "FROM public.jobs WHERE id = ANY (?)")) {
      ps.setObject(1, java.sql.Timestamp.from(since));
      ps.setArray(2, c.createArrayOf("uuid", jobs.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        double v = rs.getDouble(1);
        return rs.wasNull() ? null : v;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private Double scalar(String sql, Instant since) {
    try (Connection c = superuser.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, java.sql.Timestamp.from(since));
      ps.setObject(2, java.sql.Timestamp.from(since));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        double v = rs.getDouble(1);
        return rs.wasNull() ? null : v;
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  public void exec(String sql) {
    try (Connection c = superuser.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /** Runs the invariant checker over everything this world registered. */
  public Invariants.Result check(List<String> unclaimedJobTypes) {
    List<Path> tempDirs = everyWorker.stream().map(WorkerProcess::tempDir).toList();
    return Invariants.check(superuser, loginOfWorker(), tempDirs, unclaimedJobTypes, heartbeatTimeout);
  }

  public Invariants.Result check() {
    return check(List.of());
  }

  @Override
  public void close() {
    background.shutdownNow();
    for (WorkerProcess w : everyWorker) {
      if (w.alive()) {
        w.sigcont();
        w.kill();
      }
    }
    proxy.close();
    if (storage != null) {
      storage.close();
    }
    pg.close();
    // logs and the store stay for post-mortems; the database (tens of MB per scenario) goes
    // unless -Dreliability.keepData=true
    if (!Boolean.getBoolean("reliability.keepData")) {
      try (java.util.stream.Stream<Path> files = Files.walk(root.resolve("pgdata"))) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      } catch (IOException e) {
        log.warn("could not delete {}", root.resolve("pgdata"), e);
      }
    }
  }
}
