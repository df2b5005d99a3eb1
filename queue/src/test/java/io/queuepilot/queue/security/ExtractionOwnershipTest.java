package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 12 point 3, tried as an attacker holding a queue_worker login: no job but a shell
 * file's own current document_extraction job can write its clinical rows or change its status,
 * and a worker cannot attach a job to a patient or a file at all.
 */
class ExtractionOwnershipTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static SecurityWorld world;
  static DataSource worker;
  static DataSource attacker;

  static final String DOCUMENT = """
      {"text": "Discharge letter. Allergy: penicillin.", "page_count": 1, "processor": "openai", "model": "m"}""";
  static final String EVENTS = """
      [{"event_type": "allergy", "name": "Penicillin", "confidence": 0.95, "source_page": 1}]""";
  static final String FORGED_DOCUMENT = """
      {"text": "FORGED: no allergies", "page_count": 1, "processor": "attacker"}""";
  static final String FORGED_EVENTS = """
      [{"event_type": "condition", "name": "FORGED diagnosis"}]""";
  static final String FORGED_ERROR = "{\"message\": \"FORGED: patient asked to delete this\"}";

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
    worker = pg.loginAs("ownership_worker", "queue_worker");
    attacker = pg.loginAs("ownership_attacker", "queue_worker");
  }

  @AfterAll
  static void close() {
    world.close();
  }

  /** A file of the patient, extracted by its own job: document text, one event, completed. */
  private SecurityWorld.Registration completedFile(String key) throws SQLException {
    SecurityWorld.Registration r = world.register(world.owner, key);
    SecurityWorld.Claim claim = claim(worker, "document_extraction");
    assertThat(claim.jobId()).isEqualTo(r.jobId());
    assertThat(SecurityWorld.writeBack(worker, claim, DOCUMENT, EVENTS, 5)).isTrue();
    return r;
  }

  /** Everything about the file that an attack could change, as one comparable string. */
  private String fileState(UUID file) throws SQLException {
    return world.text("""
        SELECT f.status || '|' || coalesce(f.processing_error::text, '-') || '|' || f.processing_job_id
               || '|' || coalesce((SELECT string_agg(d.text || '@' || d.job_id, ',') FROM public.document_texts d
                                    WHERE d.shell_file_id = f.id), '-')
               || '|' || coalesce((SELECT string_agg(e.name || '@' || e.job_id, ',') FROM public.clinical_events e
                                    WHERE e.shell_file_id = f.id), '-')
               || '|' || (SELECT count(*) FROM public.audit_log a
                                  WHERE a.table_name <> 'job_queue' AND (a.correlation_id = f.id OR a.record_id = f.id::text))
          FROM public.shell_files f WHERE f.id = ?""", file);
  }

  private static SecurityWorld.Claim claim(DataSource ds, String jobType) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT id, lease_token FROM public.claim_next_job('attacker', ARRAY[?], NULL, 1)")) {
      ps.setString(1, jobType);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).as("a %s job to claim", jobType).isTrue();
        return new SecurityWorld.Claim(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class));
      }
    }
  }

  private static String failJob(DataSource ds, SecurityWorld.Claim claim) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.fail_job(?, ?, ?::jsonb, false)")) {
      ps.setObject(1, claim.jobId());
      ps.setObject(2, claim.leaseToken());
      ps.setString(3, FORGED_ERROR);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  /** A job naming the file that is not its current job, as one made before V054 or by service_role. */
  private UUID foreignJobNaming(SecurityWorld.Registration file, String jobType, String key) throws SQLException {
    return UUID.fromString(world.text("""
        SELECT public.enqueue_job(?, '{}'::jsonb, ?, 'ai', p_patient_id => ?, p_shell_file_id => ?)""",
        jobType, key, world.patient, file.shellFileId()));
  }

  @Test
  void aWorkerCannotEnqueueAJobNamingAPatientOrAFile() throws SQLException {
    SecurityWorld.Registration file = completedFile("own-enqueue");
    String before = fileState(file.shellFileId());
    long jobs = world.count("SELECT count(*) FROM public.jobs");
    String[] attempts = {
      "SELECT public.enqueue_job('document_extraction', '{}'::jsonb, 'attack-1', 'ai', p_patient_id => ?, p_shell_file_id => ?)",
      "SELECT public.enqueue_job('document_extraction', '{}'::jsonb, 'attack-2', 'ai', p_shell_file_id => ?)",
      "SELECT public.enqueue_job('document_extraction', '{}'::jsonb, 'attack-3', 'ai', p_patient_id => ?)",
    };
    Object[][] args = {{world.patient, file.shellFileId()}, {file.shellFileId()}, {world.patient}};
    for (int i = 0; i < attempts.length; i++) {
      String sql = attempts[i];
      Object[] a = args[i];
      assertThatThrownBy(() -> {
            try (Connection c = attacker.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
              for (int k = 0; k < a.length; k++) {
                ps.setObject(k + 1, a[k]);
              }
              ps.executeQuery().close();
            }
          })
          .as(sql)
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("role ownership_attacker may not attach a job to a patient or shell file")
          .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
    }
    assertThat(world.count("SELECT count(*) FROM public.jobs")).isEqualTo(jobs);
    assertThat(fileState(file.shellFileId())).isEqualTo(before);
    // Follow-up work without patient references still works for the worker.
    try (Connection c = attacker.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.enqueue_job('follow_up', '{}'::jsonb, 'plain-1')")) {
      ps.executeQuery().close();
    }
    assertThat(world.count("SELECT count(*) FROM public.job_queue WHERE idempotency_key = 'plain-1'")).isEqualTo(1);
  }

  @Test
  void aForeignJobNamingAnotherPatientsFileCanNeitherWriteBackNorFailTheFile() throws SQLException {
    SecurityWorld.Registration file = completedFile("own-writeback");
    UUID foreign = foreignJobNaming(file, "document_extraction", "foreign-writeback");
    String before = fileState(file.shellFileId());

    SecurityWorld.Claim claim = claim(attacker, "document_extraction");
    assertThat(claim.jobId()).isEqualTo(foreign);
    assertThat(fileState(file.shellFileId())).as("claiming a foreign job leaves the file alone").isEqualTo(before);

    assertThatThrownBy(() -> SecurityWorld.writeBack(attacker, claim, FORGED_DOCUMENT, FORGED_EVENTS, 1))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("is not the current extraction job of shell file " + file.shellFileId())
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
    assertThat(fileState(file.shellFileId())).isEqualTo(before);

    assertThat(failJob(attacker, claim)).isEqualTo("dead_letter");
    assertThat(fileState(file.shellFileId())).as("fail_job on a foreign job does not fail the file").isEqualTo(before);
    assertThat(world.text("SELECT status FROM public.shell_files WHERE id = ?", file.shellFileId())).isEqualTo("completed");
  }

  @Test
  void theStaleSweepAndTheOperatorDeadLetterOnAForeignJobLeaveTheFileAlone() throws SQLException {
    SecurityWorld.Registration file = completedFile("own-sweep");
    UUID swept = foreignJobNaming(file, "document_extraction", "foreign-sweep");
    world.execute("UPDATE public.job_queue SET max_attempts = 1 WHERE id = ?", swept);
    String before = fileState(file.shellFileId());

    SecurityWorld.Claim claim = claim(attacker, "document_extraction");
    assertThat(claim.jobId()).isEqualTo(swept);
    world.execute("UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE id = ?", swept);
    try (Connection c = attacker.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT * FROM public.requeue_stale_jobs('1 minute')")) {
      ps.executeQuery().close();
    }
    assertThat(world.text("SELECT status FROM public.jobs WHERE id = ?", swept)).isEqualTo("dead_letter");
    assertThat(fileState(file.shellFileId())).as("requeue_stale_jobs on a foreign job").isEqualTo(before);

    UUID operatorKilled = foreignJobNaming(file, "document_extraction", "foreign-operator");
    world.execute("SELECT public.dead_letter_job(?, ?::jsonb)", operatorKilled, FORGED_ERROR);
    world.execute("SELECT public.cancel_job(?)", swept);
    assertThat(fileState(file.shellFileId())).as("dead_letter_job / cancel_job on a foreign job").isEqualTo(before);
  }

  @Test
  void aJobOfAnotherTypeNamingTheFileIsRefusedAndCannotFailIt() throws SQLException {
    SecurityWorld.Registration file = completedFile("own-type");
    UUID other = foreignJobNaming(file, "thumbnail", "foreign-type");
    // Even a job that *is* recorded as the file's current job must be an extraction job.
    world.execute("UPDATE public.shell_files SET processing_job_id = ? WHERE id = ?", other, file.shellFileId());
    String before = fileState(file.shellFileId());

    SecurityWorld.Claim claim = claim(attacker, "thumbnail");
    assertThat(claim.jobId()).isEqualTo(other);
    assertThatThrownBy(() -> SecurityWorld.writeBack(attacker, claim, FORGED_DOCUMENT, FORGED_EVENTS, 1))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("is of type thumbnail, only document_extraction jobs write clinical rows")
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
    assertThat(failJob(attacker, claim)).isEqualTo("dead_letter");
    assertThat(fileState(file.shellFileId())).isEqualTo(before);
  }

  @Test
  void aStaleEarlierJobOfAReprocessedFileCanNeitherWriteNorChangeTheFile() throws SQLException {
    SecurityWorld.Registration file = world.register(world.owner, "own-stale");
    SecurityWorld.Claim first = claim(worker, "document_extraction");
    assertThat(first.jobId()).isEqualTo(file.jobId());
    assertThat(failJob(worker, first)).isEqualTo("dead_letter");
    assertThat(world.text("SELECT status FROM public.shell_files WHERE id = ?", file.shellFileId())).isEqualTo("failed");

    UUID second = UUID.fromString(world.text("SELECT public.reprocess_shell_file(?, 'ticket 42')", file.shellFileId()));
    assertThat(world.text("SELECT status || ':' || processing_job_id FROM public.shell_files WHERE id = ?",
        file.shellFileId())).isEqualTo("queued:" + second);
    // Someone brings the old job back (an operator retry): it must not race the current one.
    world.execute("UPDATE public.job_queue SET scheduled_at = now() + interval '1 hour' WHERE id = ?", second);
    world.execute("SELECT public.retry_job(?)", file.jobId());
    SecurityWorld.Claim stale = claim(attacker, "document_extraction");
    assertThat(stale.jobId()).isEqualTo(file.jobId());
    String before = fileState(file.shellFileId());
    assertThat(before).startsWith("queued|");

    assertThatThrownBy(() -> SecurityWorld.writeBack(attacker, stale, FORGED_DOCUMENT, FORGED_EVENTS, 1))
        .hasMessageContaining("is not the current extraction job of shell file " + file.shellFileId() + " (that is " + second + ")");
    assertThat(failJob(attacker, stale)).isEqualTo("dead_letter");
    assertThat(fileState(file.shellFileId())).isEqualTo(before);

    // The current job still does its work.
    world.execute("UPDATE public.job_queue SET scheduled_at = now() WHERE id = ?", second);
    SecurityWorld.Claim current = claim(worker, "document_extraction");
    assertThat(current.jobId()).isEqualTo(second);
    assertThat(SecurityWorld.writeBack(worker, current, DOCUMENT, EVENTS, 5)).isTrue();
    assertThat(world.text("SELECT status FROM public.shell_files WHERE id = ?", file.shellFileId())).isEqualTo("completed");
    assertThat(world.text("SELECT string_agg(name, ',') FROM public.clinical_events WHERE shell_file_id = ?",
        file.shellFileId())).isEqualTo("Penicillin");
  }

  @Test
  void reprocessingIsRefusedWhileTheCurrentJobIsStillRunning() throws SQLException {
    SecurityWorld.Registration file = world.register(world.owner, "own-busy");
    assertThatThrownBy(() -> world.execute("SELECT public.reprocess_shell_file(?, 'too early')", file.shellFileId()))
        .hasMessageContaining("is still being processed by job " + file.jobId() + " (pending)")
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("55000");
    world.execute("SELECT public.cancel_job(?)", file.jobId());
  }
}
