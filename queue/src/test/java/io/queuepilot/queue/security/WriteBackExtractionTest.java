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
 * write_back_extraction as a queue_worker login calls it: lease-guarded, one transaction,
 * exactly one copy of every clinical row and one audit event per row however it is retried,
 * nothing at all when the lease is lost; and the job → shell file status hand-off including
 * the dead-letter trigger.
 */
class WriteBackExtractionTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static SecurityWorld world;
  static DataSource worker;

  static final String DOCUMENT = """
      {"text": "Discharge letter. Allergy: penicillin. Metformin 500 mg. HbA1c 6.1 %",
       "page_count": 2, "processor": "openai", "model": "gpt-4.1-mini"}""";
  static final String EVENTS = """
      [{"event_type": "allergy", "name": "Penicillin", "confidence": 0.95, "source_page": 1},
       {"event_type": "medication", "name": "Metformin", "value": "500", "unit": "mg",
        "code": "860975", "code_system": "http://www.nlm.nih.gov/research/umls/rxnorm", "event_date": "2026-01-02"},
       {"event_type": "observation", "name": "HbA1c", "value": "6.1", "unit": "%",
        "code": "4548-4", "code_system": "http://loinc.org", "event_date": "2026-01-15", "confidence": 0.8, "source_page": 2}]""";
  /** The same three events, the third one invalid (confidence above 1): fails after two rows. */
  static final String EVENTS_THIRD_INVALID = EVENTS.replace("\"confidence\": 0.8", "\"confidence\": 1.5");

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
    worker = pg.loginAs("writeback_worker", "queue_worker");
  }

  @AfterAll
  static void close() {
    world.close();
  }

  /** Registers a file as the owner and claims its job as the worker. */
  private SecurityWorld.Registration registerAndClaim(String key, SecurityWorld.Claim[] claimOut) throws SQLException {
    SecurityWorld.Registration r = world.register(world.owner, key);
    // Only this test's job is pending for the extraction type: earlier tests finish theirs.
    SecurityWorld.Claim claim = SecurityWorld.claim(worker, "worker-" + key);
    assertThat(claim).isNotNull();
    assertThat(claim.jobId()).isEqualTo(r.jobId());
    claimOut[0] = claim;
    return r;
  }

  private long clinicalRows(UUID shellFile) throws SQLException {
    return world.count("SELECT count(*) FROM public.clinical_events WHERE shell_file_id = ?", shellFile);
  }

  private long documentRows(UUID shellFile) throws SQLException {
    return world.count("SELECT count(*) FROM public.document_texts WHERE shell_file_id = ?", shellFile);
  }

  private long clinicalAudits(UUID job, String operation) throws SQLException {
    return world.count("""
        SELECT count(*) FROM public.audit_log
         WHERE job_id = ? AND table_name IN ('clinical_events', 'document_texts') AND operation = ?""", job, operation);
  }

  private String jobStatus(UUID job) throws SQLException {
    return world.text("SELECT status FROM public.jobs WHERE id = ?", job);
  }

  private String fileStatus(UUID file) throws SQLException {
    return world.text("SELECT status FROM public.shell_files WHERE id = ?", file);
  }

  @Test
  void writesRowsAuditsEachOneMarksTheFileAndCompletesTheJob() throws SQLException {
    SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
    SecurityWorld.Registration r = registerAndClaim("wb-happy", claim);
    assertThat(fileStatus(r.shellFileId())).as("claiming moves the file to processing").isEqualTo("processing");

    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 321)).isTrue();

    assertThat(world.count("""
        SELECT count(*) FROM public.document_texts
         WHERE shell_file_id = ? AND patient_id = ? AND job_id = ? AND page_count = 2 AND processor = 'openai'
           AND model = 'gpt-4.1-mini' AND tokens_used = 321 AND text LIKE 'Discharge letter.%'""",
        r.shellFileId(), world.patient, r.jobId())).isEqualTo(1);
    assertThat(world.count("""
        SELECT count(*) FROM public.clinical_events
         WHERE shell_file_id = ? AND patient_id = ? AND job_id = ?""", r.shellFileId(), world.patient, r.jobId()))
        .isEqualTo(3);
    assertThat(world.text("""
        SELECT string_agg(event_type || ':' || name || ':' || coalesce(code, '-') || ':' || coalesce(value || unit, '-')
                          || ':' || coalesce(event_date::text, '-') || ':' || coalesce(confidence::text, '-')
                          || ':' || coalesce(source_page::text, '-'), ' | ' ORDER BY ordinal)
          FROM public.clinical_events WHERE shell_file_id = ?""", r.shellFileId()))
        .isEqualTo("allergy:Penicillin:-:-:-:0.950:1 | medication:Metformin:860975:500mg:2026-01-02:-:-"
            + " | observation:HbA1c:4548-4:6.1%:2026-01-15:0.800:2");
    // One audit event per clinical row, each naming the patient, the job and the correlation id.
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log a JOIN public.clinical_events e ON a.record_id = e.id::text
         WHERE a.table_name = 'clinical_events' AND a.operation = 'INSERT' AND a.patient_id = e.patient_id
           AND a.job_id = e.job_id AND a.correlation_id = ?""", r.shellFileId())).isEqualTo(3);
    assertThat(clinicalAudits(r.jobId(), "INSERT")).isEqualTo(4);
    assertThat(fileStatus(r.shellFileId())).isEqualTo("completed");
    assertThat(jobStatus(r.jobId())).isEqualTo("completed");
    assertThat(world.count("SELECT tokens_used FROM public.jobs WHERE id = ?", r.jobId())).isEqualTo(321);
  }

  @Test
  void aFailureBetweenRowsRollsEverythingBackAndTheRetryLeavesOneCopy() throws SQLException {
    SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
    SecurityWorld.Registration r = registerAndClaim("wb-midway", claim);

    assertThatThrownBy(() -> SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS_THIRD_INVALID, 10))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("p_events[2].confidence 1.5 is outside 0..1");
    // The first two events and the document had been inserted and audited before the failure.
    assertThat(clinicalRows(r.shellFileId())).isZero();
    assertThat(documentRows(r.shellFileId())).isZero();
    assertThat(clinicalAudits(r.jobId(), "INSERT")).isZero();
    assertThat(jobStatus(r.jobId())).isEqualTo("processing");
    assertThat(fileStatus(r.shellFileId())).isEqualTo("processing");

    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 10)).isTrue();
    assertThat(clinicalRows(r.shellFileId())).isEqualTo(3);
    assertThat(documentRows(r.shellFileId())).isEqualTo(1);
    assertThat(clinicalAudits(r.jobId(), "INSERT")).isEqualTo(4);
    assertThat(clinicalAudits(r.jobId(), "DELETE")).isZero();
  }

  @Test
  void aDatabaseErrorInjectedBetweenRowsByATriggerLeavesNothingAndTheRetryOneCopy() throws SQLException {
    // Test-only fault: the insert of the event at ordinal 1 fails while a row sits in the switch table.
    world.execute("""
        CREATE TABLE IF NOT EXISTS public.test_fault_switch (on_ordinal int PRIMARY KEY);
        CREATE OR REPLACE FUNCTION public.test_inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM public.test_fault_switch WHERE on_ordinal = NEW.ordinal) THEN
            RAISE EXCEPTION 'injected fault at ordinal %', NEW.ordinal USING ERRCODE = 'XX001';
          END IF;
          RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS test_inject_fault ON public.clinical_events;
        CREATE TRIGGER test_inject_fault BEFORE INSERT ON public.clinical_events
          FOR EACH ROW EXECUTE FUNCTION public.test_inject_fault();
        INSERT INTO public.test_fault_switch VALUES (1);""");
    try {
      SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
      SecurityWorld.Registration r = registerAndClaim("wb-trigger", claim);

      assertThatThrownBy(() -> SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 10))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("injected fault at ordinal 1");
      assertThat(clinicalRows(r.shellFileId())).isZero();
      assertThat(clinicalAudits(r.jobId(), "INSERT")).isZero();
      assertThat(jobStatus(r.jobId())).isEqualTo("processing");

      world.execute("DELETE FROM public.test_fault_switch");
      assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 10)).isTrue();
      assertThat(clinicalRows(r.shellFileId())).isEqualTo(3);
      assertThat(world.count("""
          SELECT count(*) FROM (SELECT record_id FROM public.audit_log
                                 WHERE job_id = ? AND table_name = 'clinical_events' AND operation = 'INSERT'
                                 GROUP BY record_id HAVING count(*) = 1) once""", r.jobId()))
          .as("exactly one audit event for each of the three rows").isEqualTo(3);
    } finally {
      world.execute("DROP TRIGGER IF EXISTS test_inject_fault ON public.clinical_events");
    }
  }

  @Test
  void aLostLeaseChangesNothing() throws SQLException {
    SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
    SecurityWorld.Registration r = registerAndClaim("wb-lost", claim);
    // An operator (or the stale-heartbeat sweep) takes the job away: the lease is fenced.
    world.execute("SELECT public.update_job_status(?, 'pending')", r.jobId());
    long auditsBefore = world.count("SELECT count(*) FROM public.audit_log");

    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 10)).isFalse();
    assertThat(SecurityWorld.writeBack(worker, new SecurityWorld.Claim(r.jobId(), UUID.randomUUID()), DOCUMENT, EVENTS, 10))
        .as("a made-up lease token").isFalse();

    assertThat(clinicalRows(r.shellFileId())).isZero();
    assertThat(documentRows(r.shellFileId())).isZero();
    assertThat(world.count("SELECT count(*) FROM public.audit_log")).isEqualTo(auditsBefore);
    assertThat(jobStatus(r.jobId())).isEqualTo("pending");
    assertThat(fileStatus(r.shellFileId())).isEqualTo("queued");

    // The next holder's write-back goes through; the old holder's stays refused.
    SecurityWorld.Claim second = SecurityWorld.claim(worker, "worker-second");
    assertThat(second.jobId()).isEqualTo(r.jobId());
    assertThat(second.leaseToken()).isNotEqualTo(claim[0].leaseToken());
    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 10)).isFalse();
    assertThat(SecurityWorld.writeBack(worker, second, DOCUMENT, EVENTS, 10)).isTrue();
    assertThat(clinicalRows(r.shellFileId())).isEqualTo(3);
  }

  @Test
  void aSecondWriteBackAfterCompletionIsRefusedAndChangesNothing() throws SQLException {
    SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
    SecurityWorld.Registration r = registerAndClaim("wb-twice", claim);
    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 10)).isTrue();
    long audits = world.count("SELECT count(*) FROM public.audit_log");
    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, "[]", 10)).isFalse();
    assertThat(clinicalRows(r.shellFileId())).isEqualTo(3);
    assertThat(world.count("SELECT count(*) FROM public.audit_log")).isEqualTo(audits);
  }

  @Test
  void reprocessingAFileReplacesItsRowsWithAuditedDeletes() throws SQLException {
    SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
    SecurityWorld.Registration r = registerAndClaim("wb-reprocess", claim);
    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, EVENTS, 10)).isTrue();

    // An operator re-processes the file: the new job becomes the file's current job.
    UUID rerun = UUID.fromString(world.text("SELECT public.reprocess_shell_file(?, 'better model')", r.shellFileId()));
    SecurityWorld.Claim rerunClaim = SecurityWorld.claim(worker, "worker-rerun");
    assertThat(rerunClaim.jobId()).isEqualTo(rerun);
    assertThat(SecurityWorld.writeBack(worker, rerunClaim, DOCUMENT,
        "[{\"event_type\": \"condition\", \"name\": \"Type 2 diabetes\", \"code\": \"E11\", \"code_system\": \"ICD-10\"}]",
        10)).isTrue();

    assertThat(world.text("SELECT string_agg(name, ',') FROM public.clinical_events WHERE shell_file_id = ?",
        r.shellFileId())).isEqualTo("Type 2 diabetes");
    assertThat(documentRows(r.shellFileId())).isEqualTo(1);
    assertThat(world.count("SELECT count(*) FROM public.clinical_events WHERE shell_file_id = ? AND job_id = ?",
        r.shellFileId(), rerun)).isEqualTo(1);
    assertThat(clinicalAudits(rerun, "DELETE")).as("3 events + 1 document replaced").isEqualTo(4);
    assertThat(clinicalAudits(rerun, "INSERT")).isEqualTo(2);
  }

  @Test
  void malformedDocumentsAreRefusedNamingTheField() throws SQLException {
    SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
    SecurityWorld.Registration r = registerAndClaim("wb-malformed", claim);
    String[][] cases = {
      {"{\"page_count\": 1, \"processor\": \"local\"}", EVENTS, "p_document.text must be a string"},
      {"{\"text\": \"x\"}", EVENTS, "p_document.processor must be a non-empty string"},
      {DOCUMENT, "{}", "p_events must be a JSON array"},
      {DOCUMENT, "[{\"event_type\": \"vibe\", \"name\": \"x\"}]", "p_events[0].event_type \"vibe\" is not one of"},
      {DOCUMENT, "[{\"event_type\": \"allergy\"}]", "p_events[0].name is required"},
      {DOCUMENT, "[{\"event_type\": \"allergy\", \"name\": \"x\", \"event_date\": \"15/01/2026\"}]",
          "p_events[0].event_date \"15/01/2026\" is not an ISO date"},
      {DOCUMENT, "[{\"event_type\": \"allergy\", \"name\": \"x\", \"event_date\": \"2026-02-30\"}]",
          "p_events[0].event_date \"2026-02-30\" is not a valid date"},
      {DOCUMENT, "[{\"event_type\": \"allergy\", \"name\": \"x\", \"source_page\": 0}]",
          "p_events[0].source_page 0 must be 1 or more"},
    };
    for (String[] c : cases) {
      assertThatThrownBy(() -> SecurityWorld.writeBack(worker, claim[0], c[0], c[1], 1))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining(c[2])
          .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("22023");
    }
    assertThat(clinicalRows(r.shellFileId())).isZero();
    assertThat(jobStatus(r.jobId())).isEqualTo("processing");
    // Leave nothing claimed behind for the next test.
    assertThat(SecurityWorld.writeBack(worker, claim[0], DOCUMENT, "[]", 1)).isTrue();
  }

  @Test
  void deadLetteringMarksTheFileFailedWithTheJobsError() throws SQLException {
    // 1. fail_job, not retryable
    SecurityWorld.Claim[] claim = new SecurityWorld.Claim[1];
    SecurityWorld.Registration viaFail = registerAndClaim("wb-dead-fail", claim);
    try (Connection c = worker.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.fail_job(?, ?, ?::jsonb, false)")) {
      ps.setObject(1, claim[0].jobId());
      ps.setObject(2, claim[0].leaseToken());
      ps.setString(3, "{\"kind\": \"permanent\", \"message\": \"unreadable PDF\"}");
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("dead_letter");
      }
    }
    assertThat(fileStatus(viaFail.shellFileId())).isEqualTo("failed");
    assertThat(world.text("SELECT processing_error ->> 'message' FROM public.shell_files WHERE id = ?",
        viaFail.shellFileId())).isEqualTo("unreadable PDF");
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log WHERE table_name = 'shell_files' AND record_id = ?
           AND reason = 'job dead-lettered' AND patient_id = ?""", viaFail.shellFileId().toString(), world.patient))
        .isEqualTo(1);

    // 2. dead_letter_job by an operator
    SecurityWorld.Registration viaOperator = world.register(world.owner, "wb-dead-operator");
    world.execute("SELECT public.dead_letter_job(?, '{\"message\": \"operator gave up\"}'::jsonb)", viaOperator.jobId());
    assertThat(fileStatus(viaOperator.shellFileId())).isEqualTo("failed");
    assertThat(world.text("SELECT processing_error ->> 'message' FROM public.shell_files WHERE id = ?",
        viaOperator.shellFileId())).isEqualTo("operator gave up");

    // 3. requeue_stale_jobs when the last attempt's worker vanished
    SecurityWorld.Registration viaSweep = world.register(world.owner, "wb-dead-sweep");
    world.execute("UPDATE public.job_queue SET max_attempts = 1 WHERE id = ?", viaSweep.jobId());
    SecurityWorld.Claim stale = SecurityWorld.claim(worker, "worker-that-dies");
    assertThat(stale.jobId()).isEqualTo(viaSweep.jobId());
    world.execute("UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE id = ?", viaSweep.jobId());
    world.execute("SELECT * FROM public.requeue_stale_jobs('1 minute')");
    assertThat(jobStatus(viaSweep.jobId())).isEqualTo("dead_letter");
    assertThat(fileStatus(viaSweep.shellFileId())).isEqualTo("failed");
    assertThat(world.text("SELECT processing_error::text FROM public.shell_files WHERE id = ?", viaSweep.shellFileId()))
        .isNotNull();

    // An operator retry puts the file back in the queue.
    world.execute("SELECT public.retry_job(?)", viaOperator.jobId());
    assertThat(fileStatus(viaOperator.shellFileId())).isEqualTo("queued");
    world.execute("SELECT public.cancel_job(?)", viaOperator.jobId());
    assertThat(fileStatus(viaOperator.shellFileId())).isEqualTo("cancelled");
  }

  @Test
  void workerAndControllerLoginsCannotReachPatientTablesDirectly() throws SQLException {
    DataSource controller = pg.loginAs("writeback_controller", "queue_controller");
    for (DataSource ds : new DataSource[] {worker, controller}) {
      for (String table : new String[] {"user_profiles", "profile_access_permissions", "shell_files",
          "document_texts", "clinical_events", "upload_settings", "job_queue", "audit_log"}) {
        try (Connection c = ds.getConnection();
            PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM public." + table)) {
          assertThatThrownBy(ps::executeQuery).as(table)
              .isInstanceOf(SQLException.class)
              .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
        }
      }
    }
    try (Connection c = controller.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT public.write_back_extraction(?, ?, '{}'::jsonb, '[]'::jsonb)")) {
      ps.setObject(1, UUID.randomUUID());
      ps.setObject(2, UUID.randomUUID());
      assertThatThrownBy(ps::executeQuery).as("write_back_extraction is for queue_worker only")
          .isInstanceOf(SQLException.class)
          .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
    }
  }
}
