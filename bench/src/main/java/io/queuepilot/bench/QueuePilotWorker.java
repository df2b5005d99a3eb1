package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.JobNotificationListener;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.PostgresJobQueue;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A QueuePilot benchmark child process speaking the same line protocol as the peers' scripts:
 * {@code work} burns down the no-op jobs with N threads claiming through {@link PostgresJobQueue}
 * (the real client of the SQL contract); {@code latency} measures enqueue to handler start with
 * one idle worker woken by {@link JobNotificationListener}.
 */
public final class QueuePilotWorker {

  private static final ObjectMapper JSON = new ObjectMapper();
  /** Completes a claimed batch in one round trip, still one lease-guarded complete_job per job. */
  private static final String COMPLETE_BATCH =
      """
      SELECT count(*) FILTER (WHERE done)
        FROM (SELECT public.complete_job(t.id, t.lease, NULL, NULL) AS done
                FROM unnest(?::uuid[], ?::uuid[]) AS t(id, lease)) AS s
      """;

  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  private QueuePilotWorker() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: QueuePilotWorker work|latency '<json config>'");
      System.exit(2);
    }
    JsonNode config = JSON.readTree(args[1]);
    switch (args[0]) {
      case "work" -> work(config);
      case "worker" -> productionWorker(config);
      case "latency" -> latency(config);
      default -> {
        System.err.println("unknown command " + args[0]);
        System.exit(2);
      }
    }
    System.exit(0);
  }

  private static HikariDataSource pool(JsonNode config, int size, String name) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(config.path("jdbcUrl").asText());
    hc.setUsername(config.path("user").asText());
    hc.setPassword(config.path("password").asText());
    hc.setMaximumPoolSize(size);
    hc.setMinimumIdle(size);
    hc.setPoolName(name);
    hc.setAutoCommit(true);
    return new HikariDataSource(hc);
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
  }

  private static void awaitStdinClosed() throws IOException {
    byte[] buffer = new byte[256];
    while (System.in.read(buffer) >= 0) {
      // the orchestrator never writes; EOF is the stop signal
    }
  }

  static void work(JsonNode config) throws Exception {
    int concurrency = config.path("concurrency").asInt();
    boolean batching = config.path("batching").asBoolean();
    String workerId = "bench-" + ProcessHandle.current().pid();
    Progress progress = new Progress();
    AtomicBoolean stopping = new AtomicBoolean();
    AtomicLong lostLeases = new AtomicLong();
    try (HikariDataSource ds = pool(config, config.path("pool").asInt(), "bench-worker")) {
      JobQueue queue = new PostgresJobQueue(ds);
      List<Thread> threads = new ArrayList<>();
      if (batching) {
        threads.addAll(localQueueMode(queue, ds, workerId, concurrency, config.path("localQueueSize").asInt(500),
            progress, stopping, lostLeases));
      } else {
        for (int i = 0; i < concurrency; i++) {
          threads.add(
              Thread.ofPlatform()
                  .name("claim-" + i)
                  .start(() -> claimLoop(queue, workerId, progress, stopping, lostLeases)));
        }
      }
      Thread reporter =
          Thread.ofPlatform().daemon().name("stat").start(() -> {
            while (!stopping.get()) {
              progress.report();
              LockSupport.parkNanos(100_000_000L);
            }
          });
      OUT.println("READY");
      awaitStdinClosed();
      stopping.set(true);
      for (Thread t : threads) {
        t.join();
      }
      reporter.join();
      progress.report();
      OUT.println("RESULT " + JSON.createObjectNode().put("stopped", true).put("lostLeases", lostLeases.get()));
    }
  }

  /**
   * The production claim loop ({@link io.queuepilot.worker.Worker} of the worker module) with a
   * no-op handler that commits through complete_job: it claims up to its free capacity, runs
   * each job on its own thread, heartbeats in-flight jobs, completes one job per call.
   */
  static void productionWorker(JsonNode config) throws Exception {
    int concurrency = config.path("concurrency").asInt();
    String workerId = "bench-worker-" + ProcessHandle.current().pid();
    Progress progress = new Progress();
    AtomicBoolean stopping = new AtomicBoolean();
    try (HikariDataSource ds = pool(config, config.path("pool").asInt(), "bench-production-worker")) {
      JobQueue queue = new PostgresJobQueue(ds);
      io.queuepilot.worker.Worker.Settings settings = new io.queuepilot.worker.Worker.Settings(
          workerId, concurrency, List.of("noop"), List.of(), Duration.ofSeconds(5), Duration.ofMinutes(10),
          Duration.ofMillis(200), Duration.ZERO, Duration.ofSeconds(60), 1L << 20, 0.6, Duration.ofSeconds(10));
      io.queuepilot.worker.JobHandler noop = ctx -> {
        progress.started();
        ClaimedJob job = ctx.job();
        if (ctx.commit(() -> queue.complete(job.id(), job.leaseToken(), null, null))) {
          progress.finished(1);
        }
      };
      io.queuepilot.worker.Worker worker = new io.queuepilot.worker.Worker(
          settings, queue, noop, java.time.Clock.systemUTC(),
          new io.queuepilot.worker.WorkerMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()),
          Runtime.getRuntime().maxMemory());
      worker.start();
      Thread reporter =
          Thread.ofPlatform().daemon().name("stat").start(() -> {
            while (!stopping.get()) {
              progress.report();
              LockSupport.parkNanos(100_000_000L);
            }
          });
      OUT.println("READY");
      awaitStdinClosed();
      stopping.set(true);
      int released = worker.shutdown(Duration.ofSeconds(10));
      reporter.join();
      progress.report();
      OUT.println("RESULT " + JSON.createObjectNode().put("stopped", true).put("released", released));
    }
  }

  /**
   * The batching mode, shaped like Graphile Worker's: one claimer per process keeps a local
   * queue of up to {@code localQueueSize} claimed jobs (claim_next_job with p_batch up to 1000),
   * {@code concurrency} handler threads take from it, and one completer flushes finished jobs
   * in one round trip per flush (complete_job per job over unnest), like completeJobBatchDelay 0.
   */
  private static List<Thread> localQueueMode(
      JobQueue queue,
      HikariDataSource ds,
      String workerId,
      int concurrency,
      int localQueueSize,
      Progress progress,
      AtomicBoolean stopping,
      AtomicLong lostLeases) {
    java.util.concurrent.BlockingQueue<ClaimedJob> local = new java.util.concurrent.LinkedBlockingQueue<>();
    java.util.concurrent.BlockingQueue<ClaimedJob> done = new java.util.concurrent.LinkedBlockingQueue<>();
    AtomicLong handling = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    List<String> types = List.of("noop");
    threads.add(Thread.ofPlatform().name("claimer").start(() -> {
      while (!stopping.get()) {
        int free = localQueueSize - local.size() - (int) handling.get();
        if (free < localQueueSize / 2) {
          LockSupport.parkNanos(1_000_000L);
          continue;
        }
        try {
          List<ClaimedJob> jobs = queue.claim(workerId, types, null, Math.min(free, 1000));
          if (jobs.isEmpty()) {
            LockSupport.parkNanos(20_000_000L);
          }
          local.addAll(jobs);
        } catch (RuntimeException e) {
          System.err.println("claim failed: " + e);
          LockSupport.parkNanos(50_000_000L);
        }
      }
      // Shutting down: whatever was claimed but not started goes back at once.
      List<ClaimedJob> left = new ArrayList<>();
      local.drainTo(left);
      for (ClaimedJob job : left) {
        queue.release(job.id(), job.leaseToken(), java.time.Duration.ZERO);
      }
    }));
    for (int i = 0; i < concurrency; i++) {
      threads.add(Thread.ofPlatform().name("handler-" + i).start(() -> {
        while (!stopping.get()) {
          try {
            ClaimedJob job = local.poll(50, TimeUnit.MILLISECONDS);
            if (job == null) {
              continue;
            }
            handling.incrementAndGet();
            progress.started(); // the no-op handler
            done.add(job);
            handling.decrementAndGet();
          } catch (InterruptedException e) {
            return;
          }
        }
      }));
    }
    threads.add(Thread.ofPlatform().name("completer").start(() -> {
      List<ClaimedJob> batch = new ArrayList<>();
      while (!stopping.get() || !done.isEmpty()) {
        batch.clear();
        try {
          ClaimedJob first = done.poll(50, TimeUnit.MILLISECONDS);
          if (first == null) {
            continue;
          }
          batch.add(first);
          done.drainTo(batch, 999);
          int ok = completeBatch(ds, batch);
          lostLeases.addAndGet(batch.size() - ok);
          progress.finished(batch.size());
        } catch (InterruptedException e) {
          return;
        } catch (SQLException | RuntimeException e) {
          System.err.println("complete failed: " + e);
        }
      }
    }));
    return threads;
  }

  /** One job per claim: claim_next_job(p_batch 1), the no-op handler, complete_job. */
  private static void claimLoop(
      JobQueue queue,
      String workerId,
      Progress progress,
      AtomicBoolean stopping,
      AtomicLong lostLeases) {
    List<String> types = List.of("noop");
    while (!stopping.get()) {
      List<ClaimedJob> jobs;
      try {
        jobs = queue.claim(workerId, types, null, 1);
      } catch (RuntimeException e) {
        System.err.println("claim failed: " + e);
        LockSupport.parkNanos(50_000_000L);
        continue;
      }
      if (jobs.isEmpty()) {
        // The burn-down inserts everything up front: an empty claim means the backlog is gone.
        LockSupport.parkNanos(20_000_000L);
        continue;
      }
      for (int i = 0; i < jobs.size(); i++) {
        progress.started(); // the no-op handler
      }
      try {
        for (ClaimedJob job : jobs) {
          if (!queue.complete(job.id(), job.leaseToken(), null, null)) {
            lostLeases.incrementAndGet();
          }
        }
        progress.finished(jobs.size());
      } catch (RuntimeException e) {
        System.err.println("complete failed: " + e);
      }
    }
  }

  private static int completeBatch(HikariDataSource ds, List<ClaimedJob> jobs) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(COMPLETE_BATCH)) {
      Array ids = c.createArrayOf("uuid", jobs.stream().map(ClaimedJob::id).toArray(UUID[]::new));
      Array leases = c.createArrayOf("uuid", jobs.stream().map(ClaimedJob::leaseToken).toArray(UUID[]::new));
      ps.setArray(1, ids);
      ps.setArray(2, leases);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  static void latency(JsonNode config) throws Exception {
    int samples = config.path("samples").asInt(1000);
    int warmup = config.path("warmup").asInt(100);
    long gapNanos = config.path("gapMs").asLong(10) * 1_000_000L;
    Map<Integer, Long> startUs = new ConcurrentHashMap<>();
    Map<Integer, CountDownLatch> started = new ConcurrentHashMap<>();
    List<Double> latenciesMs = new ArrayList<>();
    Semaphore wake = new Semaphore(0);
    AtomicBoolean stopping = new AtomicBoolean();
    String workerId = "bench-latency-" + ProcessHandle.current().pid();
    try (HikariDataSource workerPool = pool(config, config.path("pool").asInt(10), "bench-latency-worker");
        HikariDataSource servicePool = servicePool(config);
        JobNotificationListener listener =
            new JobNotificationListener(
                () -> DriverManager.getConnection(
                    config.path("jdbcUrl").asText(), config.path("user").asText(), config.path("password").asText()),
                Duration.ofSeconds(1))) {
      JobQueue workerQueue = new PostgresJobQueue(workerPool);
      JobQueue serviceQueue = new PostgresJobQueue(servicePool);
      CountDownLatch connected = new CountDownLatch(1);
      listener.onJobType("latency", t -> wake.release()).onConnect(connected::countDown).start();
      if (!connected.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("LISTEN connection not established");
      }
      Thread worker =
          Thread.ofPlatform().name("latency-worker").start(() -> {
            while (!stopping.get()) {
              try {
                // Idle and waiting: woken by NOTIFY; the 1 s poll is only the safety net.
                wake.tryAcquire(1, TimeUnit.SECONDS);
                wake.drainPermits();
                List<ClaimedJob> jobs;
                while (!(jobs = workerQueue.claim(workerId, List.of("latency"), null, 1)).isEmpty()) {
                  ClaimedJob job = jobs.getFirst();
                  long now = Clock.nowMicros();
                  int id = JSON.readTree(job.payloadJson()).path("id").asInt();
                  synchronized (latenciesMs) {
                    if (id >= 0) {
                      latenciesMs.add((now - startUs.get(id)) / 1000.0);
                    }
                  }
                  started.get(id).countDown();
                  if (!workerQueue.complete(job.id(), job.leaseToken(), null, null)) {
                    System.err.println("lease lost for latency job " + id);
                  }
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
              } catch (Exception e) {
                System.err.println("latency worker: " + e);
              }
            }
          });
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
      stopping.set(true);
      worker.interrupt();
      worker.join();
      Stats s;
      synchronized (latenciesMs) {
        s = Stats.of(latenciesMs);
      }
      OUT.println("RESULT " + JSON.writeValueAsString(s));
    }
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
