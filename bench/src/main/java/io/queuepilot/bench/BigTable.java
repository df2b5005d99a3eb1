package io.queuepilot.bench;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Section 3: QueuePilot's claim cost with a big table (completed, future-scheduled and
 * dead-lettered rows already present) as a ratio of the empty-table throughput, the table and
 * index sizes after the run, and what purge_finished_jobs brings them back to.
 */
final class BigTable {

  private static final String CLAIM_QUERY =
      """
      EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
      SELECT c.id FROM public.job_queue AS c
       WHERE c.status = 'pending' AND c.scheduled_at <= now()
         AND c.job_type = ANY (ARRAY['noop']) AND (NULL::text[] IS NULL)
       ORDER BY c.priority, c.scheduled_at, c.created_at
       LIMIT 20
       FOR UPDATE SKIP LOCKED
      """;

  private BigTable() {}

  static void run(Report report, BenchServer server, Path logDir, BenchMain options) throws Exception {
    WorkerSpec spec = options.spec();
    report.format("QueuePilot burn-down of %,d no-op jobs (%d processes x %d, pool %d): empty table vs. a table "
            + "already holding %,d completed, %,d future-scheduled and %,d dead-lettered rows.",
        options.jobs, spec.processes(), spec.concurrency(), spec.pool(), options.bigCompleted, options.bigScheduled, options.bigDead);
    report.line("");
    report.line("| mode | empty table jobs/s | big table jobs/s | ratio | CPU s per 1,000 jobs, workers / PostgreSQL: empty, big | load before / after (big) |");
    report.line("|---|---:|---:|---:|---|---|");
    QueuePilotSystem system = new QueuePilotSystem(logDir);
    BenchServer.Db big = null;
    String plan = "";
    for (boolean batching : options.batchingModes()) {
      WorkerSpec s = spec.withBatching(batching);
      String mode = BenchMain.mode(system, s);

      BenchServer.Db empty = server.freshDatabase("bt_empty_" + (batching ? "batched" : "single"));
      system.setup(empty, options.jobs);
      empty.execute("VACUUM ANALYZE");
      BurnDown.Result e = BurnDown.run(system, mode, empty, s, options.jobs, Duration.ofMinutes(20));

      big = server.freshDatabase("bt_big_" + (batching ? "batched" : "single"));
      QueuePilotSystem.migrate(big);
      fill(big, options);
      QueuePilotSystem.insertJobs(big, "noop", options.jobs);
      big.execute("VACUUM ANALYZE");
      plan = explain(big);
      BurnDown.Result b = BurnDown.run(system, mode, big, s, options.jobs, Duration.ofMinutes(20));
      report.format("| %s | %,.0f | %,.0f | %.2f | %s, %s | %s / %s |",
          mode, e.jobsPerSecond(), b.jobsPerSecond(), b.jobsPerSecond() / e.jobsPerSecond(), e.cpuPerThousand(),
          b.cpuPerThousand(), b.loadBefore(), b.loadAfter());
    }
    report.line("");
    report.line("EXPLAIN ANALYZE of the claim's inner query (batch 20) on the big table before the last run:");
    report.line("```");
    report.line(plan);
    report.line("```");
    report.line("");
    retention(report, big);
  }

  /** Rows that are not work: completed a month ago (in job_history since V081), scheduled for tomorrow, dead-lettered. */
  static void fill(BenchServer.Db db, BenchMain options) {
    int chunk = 200_000;
    for (int from = 1; from <= options.bigCompleted; from += chunk) {
      int to = Math.min(options.bigCompleted, from + chunk - 1);
      db.execute(
          """
          INSERT INTO public.job_history (id, job_type, job_lane, payload, status, priority, scheduled_at,
                                          idempotency_key, attempt, max_attempts, worker_id, error_history,
                                          correlation_id, created_at, updated_at, started_at, completed_at,
                                          result, finished_at)
          SELECT gen_random_uuid(), 'noop', 'default', jsonb_build_object('id', i), 'completed', 5,
                 now() - interval '30 days' - i * interval '1 second', 'done-' || i, 1, 5, 'old-worker', '[]',
                 gen_random_uuid(),
                 now() - interval '30 days' - i * interval '1 second', now() - interval '30 days' - i * interval '1 second',
                 now() - interval '30 days' - i * interval '1 second', now() - interval '30 days' - i * interval '1 second',
                 '{"ok": true}'::jsonb, now() - interval '30 days' - i * interval '1 second'
            FROM generate_series(%d, %d) AS i
          """.formatted(from, to));
    }
    db.execute(
        """
        SELECT count(public.enqueue_job('noop', jsonb_build_object('id', i), 'later-' || i, 'default', 5,
                                        now() + interval '1 day'))
          FROM generate_series(1, %d) AS i
        """.formatted(options.bigScheduled),
        """
        INSERT INTO public.job_queue (job_type, payload, status, idempotency_key, attempt, max_attempts,
                                      created_at, updated_at, dead_letter_at, error)
        SELECT 'noop', jsonb_build_object('id', i), 'dead_letter', 'dead-' || i, 5, 5,
               now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
               '{"message": "permanent failure"}'::jsonb
          FROM generate_series(1, %d) AS i
        """.formatted(options.bigDead));
  }

  static String explain(BenchServer.Db db) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      StringBuilder plan = new StringBuilder();
      try (ResultSet rs = s.executeQuery(CLAIM_QUERY)) {
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
      }
      c.rollback();
      return plan.toString().stripTrailing();
    }
  }

  static String sizes(BenchServer.Db db) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            """
            SELECT (SELECT count(*) FROM public.job_queue),
                   pg_size_pretty(pg_table_size('public.job_queue')),
                   pg_size_pretty(pg_indexes_size('public.job_queue')),
                   pg_size_pretty(pg_total_relation_size('public.job_queue'))
            """)) {
      rs.next();
      return "| %,d | %s | %s | %s |".formatted(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4));
    }
  }

  /**
   * Sizes after the run, then purge_finished_jobs in batches of 5,000 (older than 7 days) while
   * a prober enqueues, claims and completes one job at a time to show the claims are not
   * blocked; then sizes after plain VACUUM (what autovacuum does) and after VACUUM FULL.
   */
  static void retention(Report report, BenchServer.Db db) throws Exception {
    report.line("Table and index sizes of job_queue (big-table database, batched run):");
    report.line("");
    report.line("| when | rows | table (heap+toast) | indexes | total |");
    report.line("|---|---:|---:|---:|---:|");
    report.line("| after the run " + sizes(db));

    AtomicBoolean purging = new AtomicBoolean(true);
    List<Double> probeMs = new ArrayList<>();
    AtomicLong probeFailures = new AtomicLong();
    Thread prober = Thread.ofPlatform().name("claim-prober").start(() -> probe(db, purging, probeMs, probeFailures));
    long deleted = 0;
    int calls = 0;
    long t0 = System.nanoTime();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      c.setAutoCommit(true);
      while (true) {
        int n;
        try (ResultSet rs = s.executeQuery("SELECT public.purge_finished_jobs('7 days', 5000, '1 day')")) {
          rs.next();
          n = rs.getInt(1);
        }
        deleted += n;
        calls++;
        if (n < 5000) {
          break;
        }
      }
    } finally {
      purging.set(false);
      prober.join();
    }
    double purgeSeconds = (System.nanoTime() - t0) / 1e9;
    report.line("| after purge_finished_jobs " + sizes(db));
    db.execute("VACUUM public.job_queue");
    report.line("| after plain VACUUM " + sizes(db));
    db.execute("VACUUM FULL public.job_queue");
    report.line("| after VACUUM FULL (exclusive lock: maintenance window or pg_repack) " + sizes(db));
    report.line("");
    Stats probe = probeMs.isEmpty() ? null : Stats.of(probeMs);
    report.format("purge_finished_jobs('7 days', 5000, '1 day'): %,d rows deleted in %d calls, %.1f s. "
            + "Meanwhile a prober ran enqueue → claim → complete %s; %d probe failures.",
        deleted, calls, purgeSeconds,
        probe == null ? "(no probe finished)" : "%d times: p50 %.2f ms, p99 %.2f ms, max %.2f ms".formatted(
            probe.samples(), probe.p50Ms(), probe.p99Ms(), probe.maxMs()),
        probeFailures.get());
  }

  private static void probe(BenchServer.Db db, AtomicBoolean running, List<Double> samplesMs, AtomicLong failures) {
    int i = 0;
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      c.setAutoCommit(true);
      s.execute("SET lock_timeout = '5s'");
      while (running.get()) {
        long t0 = System.nanoTime();
        try {
          s.execute("SELECT public.enqueue_job('probe', '{}'::jsonb, 'probe-" + (i++) + "-' || gen_random_uuid())");
          try (ResultSet rs = s.executeQuery("SELECT id, lease_token FROM public.claim_next_job('prober', ARRAY['probe'], NULL, 1)")) {
            if (!rs.next()) {
              failures.incrementAndGet();
              continue;
            }
            String id = rs.getString(1);
            String lease = rs.getString(2);
            s.execute("SELECT public.complete_job('" + id + "', '" + lease + "')");
          }
          synchronized (samplesMs) {
            samplesMs.add((System.nanoTime() - t0) / 1e6);
          }
        } catch (SQLException e) {
          failures.incrementAndGet();
          System.err.println("probe: " + e.getMessage());
        }
        LockSupport.parkNanos(20_000_000L);
      }
    } catch (SQLException e) {
      failures.incrementAndGet();
      System.err.println("probe connection: " + e.getMessage());
    }
  }
}
