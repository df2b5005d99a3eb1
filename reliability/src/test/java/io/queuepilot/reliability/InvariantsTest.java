package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.patient.PatientUploads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checker can fail: a clean run passes, and each planted violation (an open job, a second
 * write-back, a write-back by another login than the lease holder's, a dead letter without a
 * reason, a temp file) is reported. Real PostgreSQL, real functions.
 */
class InvariantsTest {

  static PgServer pg;
  static DataSource su;
  static JobQueue workerQueue;
  static final Duration TIMEOUT = Duration.ofSeconds(60);

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    pg = PgServer.start(dir.resolve("pg"));
    su = pg.superuser();
    Migrations.migrate(su);
    exec("CREATE ROLE inv_w1 LOGIN PASSWORD 'inv_w1'; GRANT queue_worker TO inv_w1;"
        + "CREATE ROLE inv_w2 LOGIN PASSWORD 'inv_w2'; GRANT queue_worker TO inv_w2;");
    workerQueue = new PostgresJobQueue(pg.dataSource("inv_w1", "inv_w1"));
  }

  @AfterAll
  static void stop() {
    pg.close();
  }

  static void exec(String sql) throws Exception {
    try (Connection c = su.getConnection(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** Registers an upload and processes it as worker w1 through write_back_extraction; returns the job id. */
  static UUID processedUpload(String name) throws Exception {
    UUID patient;
    try (Connection c = su.getConnection(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("INSERT INTO public.user_profiles (account_owner_id, display_name) "
            + "VALUES (gen_random_uuid(), 'p') RETURNING id")) {
      rs.next();
      patient = (UUID) rs.getObject(1);
    }
    new PatientUploads(su).register(PatientUploads.Caller.uploadApi(), new PatientUploads.Upload(patient, "medical-docs",
        patient + "/" + name, name, "text/plain", 10, "k:" + name));
    JobQueue.ClaimedJob job = workerQueue.claim("worker-1", List.of("document_extraction"), List.of(), 1).get(0);
    try (Connection c = pg.dataSource("inv_w1", "inv_w1").getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.write_back_extraction(?, ?, ?::jsonb, ?::jsonb)")) {
      ps.setObject(1, job.id());
      ps.setObject(2, job.leaseToken());
      ps.setString(3, "{\"text\":\"Medications: Metformin 500 mg\",\"page_count\":1,\"processor\":\"local\",\"model\":null}");
      ps.setString(4, "[{\"event_type\":\"medication\",\"name\":\"Metformin\",\"value\":\"500\",\"unit\":\"mg\",\"confidence\":0.9}]");
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getBoolean(1)).isTrue();
      }
    }
    return job.id();
  }

  static Invariants.Result check(Map<String, String> logins, List<Path> temp) {
    return Invariants.check(su, logins, temp, List.of(), TIMEOUT);
  }

  @Test
  void cleanRunHoldsAndPlantedViolationsAreReported(@TempDir Path temp) throws Exception {
    UUID job = processedUpload("a.txt");
    Map<String, String> logins = Map.of("worker-1", "inv_w1");
    Invariants.Result clean = check(logins, List.of(temp));
    assertThat(clean.violations()).isEmpty();
    assertThat(clean.completed()).isEqualTo(1);

    // the write-back made by another login than the completing lease holder's
    assertThat(check(Map.of("worker-1", "inv_w2"), List.of(temp)).violations())
        .anyMatch(v -> v.contains("outside the completing lease"));

    // a file left in a worker's temp directory
    Files.writeString(temp.resolve("qp-doc-leftover.tmp"), "x");
    Invariants.Result withTemp = check(logins, List.of(temp));
    assertThat(withTemp.tempFilesLeft()).isEqualTo(1);
    assertThat(withTemp.violations()).anyMatch(v -> v.contains("left in temp directory"));
    Files.delete(temp.resolve("qp-doc-leftover.tmp"));

    // a job that never ended: lost
    try (Connection c = su.getConnection(); Statement s = c.createStatement()) {
      s.execute("SELECT public.enqueue_job('document_extraction', '{}'::jsonb, 'open-one')");
    }
    Invariants.Result open = check(logins, List.of(temp));
    assertThat(open.lost()).isEqualTo(1);
    assertThat(open.violations()).anyMatch(v -> v.contains("not completed or dead-lettered"));
    exec("UPDATE public.job_queue SET status = 'dead_letter', dead_letter_at = now(), error = '{}'::jsonb "
        + "WHERE idempotency_key = 'open-one'");
    assertThat(check(logins, List.of(temp)).violations()).anyMatch(v -> v.contains("without a reason"));
    exec("UPDATE public.job_queue SET error = '{\"code\":\"planted\"}'::jsonb WHERE idempotency_key = 'open-one'");
    assertThat(check(logins, List.of(temp)).violations()).isEmpty();

    // a second write-back of the same shell file (as a late writer would leave it)
    exec("SELECT public.log_audit_event('document_texts', gen_random_uuid()::text, 'INSERT', NULL, "
        + "jsonb_build_object('shell_file_id', (SELECT shell_file_id FROM public.jobs WHERE id = '" + job + "')), "
        + "'write_back_extraction', '" + job + "')");
    Invariants.Result twice = check(logins, List.of(temp));
    assertThat(twice.duplicates()).isEqualTo(1);
    assertThat(twice.violations()).anyMatch(v -> v.contains("written back more than once"));
  }
}
