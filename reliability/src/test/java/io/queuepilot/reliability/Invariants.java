package io.queuepilot.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import javax.sql.DataSource;

/**
 * The invariants every scenario must keep, checked from the database (as superuser) and the
 * workers' temp directories after the run:
 * <ol>
 *   <li>every job ends completed or dead_letter, a dead letter with a reason (and its shell
 *       file failed with that error);</li>
 *   <li>no clinical row exists twice and no shell file was written back twice;</li>
 *   <li>no write-back landed after its lease was lost: the one write-back of a job was made by
 *       the database login of the worker whose lease completed it, inside that lease;</li>
 *   <li>every clinical row has its audit event;</li>
 *   <li>no file is left in the workers' temp directories;</li>
 *   <li>queue_stats agrees with the table (same snapshot).</li>
 * </ol>
 */
public final class Invariants {

  private Invariants() {}

  /** What the checker found; {@link #violations()} empty means every invariant holds. */
  public record Result(
      long jobs,
      long completed,
      long deadLettered,
      Map<String, Long> deadLetterReasons,
      long duplicates,
      long lost,
      long lateWrites,
      long missingAudit,
      long tempFilesLeft,
      long unclaimedPending,
      List<String> violations) {

    public boolean holds() {
      return violations.isEmpty();
    }

    /** Throws an AssertionError listing every violated invariant. */
    public Result assertHolds() {
      if (!holds()) {
        throw new AssertionError("invariants violated:\n  - " + String.join("\n  - ", violations) + "\n" + this);
      }
      return this;
    }

    public String deadLetterSummary() {
      if (deadLetterReasons.isEmpty()) {
        return "—";
      }
      StringBuilder sb = new StringBuilder();
      deadLetterReasons.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(" ×").append(v));
      return sb.toString();
    }
  }

  /**
   * @param loginOfWorker worker id → the database login that process used
   * @param unclaimedJobTypes job types no worker claims (they must stay pending, untouched)
   */
  public static Result check(DataSource superuser, Map<String, String> loginOfWorker,
      List<Path> tempDirs, List<String> unclaimedJobTypes, Duration heartbeatTimeout) {
    List<String> v = new ArrayList<>();
    try (Connection c = superuser.getConnection()) {
      c.setAutoCommit(false);
      c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      String[] unclaimed = unclaimedJobTypes.toArray(String[]::new);

      long jobs = count(c, "SELECT count(*) FROM public.jobs WHERE NOT (job_type = ANY (?))", unclaimed);
      long completed = count(c, "SELECT count(*) FROM public.jobs WHERE status = 'completed' AND NOT (job_type = ANY (?))", unclaimed);
      long dead = count(c, "SELECT count(*) FROM public.jobs WHERE status = 'dead_letter' AND NOT (job_type = ANY (?))", unclaimed);

      // 1. terminal states, reasons
      List<String> open = list(c, "SELECT id || ' ' || status || ' attempt ' || attempt || ' worker ' || coalesce(worker_id, '-') "
          + "FROM public.jobs WHERE status NOT IN ('completed', 'dead_letter') AND NOT (job_type = ANY (?))", unclaimed);
      if (!open.isEmpty()) {
        v.add(open.size() + " job(s) not completed or dead-lettered: " + head(open));
      }
      List<String> noReason = list(c, "SELECT id::text FROM public.jobs WHERE status = 'dead_letter' AND ("
          + "error IS NULL OR coalesce(error ->> 'code', error ->> 'reason', error ->> 'message') IS NULL) AND NOT (job_type = ANY (?))", unclaimed);
      if (!noReason.isEmpty()) {
        v.add(noReason.size() + " dead-lettered job(s) without a reason: " + head(noReason));
      }
      List<String> fileNotFailed = list(c, "SELECT j.id::text FROM public.jobs j JOIN public.shell_files f ON f.id = j.shell_file_id "
          + "WHERE j.status = 'dead_letter' AND (f.status <> 'failed' OR f.processing_error IS NULL) AND NOT (j.job_type = ANY (?))", unclaimed);
      if (!fileNotFailed.isEmpty()) {
        v.add(fileNotFailed.size() + " dead-lettered job(s) whose shell file is not 'failed' with the error: " + head(fileNotFailed));
      }
      Map<String, Long> reasons = new TreeMap<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT coalesce(error ->> 'code', error ->> 'reason', 'unknown') AS r, count(*) FROM public.jobs "
              + "WHERE status = 'dead_letter' AND NOT (job_type = ANY (?)) GROUP BY 1 ORDER BY 1")) {
        ps.setArray(1, c.createArrayOf("text", unclaimed));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            reasons.put(rs.getString(1), rs.getLong(2));
          }
        }
      }

      // lost: registered uploads without a job, completed jobs without their output
      List<String> noJob = list(c, "SELECT f.id::text FROM public.shell_files f LEFT JOIN public.jobs j ON j.id = f.processing_job_id "
          + "WHERE j.id IS NULL AND ?::text[] IS NOT NULL", unclaimed);
      List<String> noOutput = list(c, "SELECT j.id::text FROM public.jobs j "
          + "LEFT JOIN public.document_texts d ON d.shell_file_id = j.shell_file_id AND d.job_id = j.id "
          + "LEFT JOIN public.shell_files f ON f.id = j.shell_file_id "
          + "WHERE j.status = 'completed' AND j.job_type = 'document_extraction' AND (d.id IS NULL OR f.status <> 'completed' "
          + "OR (SELECT count(*) FROM public.clinical_events e WHERE e.shell_file_id = j.shell_file_id AND e.job_id = j.id) "
          + "   <> coalesce((j.result ->> 'clinical_events')::int, -1)) AND NOT (j.job_type = ANY (?))", unclaimed);
      if (!noJob.isEmpty()) {
        v.add(noJob.size() + " shell file(s) without a job: " + head(noJob));
      }
      if (!noOutput.isEmpty()) {
        v.add(noOutput.size() + " completed job(s) without exactly their written-back rows: " + head(noOutput));
      }
      long lost = open.size() + noJob.size() + noOutput.size();

      // 2. nothing twice
      List<String> twice = list(c, "SELECT (new_values ->> 'shell_file_id') || ' x' || count(*) FROM public.audit_log "
          + "WHERE table_name = 'document_texts' AND operation = 'INSERT' AND ?::text[] IS NOT NULL "
          + "GROUP BY new_values ->> 'shell_file_id' HAVING count(*) > 1", unclaimed);
      List<String> dupRows = list(c, "SELECT shell_file_id || ' ' || event_type || ' ' || name FROM public.clinical_events "
          + "WHERE ?::text[] IS NOT NULL GROUP BY shell_file_id, event_type, name, value, unit, event_date HAVING count(*) > 1", unclaimed);
      List<String> dupTexts = list(c, "SELECT shell_file_id::text FROM public.document_texts WHERE ?::text[] IS NOT NULL "
          + "GROUP BY shell_file_id HAVING count(*) > 1", unclaimed);
      if (!twice.isEmpty()) {
        v.add(twice.size() + " shell file(s) written back more than once: " + head(twice));
      }
      if (!dupRows.isEmpty()) {
        v.add(dupRows.size() + " clinical event(s) stored twice: " + head(dupRows));
      }
      if (!dupTexts.isEmpty()) {
        v.add(dupTexts.size() + " document text(s) stored twice: " + head(dupTexts));
      }
      long duplicates = twice.size() + dupRows.size() + dupTexts.size();

      // 3. no write-back outside its lease: the writer is the completing lease holder's login,
      //    and a dead-lettered job has no write-back at all
      long lateWrites = 0;
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT j.id, j.status, j.worker_id, a.db_user, a.occurred_at <= j.completed_at AS in_lease "
              + "FROM public.audit_log a JOIN public.jobs j ON j.id = a.job_id "
              + "WHERE a.table_name = 'document_texts' AND a.operation = 'INSERT'");
          ResultSet rs = ps.executeQuery()) {
        List<String> bad = new ArrayList<>();
        while (rs.next()) {
          String status = rs.getString(2);
          String worker = rs.getString(3);
          String dbUser = rs.getString(4);
          String expected = loginOfWorker.get(worker);
          if (!"completed".equals(status) || expected == null || !expected.equals(dbUser) || !rs.getBoolean(5)) {
            bad.add(rs.getObject(1) + " status " + status + " holder " + worker + " (" + expected + ") written by " + dbUser);
          }
        }
        lateWrites = bad.size();
        if (!bad.isEmpty()) {
          v.add(bad.size() + " write-back(s) outside the completing lease: " + head(bad));
        }
      }

      // 4. audit for every clinical row
      long missingEvents = count(c, "SELECT count(*) FROM public.clinical_events e WHERE NOT EXISTS (SELECT 1 FROM public.audit_log a "
          + "WHERE a.table_name = 'clinical_events' AND a.record_id = e.id::text AND a.operation = 'INSERT' AND a.job_id = e.job_id "
          + "AND a.patient_id = e.patient_id) AND ?::text[] IS NOT NULL", unclaimed);
      long missingTexts = count(c, "SELECT count(*) FROM public.document_texts d WHERE NOT EXISTS (SELECT 1 FROM public.audit_log a "
          + "WHERE a.table_name = 'document_texts' AND a.record_id = d.id::text AND a.operation = 'INSERT' AND a.job_id = d.job_id "
          + "AND a.patient_id = d.patient_id) AND ?::text[] IS NOT NULL", unclaimed);
      if (missingEvents + missingTexts > 0) {
        v.add((missingEvents + missingTexts) + " clinical row(s) without their audit event");
      }

      // 6. queue_stats against the table, same snapshot (now() is the transaction's start)
      String timeout = heartbeatTimeout.toSeconds() + " seconds";
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT s.ready, s.scheduled, s.processing, s.stale, s.dead_letter, s.completed_recently, "
              + "(SELECT count(*) FROM public.jobs WHERE status = 'pending' AND scheduled_at <= now()), "
              + "(SELECT count(*) FROM public.jobs WHERE status = 'pending' AND scheduled_at > now()), "
              + "(SELECT count(*) FROM public.jobs WHERE status = 'processing'), "
              + "(SELECT count(*) FROM public.jobs WHERE status = 'processing' AND heartbeat_at < now() - ?::interval), "
              + "(SELECT count(*) FROM public.jobs WHERE status = 'dead_letter'), "
              + "(SELECT count(*) FROM public.jobs WHERE status = 'completed' AND completed_at >= now() - interval '5 minutes') "
              + "FROM public.queue_stats(NULL, NULL, ?::interval) s")) {
        ps.setString(1, timeout);
        ps.setString(2, timeout);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          String[] names = {"ready", "scheduled", "processing", "stale", "dead_letter", "completed_recently"};
          for (int i = 0; i < names.length; i++) {
            long stat = rs.getLong(1 + i);
            long table = rs.getLong(7 + i);
            if (stat != table) {
              v.add("queue_stats." + names[i] + " = " + stat + " but the table has " + table);
            }
          }
        }
      }

      // unclaimed types stay pending and untouched (never claimed, never lost)
      long unclaimedPending = 0;
      if (unclaimed.length > 0) {
        long touched = count(c, "SELECT count(*) FROM public.jobs WHERE job_type = ANY (?) AND (status <> 'pending' OR attempt <> 0)",
            unclaimed);
        unclaimedPending = count(c, "SELECT count(*) FROM public.jobs WHERE job_type = ANY (?) AND status = 'pending'", unclaimed);
        if (touched > 0) {
          v.add(touched + " job(s) of types no worker handles were claimed or changed");
        }
      }
      c.rollback();

      // 5. temp directories empty
      long tempFiles = 0;
      for (Path dir : tempDirs) {
        if (Files.isDirectory(dir)) {
          try (Stream<Path> s = Files.walk(dir)) {
            List<Path> left = s.filter(Files::isRegularFile).toList();
            tempFiles += left.size();
            if (!left.isEmpty()) {
              v.add(left.size() + " file(s) left in temp directory " + dir + ": " + head(left.stream().map(Path::toString).toList()));
            }
          }
        }
      }
      return new Result(jobs, completed, dead, reasons, duplicates, lost, lateWrites, missingEvents + missingTexts,
          tempFiles, unclaimedPending, List.copyOf(v));
    } catch (SQLException e) {
      throw new IllegalStateException("invariant check failed to run: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String head(List<String> items) {
    return items.size() <= 5 ? items.toString() : items.subList(0, 5) + " …";
  }

  private static long count(Connection c, String sql, String[] arg) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", arg));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static List<String> list(Connection c, String sql, String[] arg) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("text", arg));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

}
