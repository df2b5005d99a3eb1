package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.worker.JobHandler;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.WorkerConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A QueuePilot benchmark child process speaking the same line protocol as the peers' scripts.
 * Every command runs the product: a worker started by the worker's own composition root
 * ({@link WorkerApp#builder}) with a no-op handler that completes through the worker's batched
 * completer. {@code work} burns down no-op jobs (one job per statement, or batched with
 * claim-ahead); {@code latency} measures enqueue to handler start with one idle worker woken by
 * LISTEN; {@code hold} keeps its jobs in flight, heartbeating, until stdin closes.
 */
public final class QueuePilotWorker {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  private QueuePilotWorker() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: QueuePilotWorker work|latency|hold '<json config>'");
      System.exit(2);
    }
    JsonNode config = JSON.readTree(args[1]);
    // stdout is the line protocol; the worker's per-job INFO lines would flood it (the peers log no job lines either)
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(ch.qos.logback.classic.Level.WARN);
    switch (args[0]) {
      case "work" -> work(config);
      case "latency" -> latency(config);
      case "hold" -> hold(config);
      default -> {
        System.err.println("unknown command " + args[0]);
        System.exit(2);
      }
    }
    System.exit(0);
  }

  /** The worker environment of a bench worker: the same keys a deployed worker reads. */
  static Map<String, String> workerEnv(JsonNode config, String jobType, int concurrency, int pool) {
    Map<String, String> env = new HashMap<>();
    env.put("QUEUEPILOT_DB_URL", config.path("jdbcUrl").asText());
    env.put("QUEUEPILOT_DB_USER", config.path("user").asText());
    env.put("QUEUEPILOT_DB_PASSWORD", config.path("password").asText());
    env.put("QUEUEPILOT_DB_POOL_SIZE", Integer.toString(pool));
    env.put("QUEUEPILOT_DB_TRANSACTION_POOLER", "false");
    env.put("QUEUEPILOT_WORKER_ID", "bench-" + jobType + "-" + ProcessHandle.current().pid());
    env.put("QUEUEPILOT_CONCURRENCY", Integer.toString(concurrency));
    env.put("QUEUEPILOT_JOB_TYPES", jobType);
    env.put("QUEUEPILOT_POLL_INTERVAL_SECONDS", config.path("pollSeconds").asText("1"));
    env.put("QUEUEPILOT_HEAP_PER_JOB_MB", "1");
    // a worker's JIT policy is an environment key; --worker-jvm-options / --baseline-jvm-options
    // "-Dqueuepilot.jitPolicy=pipeline" set it per system, so both policies run side by side
    String jitPolicy = System.getProperty("queuepilot.jitPolicy");
    if (jitPolicy != null) {
      env.put("QUEUEPILOT_JIT_POLICY", jitPolicy);
    }
    if (config.has("heartbeatSeconds")) {
      env.put("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", config.path("heartbeatSeconds").asText());
      env.put("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS", config.path("heartbeatTimeoutSeconds").asText("60"));
    }
    return env;
  }

  /** Counts handled jobs and prints STAT lines every 100 ms. */
  private static final class Progress {
    final AtomicLong handled = new AtomicLong();
    final AtomicLong firstStartUs = new AtomicLong();
    final AtomicLong lastEndUs = new AtomicLong();

    void started() {
      if (firstStartUs.get() == 0) {
        firstStartUs.compareAndSet(0, Clock.nowMicros());
      }
    }

    void finished(int n) {
      handled.addAndGet(n);
      lastEndUs.accumulateAndGet(Clock.nowMicros(), Math::max);
    }

    void report() {
      OUT.println("STAT " + handled.get() + " " + firstStartUs.get() + " " + lastEndUs.get());
    }

    Thread reporter(AtomicBoolean stopping) {
      return Thread.ofPlatform().daemon().name("stat").start(() -> {
        while (!stopping.get()) {
          report();
          LockSupport.parkNanos(100_000_000L);
        }
      });
    }
  }

  private static void awaitStdinClosed() throws IOException {
    byte[] buffer = new byte[256];
    while (System.in.read(buffer) >= 0) {
      // the orchestrator never writes; EOF is the stop signal
    }
  }

  /**
   * Burn-down with the product Worker: {@code batching} false = its default settings (claims up
   * to free capacity, no local queue) with each job completing through its own
   * {@code complete_job} from its own thread, as a document job completes inside its own
   * write-back; true = claim-ahead into a local queue of {@code localQueueSize} and completions
   * handed to the worker's batched completer without waiting ({@code completeAsync}), as Graphile
   * Worker's batched mode does not wait for its completeJob.
   */
  static void work(JsonNode config) throws Exception {
    boolean batching = config.path("batching").asBoolean();
    int localQueue = batching ? config.path("localQueueSize").asInt(500) : 0;
    Map<String, String> env = workerEnv(config, "noop", config.path("concurrency").asInt(), config.path("pool").asInt());
    env.put("QUEUEPILOT_LOCAL_QUEUE_SIZE", Integer.toString(localQueue));
    Progress progress = new Progress();
    AtomicLong lostLeases = new AtomicLong();
    AtomicLong failedCompletions = new AtomicLong();
    java.util.function.Function<JobQueue, JobHandler> noop = queue -> ctx -> {
      progress.started();
      if (batching) {
        // Graphile Worker's batched mode: the job's slot moves on while its completion is written
        ctx.completeAsync(null, null).whenComplete((done, error) -> {
          if (error != null) {
            failedCompletions.incrementAndGet(); // the worker fails the job under its lease; it runs again
          } else if (done) {
            progress.finished(1);
          } else {
            lostLeases.incrementAndGet();
          }
        });
        return;
      }
      if (ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null))) {
        progress.finished(1);
      } else {
        lostLeases.incrementAndGet();
      }
    };
    AtomicBoolean stopping = new AtomicBoolean();
    WorkerApp app = WorkerApp.builder(WorkerConfig.from(env)).handler(noop).withoutHttpServer().start();
    Thread reporter = progress.reporter(stopping);
    boolean diagnose = config.path("diagnose").asBoolean(false);
    long[] emptySamples = new long[3];
    Thread sampler = !diagnose ? null : Thread.ofPlatform().daemon().name("diag").start(() -> {
      while (!stopping.get()) {
        if (progress.handled.get() > 0) {
          emptySamples[0]++;
          if (app.worker().waiting() == 0) {
            emptySamples[1]++;
          }
          emptySamples[2] += app.worker().inFlight();
        }
        LockSupport.parkNanos(1_000_000L);
      }
    });
    OUT.println("READY");
    awaitStdinClosed();
    stopping.set(true);
    if (diagnose) {
      System.err.printf("DIAG pid %d samples %d localQueueEmpty %.3f avgHeld %.1f%n", ProcessHandle.current().pid(),
          emptySamples[0], emptySamples[1] / (double) Math.max(1, emptySamples[0]), emptySamples[2] / (double) Math.max(1, emptySamples[0]));
      app.registry().scrape().lines().filter(l -> !l.startsWith("#") && (l.contains("batch_jobs") || l.contains("statement_duration")))
          .forEach(l -> System.err.println("DIAG " + l));
    }
    int released = app.shutdown();
    reporter.join();
    progress.report();
    OUT.println("RESULT " + JSON.createObjectNode().put("stopped", true).put("released", released)
        .put("lostLeases", lostLeases.get()).put("failedCompletions", failedCompletions.get()));
  }

  /**
   * Holds its jobs in flight (handlers wait for stdin to close) so that the worker heartbeats
   * them at the configured interval; the heartbeat benchmark measures what that costs.
   */
  static void hold(JsonNode config) throws Exception {
    Map<String, String> env = workerEnv(config, "held", config.path("concurrency").asInt(), config.path("pool").asInt());
    CountDownLatch stop = new CountDownLatch(1);
    Progress progress = new Progress();
    JobHandler holding = ctx -> {
      progress.started();
      progress.finished(1); // "handled" = now held
      stop.await();
      ctx.complete(null, null);
    };
    AtomicBoolean stopping = new AtomicBoolean();
    WorkerApp app = WorkerApp.builder(WorkerConfig.from(env)).handler(q -> holding).withoutHttpServer().start();
    Thread reporter = progress.reporter(stopping);
    OUT.println("READY");
    awaitStdinClosed();
    stopping.set(true);
    stop.countDown();
    app.shutdown();
    reporter.join();
    progress.report();
    OUT.println("RESULT " + JSON.createObjectNode().put("stopped", true));
  }

  /** Enqueue to handler start, sequential samples, one idle product worker woken by LISTEN/NOTIFY. */
  static void latency(JsonNode config) throws Exception {
    int samples = config.path("samples").asInt(1000);
    int warmup = config.path("warmup").asInt(100);
    long gapNanos = config.path("gapMs").asLong(10) * 1_000_000L;
    Map<Integer, Long> startUs = new ConcurrentHashMap<>();
    Map<Integer, CountDownLatch> started = new ConcurrentHashMap<>();
    List<Double> latenciesMs = new ArrayList<>();
    JobHandler record = ctx -> {
      long now = Clock.nowMicros();
      int id = JSON.readTree(ctx.job().payloadJson()).path("id").asInt();
      synchronized (latenciesMs) {
        if (id >= 0) {
          latenciesMs.add((now - startUs.get(id)) / 1000.0);
        }
      }
      started.get(id).countDown();
      if (!ctx.complete(null, null)) {
        System.err.println("lease lost for latency job " + id);
      }
    };
    // idle and waiting: woken by NOTIFY; the 1 s poll is only the safety net
    Map<String, String> env = workerEnv(config, "latency", 1, config.path("pool").asInt(10));
    WorkerApp app = WorkerApp.builder(WorkerConfig.from(env)).handler(q -> record).withoutHttpServer().start();
    try (HikariDataSource servicePool = servicePool(config)) {
      JobQueue serviceQueue = new PostgresJobQueue(servicePool);
      long connectedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!app.listening()) {
        if (System.nanoTime() > connectedBy) {
          throw new IllegalStateException("LISTEN connection not established");
        }
        LockSupport.parkNanos(10_000_000L);
      }
      LockSupport.parkNanos(1_000_000_000L); // let the worker go idle, as the peers' scripts do
      for (int id = -warmup; id < samples; id++) {
        CountDownLatch latch = new CountDownLatch(1);
        started.put(id, latch);
        startUs.put(id, Clock.nowMicros());
        serviceQueue.enqueue(JobQueue.NewJob.of("latency", "{\"id\":" + id + "}", "latency-" + id));
        if (!latch.await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("latency job " + id + " not started within 30 s");
        }
        LockSupport.parkNanos(gapNanos);
      }
    } finally {
      app.shutdown();
    }
    Stats s;
    synchronized (latenciesMs) {
      s = Stats.of(latenciesMs);
    }
    OUT.println("RESULT " + JSON.writeValueAsString(s));
  }

  private static HikariDataSource servicePool(JsonNode config) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(config.path("jdbcUrl").asText());
    hc.setUsername(config.path("serviceUser").asText());
    hc.setPassword(config.path("servicePassword").asText());
    hc.setMaximumPoolSize(2);
    hc.setPoolName("bench-latency-service");
    return new HikariDataSource(hc);
  }
}
