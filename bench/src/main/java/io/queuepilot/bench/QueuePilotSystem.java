package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.roles.LoginRoles;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * QueuePilot under test: the sql/ migrations applied by Flyway exactly as in production, jobs
 * bulk-inserted through enqueue_jobs, and worker JVMs ({@link QueuePilotWorker}: the product
 * Worker, started by the worker's composition root) logging in as a member of queue_worker (the producer of the latency test as a member of service_role).
 */
public final class QueuePilotSystem implements QueueSystem {

  static final String WORKER_USER = "qp_bench_worker";
  static final String SERVICE_USER = "qp_bench_service";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path logDir;
  private final String name;
  /** The worker JVMs' class path: this bench's own, or an earlier revision's bench jar. */
  private final String workerClassPath;
  private final String version;
  /** Whether the worker processes also sample where their pipeline waits (BenchMain --diagnose). */
  private final boolean diagnose;
  /** Options the worker JVMs get after {@code -Xmx512m} (BenchMain --worker-jvm-options / --baseline-jvm-options). */
  private final List<String> jvmOptions;

  public QueuePilotSystem(Path logDir) {
    this(logDir, "queuepilot", System.getProperty("java.class.path"), "QueuePilot "
        + Objects.requireNonNullElse(QueuePilotSystem.class.getPackage().getImplementationVersion(), "0.1.0-SNAPSHOT")
        + " (this commit) on Java " + System.getProperty("java.version"), false, List.of());
  }

  private QueuePilotSystem(Path logDir, String name, String workerClassPath, String version, boolean diagnose,
      List<String> jvmOptions) {
    this.logDir = logDir;
    this.name = name;
    this.workerClassPath = workerClassPath;
    this.version = version;
    this.diagnose = diagnose;
    this.jvmOptions = List.copyOf(jvmOptions);
  }

  /** The same system whose worker processes also report where their pipeline waits. */
  QueuePilotSystem diagnosing(boolean on) {
    return new QueuePilotSystem(logDir, name, workerClassPath, version, on, jvmOptions);
  }

  /**
   * The same system whose worker JVMs also get {@code options} (e.g. {@code -XX:TieredStopAtLevel=1},
   * or a flight recording); the report's version line names them.
   */
  QueuePilotSystem withJvmOptions(List<String> given) {
    List<String> options = given.stream().filter(o -> !o.isBlank()).toList();
    if (options.isEmpty()) {
      return this;
    }
    return new QueuePilotSystem(logDir, name, workerClassPath, version + ", worker JVM options " + String.join(" ", options),
        diagnose, options);
  }

  /**
   * The worker of an earlier revision ({@code jar}, a queuepilot-bench.jar built from it) on the
   * same server and the same migrations as this one: before/after of the worker in one run.
   */
  static QueuePilotSystem baseline(Path logDir, Path jar, String label) {
    return new QueuePilotSystem(logDir, "queuepilot_baseline", jar.toAbsolutePath().toString(),
        "QueuePilot worker of " + label + " (baseline jar) on Java " + System.getProperty("java.version"), false,
        List.of());
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String version() {
    return version;
  }

  /** Migrates {@code db} and creates the login roles the workers use. */
  public static void migrate(BenchServer.Db db) {
    Migrations.migrate(db.dataSource());
    LoginRoles logins = new LoginRoles(db.dataSource());
    logins.ensure(WORKER_USER, WORKER_USER, "queue_worker");
    logins.ensure(SERVICE_USER, SERVICE_USER, "service_role");
  }

  /** Inserts {@code jobs} ready no-op jobs through enqueue_jobs (V082, set-based), 50,000 per statement. */
  public static void insertJobs(BenchServer.Db db, String jobType, int jobs) {
    int chunk = 50_000;
    for (int from = 1; from <= jobs; from += chunk) {
      int to = Math.min(jobs, from + chunk - 1);
      db.execute(
          """
          SELECT count(*) FROM public.enqueue_jobs(
                   array_fill('%1$s'::text, ARRAY[%3$d - %2$d + 1]),
                   ARRAY(SELECT jsonb_build_object('id', i) FROM generate_series(%2$d, %3$d) AS i ORDER BY i),
                   ARRAY(SELECT '%1$s-' || i FROM generate_series(%2$d, %3$d) AS i ORDER BY i))
          """.formatted(jobType, from, to));
    }
  }

  @Override
  public double setup(BenchServer.Db db, int jobs) {
    migrate(db);
    long t0 = System.nanoTime();
    insertJobs(db, "noop", jobs);
    return (System.nanoTime() - t0) / 1e9;
  }

  ObjectNode baseConfig(BenchServer.Db db) {
    return JSON.createObjectNode()
        .put("jdbcUrl", db.jdbcUrl())
        .put("user", WORKER_USER)
        .put("password", WORKER_USER)
        .put("serviceUser", SERVICE_USER)
        .put("servicePassword", SERVICE_USER);
  }

  WorkerProcess start(String label, String command, ObjectNode config) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Xmx512m");
    cmd.addAll(jvmOptions);
    cmd.add("-cp");
    cmd.add(workerClassPath);
    cmd.add(QueuePilotWorker.class.getName());
    cmd.add(command);
    cmd.add(config.toString());
    return WorkerProcess.start(label, cmd, Path.of("."), logDir.resolve(name() + ".stderr.log"));
  }

  @Override
  public WorkerProcess startWorker(BenchServer.Db db, WorkerSpec spec, int index) {
    ObjectNode config =
        baseConfig(db)
            .put("concurrency", spec.concurrency())
            .put("pool", spec.pool())
            .put("batching", spec.batching())
            .put("batchSize", spec.batchSize())
            .put("localQueueSize", spec.localQueueSize())
            .put("diagnose", diagnose);
    return start(name() + "-worker-" + index, "work", config);
  }

  @Override
  public String unfinishedJobsSql() {
    return "SELECT count(*) FROM public.job_queue WHERE job_type = 'noop' AND status IN ('pending', 'processing')"
        + " AND scheduled_at <= now()";
  }

  @Override
  public JsonNode latency(BenchServer.Db db, int samples, int warmup, Duration timeout) throws Exception {
    ObjectNode config = baseConfig(db).put("samples", samples).put("warmup", warmup).put("pool", 10);
    try (WorkerProcess p = start(name() + "-latency", "latency", config)) {
      return p.awaitResult(timeout);
    }
  }
}
