package io.queuepilot.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.roles.LoginRoles;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Section 5: the controller process (ControllerMain in render mode, the standalone mode that
 * needs no cluster) against a fake Render API on loopback: from a burst of enqueues (first
 * commit, i.e. the first NOTIFY) to the controller's first scale call and to the call reaching
 * the final count, over repeated bursts. Both clocks are this JVM's System.nanoTime.
 */
final class ControllerReaction {

  static final String CONTROLLER_USER = "qp_bench_controller";
  private static final String SERVICE = "srv-bench";
  private static final Pattern NUM = Pattern.compile("\"numInstances\"\\s*:\\s*(\\d+)");

  /** One scale call as the fake Render API received it. */
  record ScaleCall(long atNanos, int numInstances) {}

  private ControllerReaction() {}

  static void run(Report report, BenchServer server, Path logDir, BenchMain o) throws Exception {
    Path jar = o.controllerJar.toAbsolutePath();
    if (!Files.isReadable(jar)) {
      throw new IllegalStateException("controller jar " + jar + " missing (bench/run.sh builds it)");
    }
    int maxReplicas = o.controllerMaxReplicas;
    int perReplica = 4;
    int target = Math.min(maxReplicas, (o.burstJobs + perReplica - 1) / perReplica);
    report.line("### Render mode (fake Render API)");
    report.line("");
    report.format("Controller (`queuepilot-controller.jar`, render mode, NOTIFY on, poll interval 15 s) against a fake "
            + "Render API on loopback; %d bursts of %,d enqueues (8 connections, one commit each) of a job type the "
            + "scaler watches; concurrencyPerReplica %d, min 1, max %d, so each burst asks for %d instances. Between "
            + "bursts the jobs are deleted and the service is set back to 1 instance.",
        o.bursts, o.burstJobs, perReplica, maxReplicas, target);
    report.line("");
    BenchServer.Db db = server.freshDatabase("ctl_queuepilot");
    QueuePilotSystem.migrate(db);
    new LoginRoles(db.dataSource()).ensure(CONTROLLER_USER, CONTROLLER_USER, "queue_controller");
    Path config = Files.createTempFile("qp-bench-render", ".yaml");
    Files.writeString(config,
        """
        scaleTargetRef: {kind: RenderService, name: %s}
        jobTypes: [burst]
        minReplicas: 1
        maxReplicas: %d
        concurrencyPerReplica: %d
        """.formatted(SERVICE, maxReplicas, perReplica));

    List<ScaleCall> calls = new CopyOnWriteArrayList<>();
    AtomicInteger instances = new AtomicInteger(1);
    AtomicLong gets = new AtomicLong();
    HttpServer render = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    render.createContext("/v1/services/", ex -> handle(ex, calls, instances, gets));
    render.setExecutor(Executors.newFixedThreadPool(2));
    render.start();
    Process controller = null;
    List<Double> firstCallMs = new ArrayList<>();
    List<Double> finalCallMs = new ArrayList<>();
    int missed = 0;
    String loadBefore = Machine.loadAverage();
    try (HikariDataSource service = servicePool(db)) {
      ProcessBuilder pb = new ProcessBuilder(
          ProcessHandle.current().info().command().orElse("java"), "-Xmx512m", "-jar", jar.toString())
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve("controller.log").toFile()))
          .redirectErrorStream(true);
      Map<String, String> env = pb.environment();
      env.put("QUEUEPILOT_CONTROLLER_MODE", "render");
      env.put("QUEUEPILOT_RENDER_CONFIG", config.toString());
      env.put("RENDER_API_KEY", "rnd_bench");
      env.put("RENDER_API_URL", "http://127.0.0.1:" + render.getAddress().getPort());
      env.put("QUEUEPILOT_DB_URL", db.jdbcUrl());
      env.put("QUEUEPILOT_DB_USER", CONTROLLER_USER);
      env.put("QUEUEPILOT_DB_PASSWORD", CONTROLLER_USER);
      env.put("QUEUEPILOT_HTTP_PORT", "0");
      env.put("QUEUEPILOT_LEADER_ELECTION", "false");
      controller = pb.start();
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (gets.get() == 0 || !listening(db)) {
        if (!controller.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("controller did not start (see " + logDir.resolve("controller.log") + ")");
        }
        LockSupport.parkNanos(100_000_000L);
      }
      LockSupport.parkNanos(2_000_000_000L);
      ExecutorService producers = Executors.newFixedThreadPool(8);
      try {
        for (int b = 0; b < o.bursts; b++) {
          int callsBefore = calls.size();
          long t0 = burst(service, producers, b, o.burstJobs);
          long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
          while (calls.stream().skip(callsBefore).noneMatch(c -> c.numInstances() >= target) && System.nanoTime() < until) {
            LockSupport.parkNanos(5_000_000L);
          }
          List<ScaleCall> mine = calls.subList(callsBefore, calls.size());
          if (mine.isEmpty()) {
            missed++;
          } else {
            firstCallMs.add((mine.getFirst().atNanos() - t0) / 1e6);
            mine.stream().filter(c -> c.numInstances() >= target).findFirst()
                .ifPresent(c -> finalCallMs.add((c.atNanos() - t0) / 1e6));
          }
          // reset: no work left, the service back at one instance, and the write limit respected
          db.execute("DELETE FROM public.job_queue WHERE job_type = 'burst'");
          instances.set(1);
          LockSupport.parkNanos(Duration.ofMillis(o.burstGapMs).toNanos());
        }
      } finally {
        producers.shutdownNow();
      }
    } finally {
      if (controller != null) {
        controller.destroy();
        if (!controller.waitFor(30, TimeUnit.SECONDS)) {
          controller.destroyForcibly();
        }
      }
      render.stop(0);
    }
    report.line("| measured | bursts | p50 ms | max ms | min ms |");
    report.line("|---|---:|---:|---:|---:|");
    if (!firstCallMs.isEmpty()) {
      Stats f = Stats.of(firstCallMs);
      report.format("| first NOTIFY → first scale call | %d | %.0f | %.0f | %.0f |", f.samples(), f.p50Ms(), f.maxMs(), f.minMs());
    }
    if (!finalCallMs.isEmpty()) {
      Stats f = Stats.of(finalCallMs);
      report.format("| first NOTIFY → scale call reaching %d | %d | %.0f | %.0f | %.0f |", target, f.samples(), f.p50Ms(), f.maxMs(),
          f.minMs());
    }
    report.line("");
    report.format("Bursts without any scale call within 30 s: %d. Scale calls in all: %d. Load before / after: %s / %s.",
        missed, calls.size(), loadBefore, Machine.loadAverage());
  }

  private static boolean listening(BenchServer.Db db) {
    return db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = '"
        + CONTROLLER_USER + "' AND query ILIKE 'LISTEN%'") > 0;
  }

  /** Enqueues {@code jobs} from 8 threads, one commit each; returns when the first one committed. */
  static long burst(HikariDataSource service, ExecutorService producers, int burst, int jobs) throws Exception {
    AtomicLong first = new AtomicLong(Long.MAX_VALUE);
    AtomicInteger next = new AtomicInteger();
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      futures.add(producers.submit(() -> {
        try (Connection c = service.getConnection();
            PreparedStatement ps = c.prepareStatement("SELECT public.enqueue_job('burst', '{}'::jsonb, ?)")) {
          int i;
          while ((i = next.getAndIncrement()) < jobs) {
            ps.setString(1, "burst-" + burst + "-" + i);
            ps.executeQuery().close();
            long now = System.nanoTime();
            first.accumulateAndGet(now, Math::min);
          }
        }
        return null;
      }));
    }
    for (Future<?> f : futures) {
      f.get(5, TimeUnit.MINUTES);
    }
    return first.get();
  }

  static HikariDataSource servicePool(BenchServer.Db db) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(db.jdbcUrl());
    hc.setUsername(QueuePilotSystem.SERVICE_USER);
    hc.setPassword(QueuePilotSystem.SERVICE_USER);
    hc.setMaximumPoolSize(8);
    hc.setMinimumIdle(8);
    hc.setPoolName("bench-burst");
    return new HikariDataSource(hc);
  }

  private static void handle(HttpExchange ex, List<ScaleCall> calls, AtomicInteger instances, AtomicLong gets)
      throws IOException {
    long at = System.nanoTime();
    String path = ex.getRequestURI().getPath();
    if (!"Bearer rnd_bench".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
      respond(ex, 401, "{\"message\":\"unauthorized\"}");
      return;
    }
    if (ex.getRequestMethod().equals("GET") && path.equals("/v1/services/" + SERVICE)) {
      gets.incrementAndGet();
      respond(ex, 200, ("{\"id\":\"%s\",\"name\":\"bench-workers\",\"type\":\"background_worker\","
          + "\"serviceDetails\":{\"numInstances\":%d,\"autoscaling\":{\"enabled\":false}}}").formatted(SERVICE, instances.get()));
    } else if (ex.getRequestMethod().equals("POST") && path.equals("/v1/services/" + SERVICE + "/scale")) {
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Matcher m = NUM.matcher(body);
      if (!m.find()) {
        respond(ex, 400, "{\"message\":\"numInstances is required\"}");
        return;
      }
      int n = Integer.parseInt(m.group(1));
      calls.add(new ScaleCall(at, n));
      instances.set(n);
      respond(ex, 202, "");
    } else {
      respond(ex, 404, "{\"message\":\"not found\"}");
    }
  }

  private static void respond(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    } else {
      ex.close();
    }
  }
}
