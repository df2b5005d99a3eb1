package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 12 point 4: every insert, update and delete of a patient-data row leaves exactly one
 * audit row naming the patient — made by service_role directly, by a foreign-key cascade from
 * deleting an Auth user, or by write_back_extraction — and what the owner role can still do
 * (disable the triggers) is found by {@code audit_integrity_problems()}.
 */
class AuditCompletenessTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  /** A database that has Supabase's auth.users before the migrations run (the FKs cascade from it). */
  @RegisterExtension static PostgresExtension supabase = new PostgresExtension(false);

  static SecurityWorld world;
  static DataSource worker;

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
    worker = pg.loginAs("audit_worker", "queue_worker");
    // The test world is a Supabase project: auth.users (owned by supabase_auth_admin) exists
    // before the migrations run, so the profile FKs cascade from it as they do on Supabase.
    Migrations.migrate(supabase.migrationRole());
  }

  @AfterAll
  static void close() {
    world.close();
  }

  private static List<String> rows(DataSource ds, String sql, Object... args) throws SQLException {
    try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      List<String> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
      return out;
    }
  }

  /** A completed extraction of a new file of the world's patient; returns the file id. */
  private UUID extractedFile(String key) throws SQLException {
    SecurityWorld.Registration r = world.register(world.owner, key);
    SecurityWorld.Claim claim = SecurityWorld.claim(worker, "audit-" + key);
    assertThat(claim.jobId()).isEqualTo(r.jobId());
    assertThat(SecurityWorld.writeBack(worker, claim,
        "{\"text\": \"Letter\", \"page_count\": 1, \"processor\": \"local\"}",
        "[{\"event_type\": \"medication\", \"name\": \"Metformin\"}, {\"event_type\": \"allergy\", \"name\": \"Latex\"}]",
        3)).isTrue();
    return r.shellFileId();
  }

  @Test
  void serviceRoleInsertsUpdatesAndDeletesAreAuditedWithThePatient() throws SQLException {
    UUID file = extractedFile("audit-service");
    String event = world.text("SELECT id::text FROM public.clinical_events WHERE shell_file_id = ? AND ordinal = 0", file);
    String text = world.text("SELECT id::text FROM public.document_texts WHERE shell_file_id = ?", file);
    String service = world.tokens.serviceRoleKey();

    world.api.request(service, c -> {
      try (Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE public.clinical_events SET name = 'Metformin XR', value = '750' WHERE id = '" + event + "'");
        s.executeUpdate("UPDATE public.document_texts SET page_count = 7 WHERE id = '" + text + "'");
        s.executeUpdate("DELETE FROM public.document_texts WHERE id = '" + text + "'");
        s.executeUpdate("INSERT INTO public.clinical_events (patient_id, shell_file_id, job_id, ordinal, event_type, name)"
            + " SELECT patient_id, shell_file_id, job_id, 9, 'condition', 'Asthma' FROM public.clinical_events WHERE id = '"
            + event + "'");
        s.executeUpdate("UPDATE public.shell_files SET status = 'cancelled' WHERE id = '" + file + "'");
      }
      return null;
    });

    assertThat(rows(pg.superuser(), """
        SELECT operation || ' ' || actor FROM public.audit_log
         WHERE table_name = 'clinical_events' AND record_id = ? AND patient_id = ? ORDER BY id""", event, world.patient))
        .containsExactly("INSERT audit_worker", "UPDATE service_role");
    assertThat(rows(pg.superuser(), """
        SELECT old_values::text || ' -> ' || new_values::text FROM public.audit_log
         WHERE table_name = 'clinical_events' AND record_id = ? AND operation = 'UPDATE'""", event))
        .as("an update records the changed columns, old and new")
        .containsExactly("{\"name\": \"Metformin\", \"value\": null} -> {\"name\": \"Metformin XR\", \"value\": \"750\"}");
    assertThat(rows(pg.superuser(), """
        SELECT old_values::text || ' -> ' || new_values::text FROM public.audit_log
         WHERE table_name = 'document_texts' AND record_id = ? AND operation = 'UPDATE'""", text))
        .as("the text is never in the audit, not even its unchanged length")
        .containsExactly("{\"page_count\": 1} -> {\"page_count\": 7}");
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log WHERE table_name = 'document_texts' AND record_id = ? AND operation = 'DELETE'
           AND actor = 'service_role' AND patient_id = ? AND old_values -> 'text_length' IS NOT NULL AND old_values -> 'text' IS NULL""",
        text, world.patient)).isEqualTo(1);
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log a JOIN public.clinical_events e ON e.id::text = a.record_id
         WHERE e.name = 'Asthma' AND a.operation = 'INSERT' AND a.actor = 'service_role' AND a.patient_id = ?""",
        world.patient)).isEqualTo(1);
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log WHERE table_name = 'shell_files' AND record_id = ? AND operation = 'UPDATE'
           AND actor = 'service_role' AND new_values ->> 'status' = 'cancelled'""", file.toString())).isEqualTo(1);
  }

  @Test
  void aWriteBackLeavesExactlyOneAuditRowPerRowChange() throws SQLException {
    UUID file = extractedFile("audit-once");
    // One transaction: 1 document + 2 events inserted, the file updated; nothing logged twice.
    assertThat(rows(pg.superuser(), """
        SELECT table_name || ' ' || operation || ' ' || count(*) FROM public.audit_log
         WHERE (correlation_id = ? OR record_id = ?) AND table_name <> 'job_queue' AND reason = 'write_back_extraction'
         GROUP BY table_name, operation ORDER BY 1""", file, file.toString()))
        .containsExactly("clinical_events INSERT 2", "document_texts INSERT 1", "shell_files UPDATE 1");
    assertThat(world.count("""
        SELECT count(*) FROM (SELECT table_name, record_id, operation, occurred_at FROM public.audit_log
                               WHERE table_name IN ('shell_files', 'document_texts', 'clinical_events')
                               GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) dup"""))
        .as("no row change of a patient table is logged twice in one transaction").isZero();
    // The upload itself: one INSERT row naming the job, the claim: one UPDATE.
    assertThat(rows(pg.superuser(), """
        SELECT operation || ' ' || coalesce(reason, '-') FROM public.audit_log
         WHERE table_name = 'shell_files' AND record_id = ? ORDER BY id""", file.toString()))
        .containsExactly("INSERT register_shell_file", "UPDATE job claimed", "UPDATE write_back_extraction");
  }

  @Test
  void deletingAnAuthUserCascadesAndEveryCascadedRowIsAudited() throws SQLException {
    DataSource db = supabase.superuser();
    UUID user = UUID.randomUUID();
    UUID delegate = UUID.randomUUID();
    UUID patient = UUID.randomUUID();
    UUID file = UUID.randomUUID();
    UUID job = UUID.randomUUID();
    SecurityWorld.execute(db, "INSERT INTO auth.users (id, email) VALUES (?, 'owner@example.test'), (?, 'carer@example.test')", user, delegate);
    SecurityWorld.execute(db, "INSERT INTO public.user_profiles (id, account_owner_id, display_name) VALUES (?, ?, 'Cascade Kid')", patient, user);
    SecurityWorld.execute(db, "INSERT INTO public.profile_access_permissions (profile_id, user_id, access_level) VALUES (?, ?, 'read_only')",
        patient, delegate);
    SecurityWorld.execute(db, """
        INSERT INTO public.shell_files (id, patient_id, storage_bucket, storage_path, filename, mime_type, size_bytes,
                                        idempotency_key, processing_job_id)
        VALUES (?, ?, 'medical-docs', ? || '/a.pdf', 'a.pdf', 'application/pdf', 10, 'k', ?)""",
        file, patient, patient.toString(), job);
    SecurityWorld.execute(db, "INSERT INTO public.document_texts (patient_id, shell_file_id, job_id, text, processor) VALUES (?, ?, ?, 'T', 'x')",
        patient, file, job);
    SecurityWorld.execute(db, """
        INSERT INTO public.clinical_events (patient_id, shell_file_id, job_id, ordinal, event_type, name)
        VALUES (?, ?, ?, 0, 'allergy', 'Nuts'), (?, ?, ?, 1, 'condition', 'Asthma')""",
        patient, file, job, patient, file, job);

    SecurityWorld.execute(db, "DELETE FROM auth.users WHERE id = ?", user);

    assertThat(rows(db, "SELECT count(*)::text FROM public.user_profiles WHERE id = ?", patient)).containsExactly("0");
    assertThat(rows(db, """
        SELECT table_name || ' ' || count(*) FROM public.audit_log
         WHERE operation = 'DELETE' AND patient_id = ? AND old_values IS NOT NULL GROUP BY table_name ORDER BY 1""", patient))
        .containsExactly("clinical_events 2", "document_texts 1", "profile_access_permissions 1", "shell_files 1",
            "user_profiles 1");
    assertThat(rows(db, """
        SELECT DISTINCT reason FROM public.audit_log WHERE operation = 'DELETE' AND patient_id = ?""", patient))
        .containsExactly("direct statement or cascade");
    assertThat(rows(db, "SELECT problem FROM public.audit_integrity_problems()")).isEmpty();
  }

  @Test
  void truncatingAPatientTableIsRefusedEvenForTheOwner() {
    for (String table : new String[] {"clinical_events", "document_texts", "shell_files", "profile_access_permissions"}) {
      assertThatThrownBy(() -> world.execute("TRUNCATE public." + table + " CASCADE"))
          .as(table)
          .hasMessageContaining("TRUNCATE of patient table")
          .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
    }
  }

  /**
   * The owner role can switch the audit trigger off (docs/security.md says so); the check the
   * runbook runs reports the disabled trigger and, after it is switched back on, the row that
   * was written meanwhile.
   */
  @Test
  void theIntegrityCheckFindsADisabledTriggerAndTheRowsWrittenWhileItWasOff() throws SQLException {
    UUID file = extractedFile("audit-tamper");
    assertThat(rows(pg.superuser(), "SELECT problem || ': ' || detail FROM public.audit_integrity_problems()")).isEmpty();

    world.execute("ALTER TABLE public.clinical_events DISABLE TRIGGER clinical_events_audit");
    try {
      assertThat(rows(pg.superuser(), "SELECT problem || ': ' || detail FROM public.audit_integrity_problems()"))
          .containsExactly("trigger disabled: clinical_events.clinical_events_audit (tgenabled = D)");
      world.execute("""
          INSERT INTO public.clinical_events (patient_id, shell_file_id, job_id, ordinal, event_type, name)
          SELECT patient_id, shell_file_id, job_id, 7, 'condition', 'Unaudited' FROM public.document_texts
           WHERE shell_file_id = ?""", file);
    } finally {
      world.execute("ALTER TABLE public.clinical_events ENABLE TRIGGER clinical_events_audit");
    }
    assertThat(rows(pg.superuser(), "SELECT problem || ': ' || detail FROM public.audit_integrity_problems()"))
        .containsExactly("rows without an INSERT audit row: clinical_events: 1");

    world.execute("ALTER TABLE public.shell_files DISABLE TRIGGER shell_files_audit");
    try {
      world.execute("UPDATE public.shell_files SET status = 'cancelled' WHERE id = ?", file);
    } finally {
      world.execute("ALTER TABLE public.shell_files ENABLE TRIGGER shell_files_audit");
    }
    assertThat(rows(pg.superuser(), "SELECT problem || ': ' || detail FROM public.audit_integrity_problems()"))
        .contains("rows updated after their last audit row: shell_files: 1");

    world.execute("ALTER TABLE public.audit_log ENABLE REPLICA TRIGGER audit_log_no_update_delete");
    try {
      assertThat(rows(pg.superuser(), "SELECT problem || ': ' || detail FROM public.audit_integrity_problems()"))
          .contains("trigger fires only in replica sessions: audit_log.audit_log_no_update_delete (tgenabled = R)");
    } finally {
      world.execute("ALTER TABLE public.audit_log ENABLE TRIGGER audit_log_no_update_delete");
      // Leave the world clean for the other tests of this class.
      world.execute("DELETE FROM public.clinical_events WHERE name = 'Unaudited'");
      world.execute("UPDATE public.shell_files SET status = 'completed' WHERE id = ?", file);
    }
  }
}
