package io.queuepilot.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.patient.PatientUploads;
import io.queuepilot.queue.roles.LoginRoles;
import io.queuepilot.queue.sql.Jdbc;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.WorkerProcess;
import io.queuepilot.worker.WorkerMain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;

/**
 * Section 4: N clients (each its own user and patient) call register_shell_file at once the
 * way PostgREST would (role and JWT claims set per transaction) over one pool of 32
 * connections, while real worker processes (WorkerMain, openai processor, local store) wait on
 * LISTEN; the workers then extract every document through a fake OpenAI answering in 2 s under
 * the shared tokens-per-minute budget. Reports accepted calls, call latency, time to drain,
 * the most tokens OpenAI saw in any minute against the budget, and dead letters.
 */
final class Uploads {

  static final String AUTHENTICATOR = "qp_bench_authenticator";

  private Uploads() {}

  static void run(Report report, BenchServer server, Path logDir, BenchMain o) throws Exception {
    int clients = o.uploadClients;
    report.format("%,d concurrent register_shell_file calls (one virtual thread per client, each its own "
            + "authenticated user and patient, role + JWT claims set per transaction as PostgREST does) over "
            + "a pool of %d connections; %d worker processes (WorkerMain, concurrency %d, openai processor, local "
            + "store) already waiting on LISTEN; fake OpenAI answering in %d ms; shared budget %,d tokens/minute.",
        clients, o.uploadPool, o.uploadWorkers, o.uploadWorkerConcurrency, o.openAiLatencyMs, o.tokensPerMinute);
    report.line("");
    BenchServer.Db db = server.freshDatabase("up_queuepilot");
    QueuePilotSystem.migrate(db);
    Path storeDir = Files.createTempDirectory("qp-bench-store");
    int warmup = o.uploadWarmup;
    List<Client> everyone = setup(db, storeDir, clients + warmup);
    List<Client> people = everyone.subList(warmup, everyone.size());

    try (FakeOpenAi openai = new FakeOpenAi("sk-bench", 1).latency((int) o.openAiLatencyMs, (int) o.openAiLatencyMs)) {
      List<WorkerProcess> workers = new ArrayList<>();
      try {
        for (int i = 0; i < o.uploadWorkers; i++) {
          workers.add(startWorker(db, o, openai, storeDir, logDir, i));
        }
        awaitWorkersListening(db, o.uploadWorkers, Duration.ofMinutes(2));
        String loadBefore = Machine.loadAverage();

        // 1. The burst: every client calls at once.
        List<Double> latencies = new ArrayList<>();
        AtomicInteger accepted = new AtomicInteger();
        Map<String, Integer> errors = new ConcurrentHashMap<>();
        long burstStart;
        long burstEnd;
        Stats sequentialHeld;
        try (HikariDataSource pool = authenticatorPool(db, o.uploadPool);
            ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
          // A running API server is warm: a few sequential calls first (their documents are drained too).
          for (Client c : everyone.subList(0, warmup)) {
            if (!register(pool, c)) {
              throw new IllegalStateException("warm-up registration was not created: " + c);
            }
          }
          sequentialHeld = HELD_MS.isEmpty() ? null : Stats.of(List.copyOf(HELD_MS));
          WAIT_MS.clear();
          HELD_MS.clear();
          CountDownLatch go = new CountDownLatch(1);
          CountDownLatch done = new CountDownLatch(clients);
          for (Client c : people) {
            threads.submit(() -> {
              try {
                go.await();
                long t0 = System.nanoTime();
                try {
                  if (register(pool, c)) {
                    accepted.incrementAndGet();
                  } else {
                    errors.merge("not created", 1, Integer::sum);
                  }
                } catch (SQLException e) {
                  errors.merge(e.getSQLState() + " " + e.getMessage().lines().findFirst().orElse(""), 1, Integer::sum);
                }
                synchronized (latencies) {
                  latencies.add((System.nanoTime() - t0) / 1e6);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                done.countDown();
              }
              return null;
            });
          }
          burstStart = System.nanoTime();
          go.countDown();
          if (!done.await(5, TimeUnit.MINUTES)) {
            throw new IllegalStateException("register_shell_file calls did not finish within 5 minutes");
          }
          burstEnd = System.nanoTime();
        }
        Stats calls = Stats.of(latencies);
        report.line("| clients | accepted | errors | p50 ms | p99 ms | max ms | burst wall time s | load before |");
        report.line("|---:|---:|---|---:|---:|---:|---:|---|");
        report.format("| %,d | %,d | %s | %.1f | %.1f | %.1f | %.2f | %s |", clients, accepted.get(),
            errors.isEmpty() ? "none" : new TreeMap<>(errors).toString(), calls.p50Ms(), calls.p99Ms(), calls.maxMs(),
            (burstEnd - burstStart) / 1e9, loadBefore);
        report.line("");
        Stats wait = Stats.of(List.copyOf(WAIT_MS));
        Stats held = Stats.of(List.copyOf(HELD_MS));
        report.format("Where the call time went: waiting for one of the %d connections p50 %.1f ms / p99 %.1f ms; "
                + "holding it (3 round trips: claims, register_shell_file, commit) p50 %.1f ms / p99 %.1f ms during the burst, "
                + "p50 %.1f ms for the %d sequential warm-up calls.",
            o.uploadPool, wait.p50Ms(), wait.p99Ms(), held.p50Ms(), held.p99Ms(),
            sequentialHeld == null ? Double.NaN : sequentialHeld.p50Ms(), warmup);
        report.line("");

        // 2. The drain: every document extracted and written back.
        long deadline = System.nanoTime() + Duration.ofMinutes(o.drainTimeoutMinutes).toNanos();
        long completed;
        long expected = accepted.get() + warmup;
        while ((completed = db.queryLong("SELECT count(*) FROM public.shell_files WHERE status IN ('completed', 'failed')"))
            < expected) {
          if (System.nanoTime() > deadline) {
            break;
          }
          for (WorkerProcess w : workers) {
            if (!w.alive()) {
              throw new IllegalStateException("a worker process died (exit " + w.exitValue() + "); see " + logDir);
            }
          }
          LockSupport.parkNanos(100_000_000L);
        }
        double drainSeconds = (System.nanoTime() - burstStart) / 1e9;
        long ok = db.queryLong("SELECT count(*) FROM public.shell_files WHERE status = 'completed'");
        long failed = db.queryLong("SELECT count(*) FROM public.shell_files WHERE status = 'failed'");
        long dead = db.queryLong("SELECT count(*) FROM public.job_queue WHERE status = 'dead_letter'");
        long events = db.queryLong("SELECT count(*) FROM public.clinical_events");
        long maxWindow = openai.maxTokensInWindow(Duration.ofSeconds(60).toNanos());
        report.line("| documents completed | failed | dead-lettered jobs | clinical events written | time to drain s "
            + "(from the burst) | OpenAI requests | most tokens OpenAI counted in any 60 s | budget per minute | load after |");
        report.line("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        report.format("| %,d | %,d | %,d | %,d | %s | %,d | %,d | %,d | %s |", ok, failed, dead, events,
            completed >= expected ? "%.1f".formatted(drainSeconds) : "not drained after " + o.drainTimeoutMinutes + " min",
            openai.calls().size(), maxWindow, o.tokensPerMinute, Machine.loadAverage());
        report.line("");
        report.format("%d warm-up registrations were made one at a time before the burst; their documents are in the drain.",
            warmup);
        report.format("Budget %s: OpenAI's own limiter count (prompt tokens + max_completion_tokens per request) "
                + "peaked at %.0f%% of the budget.",
            maxWindow <= o.tokensPerMinute ? "never exceeded" : "EXCEEDED", 100.0 * maxWindow / o.tokensPerMinute);
      } finally {
        for (WorkerProcess w : workers) {
          w.terminate(); // SIGTERM: the worker drains and exits
        }
        for (WorkerProcess w : workers) {
          w.stop(Duration.ofSeconds(60));
        }
      }
    }
  }

  /** One uploader: a user owning one patient profile, whose document is already in the store. */
  record Client(UUID userId, UUID patientId, String storagePath, long sizeBytes, String idempotencyKey) {}

  static List<Client> setup(BenchServer.Db db, Path storeDir, int clients) throws IOException {
    byte[] pdf = pdf();
    List<Client> people = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      UUID user = UUID.randomUUID();
      UUID patient = UUID.randomUUID();
      String path = patient + "/lab-report-" + i + ".pdf";
      Path file = storeDir.resolve("medical-docs").resolve(path);
      Files.createDirectories(file.getParent());
      Files.write(file, pdf);
      people.add(new Client(user, patient, path, pdf.length, "upload-" + patient));
    }
    // each user signs up (auth.users on Supabase) and gets a patient profile, in one transaction
    new Jdbc(db.dataSource()).inTransaction("creating the benchmark's patients", tx -> {
      int i = 0;
      for (Client c : people) {
        PatientUploads.createPatient(tx, c.patientId(), c.userId(), "bench-" + c.userId() + "@example.test",
            "Bench patient " + i++);
      }
      return null;
    });
    new LoginRoles(db.dataSource()).ensure(AUTHENTICATOR, AUTHENTICATOR, "authenticated", false);
    return people;
  }

  /** A text PDF the worker's PDF path reads (no images, so one text request per document). */
  static byte[] pdf() throws IOException {
    try (PDDocument doc = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      PDPage page = new PDPage();
      doc.addPage(page);
      try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
        cs.beginText();
        cs.setFont(new PDType1Font(Standard14Fonts.FontName.HELVETICA), 11);
        cs.setLeading(14);
        cs.newLineAtOffset(50, 740);
        for (String line : List.of("Clinic lab report", "Patient seen for diabetes follow-up.",
            "Medications:", "- metformin 500 mg", "BP 128/82", "HbA1c 6.9 %")) {
          cs.showText(line);
          cs.newLine();
        }
        cs.endText();
      }
      doc.save(out);
      return out.toByteArray();
    }
  }

  private static HikariDataSource authenticatorPool(BenchServer.Db db, int size) {
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(db.jdbcUrl());
    hc.setUsername(AUTHENTICATOR);
    hc.setPassword(AUTHENTICATOR);
    hc.setMaximumPoolSize(size);
    hc.setMinimumIdle(size);
    hc.setConnectionTimeout(60_000);
    hc.setPoolName("bench-postgrest");
    HikariDataSource ds = new HikariDataSource(hc);
    // open every connection before the burst, as a running API server would have them
    List<Connection> warm = new ArrayList<>();
    try {
      for (int i = 0; i < size; i++) {
        warm.add(ds.getConnection());
      }
      for (Connection c : warm) {
        c.close();
      }
    } catch (SQLException e) {
      ds.close();
      throw new IllegalStateException("could not open the authenticator pool", e);
    }
    return ds;
  }

  /** Where a call's time went: waiting for a pool connection, then holding it (in the database). */
  static final List<Double> WAIT_MS = java.util.Collections.synchronizedList(new ArrayList<>());
  static final List<Double> HELD_MS = java.util.Collections.synchronizedList(new ArrayList<>());

  /** One API request: role and claims for this transaction, then the function, then commit. */
  static boolean register(HikariDataSource pool, Client c) throws SQLException {
    long asked = System.nanoTime();
    try (Connection conn = pool.getConnection()) {
      long got = System.nanoTime();
      WAIT_MS.add((got - asked) / 1e6);
      try {
        return registerOn(conn, c);
      } finally {
        HELD_MS.add((System.nanoTime() - got) / 1e6);
      }
    }
  }

  private static boolean registerOn(Connection conn, Client c) throws SQLException {
    PatientUploads.Registered r = Jdbc.transaction(conn, tx -> PatientUploads.register(tx,
        PatientUploads.Caller.patientUser(c.userId()), new PatientUploads.Upload(c.patientId(), "medical-docs",
            c.storagePath(), "lab-report.pdf", "application/pdf", c.sizeBytes(), c.idempotencyKey())));
    return r.created() && r.jobId() != null;
  }

  private static WorkerProcess startWorker(BenchServer.Db db, BenchMain o, FakeOpenAi openai, Path storeDir,
      Path logDir, int i) {
    Map<String, String> env = new HashMap<>();
    env.put("QUEUEPILOT_DB_URL", db.jdbcUrl());
    env.put("QUEUEPILOT_DB_USER", QueuePilotSystem.WORKER_USER);
    env.put("QUEUEPILOT_DB_PASSWORD", QueuePilotSystem.WORKER_USER);
    env.put("QUEUEPILOT_CONCURRENCY", String.valueOf(o.uploadWorkerConcurrency));
    env.put("QUEUEPILOT_PROCESSOR", "openai");
    env.put("OPENAI_API_KEY", "sk-bench");
    env.put("OPENAI_BASE_URL", openai.baseUrl());
    env.put("QUEUEPILOT_STORE", "local");
    env.put("QUEUEPILOT_STORE_DIR", storeDir.toString());
    env.put("QUEUEPILOT_TOKENS_PER_MINUTE", String.valueOf(o.tokensPerMinute));
    env.put("QUEUEPILOT_POLL_INTERVAL_SECONDS", "1");
    String id = "upload-worker-" + i;
    return WorkerProcess.start(WorkerProcess.Launch.main(System.getProperty("java.class.path"), WorkerMain.class.getName()),
        List.of("-Xmx1g"), id, QueuePilotSystem.WORKER_USER, logDir.resolve("tmp").resolve(id), logDir, env);
  }

  /** Waits until every worker holds its LISTEN connection (pg_stat_activity shows it). */
  private static void awaitWorkersListening(BenchServer.Db db, int workers, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (db.queryLong("SELECT count(DISTINCT pid) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND query ILIKE 'LISTEN%'") < workers) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("workers did not start listening within " + timeout);
      }
      LockSupport.parkNanos(200_000_000L);
    }
  }
}
