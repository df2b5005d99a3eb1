package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 12 point 4: {@code erase_patient_data} removes a patient's PHI from every column of
 * every table, audit payloads included, while the audit rows (ids, times, operations, actors)
 * stay and another patient's data is untouched.
 */
class PatientErasureTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  /** Planted in every place the patient's data reaches; must be nowhere after the erasure. */
  static final String PHI = "Zq7731phi";
  /** Planted in the other patient's data; must all still be there. */
  static final String KEPT = "Kp7731kept";

  static SecurityWorld world;
  static DataSource worker;

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
    worker = pg.loginAs("erasure_worker", "queue_worker");
  }

  @AfterAll
  static void close() {
    world.close();
  }

  private SecurityWorld.Registration upload(UUID user, UUID patient, String marker, String key) throws SQLException {
    return world.api.request(world.token(user), c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT shell_file_id, job_id, created FROM public.register_shell_file(?, 'medical-docs', ?, ?, 'application/pdf', 10, ?)")) {
        ps.setObject(1, patient);
        ps.setString(2, patient + "/" + marker + "-folder/" + key + ".pdf");
        ps.setString(3, marker + "-letter-" + key + ".pdf");
        ps.setString(4, marker + "-" + key);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return new SecurityWorld.Registration(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getBoolean(3));
        }
      }
    });
  }

  private void extract(SecurityWorld.Registration r, String marker) throws SQLException {
    SecurityWorld.Claim claim = SecurityWorld.claim(worker, "erasure-worker");
    assertThat(claim.jobId()).isEqualTo(r.jobId());
    assertThat(SecurityWorld.writeBack(worker, claim,
        "{\"text\": \"Letter about " + marker + " text\", \"page_count\": 1, \"processor\": \"local\"}",
        "[{\"event_type\": \"condition\", \"name\": \"" + marker + " diagnosis\", \"value\": \"" + marker + "\"}]",
        4)).isTrue();
  }

  /** Every table and column (text, varchar, json, jsonb, arrays) in which {@code marker} occurs. */
  private List<String> whereFound(String marker) throws SQLException {
    List<String> columns = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("""
            SELECT format('%I.%I', n.nspname, k.relname), format('%I', a.attname)
              FROM pg_attribute a JOIN pg_class k ON k.oid = a.attrelid JOIN pg_namespace n ON n.oid = k.relnamespace
             WHERE k.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
               AND (a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'json'::regtype,
                                   'jsonb'::regtype, 'name'::regtype)
                    OR a.atttypid IN (SELECT t.oid FROM pg_type t WHERE t.typcategory = 'A'))
             ORDER BY 1, 2""");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        columns.add(rs.getString(1) + "." + rs.getString(2));
      }
    }
    assertThat(columns).as("the search covers the patient tables and the audit log")
        .contains("public.audit_log.new_values", "public.audit_log.old_values", "public.job_queue.payload",
            "public.shell_files.filename", "public.document_texts.text", "public.clinical_events.name",
            "storage.objects.name", "public.patient_erasures.reason");
    List<String> found = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection()) {
      for (String column : columns) {
        int dot = column.lastIndexOf('.');
        try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + column.substring(0, dot)
            + " WHERE " + column.substring(dot + 1) + "::text LIKE ?")) {
          ps.setString(1, "%" + marker + "%");
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getLong(1) > 0) {
              found.add(column);
            }
          }
        }
      }
    }
    return found;
  }

  @Test
  void erasureLeavesNoPhiAnywhereButKeepsEveryAuditFact() throws SQLException {
    UUID patient = world.patient;
    world.execute("UPDATE public.user_profiles SET display_name = ?, date_of_birth = '2019-05-04' WHERE id = ?",
        "Pat " + PHI, patient);
    // A completed extraction, a dead-lettered one with a PHI error, one in flight, and a
    // service_role correction of a clinical value (old and new in the audit).
    SecurityWorld.Registration done = upload(world.owner, patient, PHI, "done");
    extract(done, PHI);
    SecurityWorld.Registration failed = upload(world.readWrite, patient, PHI, "failed");
    SecurityWorld.Claim failing = SecurityWorld.claim(worker, "erasure-worker");
    world.execute("SELECT public.fail_job(?, ?, ?::jsonb, false)", failing.jobId(), failing.leaseToken(),
        "{\"message\": \"could not read " + PHI + " page\"}");
    SecurityWorld.Registration inFlight = upload(world.owner, patient, PHI, "inflight");
    SecurityWorld.Claim held = SecurityWorld.claim(worker, "erasure-worker");
    assertThat(held.jobId()).isEqualTo(inFlight.jobId());
    world.api.request(world.tokens.serviceRoleKey(), c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE public.clinical_events SET name = 'Corrected ' || name, unit = ? WHERE patient_id = ?")) {
        ps.setString(1, PHI + "-unit");
        ps.setObject(2, patient);
        return ps.executeUpdate();
      }
    });
    world.execute("INSERT INTO storage.objects (bucket_id, name) VALUES ('medical-docs', ?)",
        patient + "/" + PHI + "-folder/done.pdf");

    // The other patient, with data of their own that must survive.
    world.execute("UPDATE public.user_profiles SET display_name = ? WHERE id = ?", "Stan " + KEPT, world.strangersPatient);
    SecurityWorld.Registration theirs = upload(world.stranger, world.strangersPatient, KEPT, "theirs");
    extract(theirs, KEPT);

    assertThat(whereFound(PHI)).as("the planted PHI is everywhere before").contains(
        "public.user_profiles.display_name", "public.shell_files.filename", "public.shell_files.storage_path",
        "public.shell_files.idempotency_key", "public.shell_files.processing_error", "public.document_texts.text",
        "public.clinical_events.name", "public.clinical_events.unit", "public.job_queue.payload",
        "public.job_queue.error", "public.job_queue.error_history", "public.audit_log.new_values",
        "public.audit_log.old_values", "storage.objects.name");
    List<String> auditFactsBefore = auditFacts(patient);
    assertThat(auditFactsBefore).hasSizeGreaterThan(10);

    // Files still in Storage: refused, nothing changed.
    assertThatThrownBy(() -> erase(patient))
        .hasMessageContaining("1 stored objects remain under \"" + patient + "/\"; delete them through the Storage API first")
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("55000");
    assertThat(auditFacts(patient)).isEqualTo(auditFactsBefore);
    world.execute("DELETE FROM storage.objects WHERE name LIKE ?", patient + "/%");

    String counts = erase(patient);

    assertThat(whereFound(PHI)).as("columns still holding the erased patient's PHI").isEmpty();
    assertThat(counts).contains("\"shell_files\": 3", "\"clinical_events\": 1", "\"document_texts\": 1",
        "\"user_profiles\": 1", "\"profile_access_permissions\": 7", "\"jobs_blanked\": 3");
    // Every audit row is still there with its facts; the erasure added its own rows.
    List<String> auditFactsAfter = auditFacts(patient);
    assertThat(auditFactsAfter).containsAll(auditFactsBefore);
    assertThat(auditFactsAfter).anyMatch(f -> f.startsWith("user_profiles ERASE "));
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log WHERE patient_id = ? AND operation = 'DELETE' AND table_name = 'clinical_events'""",
        patient)).isEqualTo(1);
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log a
         WHERE a.patient_id = ? AND a.operation <> 'ERASE' AND e.patient_id = a.patient_id
           AND ((a.old_values IS NOT NULL AND a.old_values <> jsonb_build_object('redacted_by_erasure', e.id))
             OR (a.new_values IS NOT NULL AND a.new_values <> jsonb_build_object('redacted_by_erasure', e.id)))""".replace(
            "FROM public.audit_log a", "FROM public.audit_log a, public.patient_erasures e"), patient))
        .as("every payload of the patient's audit rows is the erasure marker").isZero();
    assertThat(world.count("SELECT count(*) FROM public.patient_erasures WHERE patient_id = ? AND reason = 'ticket GDPR-1'",
        patient)).isEqualTo(1);

    // The in-flight job was cancelled: its worker's write-back is refused, nothing comes back.
    assertThat(world.text("SELECT status FROM public.jobs WHERE id = ?", inFlight.jobId())).isEqualTo("cancelled");
    assertThat(SecurityWorld.writeBack(worker, held, "{\"text\": \"late\", \"processor\": \"x\"}", "[]", 1)).isFalse();

    // The other patient is untouched; the audit trail is still append-only and intact.
    assertThat(whereFound(KEPT)).contains("public.user_profiles.display_name", "public.shell_files.filename",
        "public.document_texts.text", "public.clinical_events.name", "public.job_history.payload", "public.audit_log.new_values");
    assertThatThrownBy(() -> world.execute("UPDATE public.audit_log SET new_values = NULL WHERE patient_id = ?",
        world.strangersPatient)).hasMessageContaining("audit_log is append-only");
    assertThat(world.count("SELECT count(*) FROM public.audit_integrity_problems()")).isZero();
  }

  @Test
  void theRedactionExceptionCannotBeUsedOutsideAnErasure() throws SQLException {
    UUID someErasure = UUID.fromString(world.text("""
        INSERT INTO public.patient_erasures (patient_id, reason, requested_by, transaction_id)
        VALUES (gen_random_uuid(), 'old', 'test', '1'::xid8) RETURNING id"""));
    // Even the owner, even with a well-formed marker, cannot rewrite audit rows outside the
    // transaction of an erasure.
    assertThatThrownBy(() -> world.execute("""
        UPDATE public.audit_log SET new_values = jsonb_build_object('redacted_by_erasure', ?::uuid)
         WHERE new_values IS NOT NULL""", someErasure))
        .hasMessageContaining("audit_log is append-only: UPDATE is not allowed");
    assertThatThrownBy(() -> world.execute("DELETE FROM public.audit_log"))
        .hasMessageContaining("audit_log is append-only: DELETE is not allowed");
  }

  @Test
  void theReasonIsRequiredAndBounded() {
    for (String reason : new String[] {null, " ", "x".repeat(501), "line\nbreak"}) {
      assertThatThrownBy(() -> world.execute("SELECT public.erase_patient_data(?, ?)", UUID.randomUUID(), reason))
          .hasMessageContaining("erase_patient_data: p_reason is required")
          .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("22023");
    }
  }

  private String erase(UUID patient) throws SQLException {
    return world.api.request(world.tokens.serviceRoleKey(), c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT public.erase_patient_data(?, 'ticket GDPR-1')::text")) {
        ps.setObject(1, patient);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getString(1);
        }
      }
    });
  }

  /** The facts of every audit row about the patient: id, time, table, record, operation, actor. */
  private List<String> auditFacts(UUID patient) throws SQLException {
    List<String> facts = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("""
            SELECT table_name || ' ' || operation || ' ' || coalesce(record_id, '-') || ' ' || id || ' ' || occurred_at
                   || ' ' || actor || ' ' || coalesce(job_id::text, '-')
              FROM public.audit_log WHERE patient_id = ? ORDER BY id""")) {
      ps.setObject(1, patient);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          facts.add(rs.getString(1));
        }
      }
    }
    return facts;
  }
}
