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
import java.util.UUID;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The issue 12b migrations (V053-V056) upgrade a database in place: migrated to V040 (the
 * schema before them) and filled with profiles, finished and in-flight extractions, a file with
 * a name the new rules would refuse and a foreign job naming another file, then migrated to
 * the newest version — every row is kept, the in-flight job still completes, the old file still
 * moves through its statuses, the foreign job is now refused, and a key reused by a second
 * patient, refused before, is accepted.
 */
class OwnershipAndAuditUpgradeTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  static final String DOC = "{\"text\": \"Letter before the upgrade\", \"page_count\": 1, \"processor\": \"local\"}";
  static final String EVENTS = "[{\"event_type\": \"allergy\", \"name\": \"Penicillin\"}]";

  private final UUID ownerA = UUID.randomUUID();
  private final UUID ownerB = UUID.randomUUID();
  private final UUID patientA = UUID.randomUUID();
  private final UUID patientB = UUID.randomUUID();

  @Test
  void upgradesWithDataInPlaceAndTheNewRulesHoldForOldRows() throws SQLException {
    DataSource db = pg.superuser();
    Flyway toV040 = Flyway.configure().configuration(Migrations.flyway(pg.migrationRole()).getConfiguration()).target("40").load();
    assertThat(toV040.migrate().targetSchemaVersion).isEqualTo("040");
    DataSource worker = pg.loginAs("upgrade_worker", "queue_worker");

    // --- data at V040 -----------------------------------------------------------------------
    pg.createAuthUsers(ownerA, ownerB);
    SecurityWorld.execute(db, "INSERT INTO public.user_profiles (id, account_owner_id, display_name) VALUES (?, ?, 'Ann'), (?, ?, 'Bob')",
        patientA, ownerA, patientB, ownerB);
    SecurityWorld.execute(db, "INSERT INTO public.profile_access_permissions (profile_id, user_id, access_level) VALUES (?, ?, 'read_only')",
        patientA, ownerB);
    UUID[] done = register(db, patientA, "scan-1", "done.pdf");
    SecurityWorld.Claim doneClaim = SecurityWorld.claim(worker, "w-old");
    assertThat(doneClaim.jobId()).isEqualTo(done[1]);
    assertThat(SecurityWorld.writeBack(worker, doneClaim, DOC, EVENTS, 1)).isTrue();
    UUID[] inFlight = register(db, patientA, "scan-2", "inflight.pdf");
    SecurityWorld.Claim inFlightClaim = SecurityWorld.claim(worker, "w-old");
    assertThat(inFlightClaim.jobId()).isEqualTo(inFlight[1]);
    String longName = "n".repeat(300) + ".pdf";
    UUID[] longNamed = register(db, patientB, "scan-3", longName);
    // Before the upgrade a worker could attach a job to another patient's file (issue 12).
    UUID foreign = UUID.fromString(SecurityWorld.text(worker, """
        SELECT public.enqueue_job('document_extraction', '{}'::jsonb, 'foreign-before-upgrade', 'ai',
                                  p_patient_id => ?, p_shell_file_id => ?)::text""", patientA, done[0]));
    // ... and keys were global: patient B could not use patient A's key.
    assertThatThrownBy(() -> register(db, patientB, "scan-1", "b.pdf")).hasMessageContaining("was already used");
    String before = snapshot(db);

    // --- upgrade ----------------------------------------------------------------------------
    assertThat(Migrations.migrate(pg.migrationRole()).migrationsExecuted).isGreaterThanOrEqualTo(4);

    assertThat(snapshot(db)).as("every row kept as it was").isEqualTo(before);
    assertThat(SecurityWorld.text(db, "SELECT string_agg(problem || ': ' || detail, '; ') FROM public.audit_integrity_problems()"))
        .as("pre-existing rows got BASELINE audit rows").isNull();
    assertThat(SecurityWorld.text(db, "SELECT count(*)::text FROM public.audit_log WHERE operation = 'BASELINE'"))
        .as("one per row: 2 profiles, 1 grant, 3 files, 1 document text, 1 event").isEqualTo("8");

    // The job that was in flight during the upgrade finishes normally.
    assertThat(SecurityWorld.writeBack(worker, inFlightClaim, DOC, EVENTS, 1)).isTrue();
    assertThat(SecurityWorld.text(db, "SELECT status FROM public.shell_files WHERE id = ?", inFlight[0])).isEqualTo("completed");
    // The file with a name the new rules refuse keeps working: its status still changes.
    SecurityWorld.Claim longClaim = SecurityWorld.claim(worker, "w-new");
    assertThat(longClaim.jobId()).isEqualTo(longNamed[1]);
    assertThat(SecurityWorld.text(db, "SELECT status || ' ' || length(filename) FROM public.shell_files WHERE id = ?", longNamed[0]))
        .isEqualTo("processing 304");
    assertThat(SecurityWorld.writeBack(worker, longClaim, DOC, "[]", 1)).isTrue();
    // The foreign job enqueued before the upgrade is refused now, and the file is untouched.
    String doneFile = SecurityWorld.text(db, "SELECT status || ' ' || (SELECT text FROM public.document_texts WHERE shell_file_id = f.id)"
        + " FROM public.shell_files f WHERE f.id = ?", done[0]);
    SecurityWorld.Claim foreignClaim = SecurityWorld.claim(worker, "w-attacker");
    assertThat(foreignClaim.jobId()).isEqualTo(foreign);
    assertThatThrownBy(() -> SecurityWorld.writeBack(worker, foreignClaim,
            "{\"text\": \"FORGED\", \"processor\": \"x\"}", "[]", 1))
        .hasMessageContaining("is not the current extraction job of shell file " + done[0]);
    assertThat(SecurityWorld.text(db, "SELECT status || ' ' || (SELECT text FROM public.document_texts WHERE shell_file_id = f.id)"
        + " FROM public.shell_files f WHERE f.id = ?", done[0])).isEqualTo(doneFile);
    // Keys are per patient now: B may use A's key, A's repeat still finds A's file.
    UUID[] bSameKey = register(db, patientB, "scan-1", "b.pdf");
    assertThat(bSameKey[0]).isNotEqualTo(done[0]);
    assertThat(register(db, patientA, "scan-1", "done.pdf")[0]).isEqualTo(done[0]);
    assertThat(SecurityWorld.text(db, "SELECT count(*)::text FROM pg_indexes WHERE indexname = 'shell_files_idempotency_key_key'"))
        .isEqualTo("0");
  }

  /** Rows of every patient table and every job, in a stable text form. */
  private static String snapshot(DataSource db) throws SQLException {
    // every job, wherever the schema keeps it (live and finished jobs are two tables since V081)
    String jobs = SecurityWorld.text(db, "SELECT to_regclass('public.jobs')::text") == null ? "public.job_queue" : "public.jobs";
    return SecurityWorld.text(db, """
        SELECT concat_ws(E'\\n',
          (SELECT string_agg(concat_ws(',', id, account_owner_id, display_name, archived), ';' ORDER BY id) FROM public.user_profiles),
          (SELECT string_agg(concat_ws(',', id, profile_id, user_id, access_level), ';' ORDER BY id) FROM public.profile_access_permissions),
          (SELECT string_agg(concat_ws(',', id, patient_id, storage_path, filename, status, processing_job_id, idempotency_key),
                             ';' ORDER BY id) FROM public.shell_files),
          (SELECT string_agg(concat_ws(',', id, shell_file_id, job_id, text), ';' ORDER BY id) FROM public.document_texts),
          (SELECT string_agg(concat_ws(',', id, shell_file_id, job_id, name), ';' ORDER BY id) FROM public.clinical_events),
          (SELECT string_agg(concat_ws(',', id, status, lease_token, idempotency_key, payload), ';' ORDER BY id) FROM %s),
          (SELECT count(*) FROM public.audit_log WHERE operation <> 'BASELINE'))""".formatted(jobs));
  }

  /** register_shell_file as the service role (the upload API's identity); returns {file, job}. */
  private static UUID[] register(DataSource db, UUID patient, String key, String filename) throws SQLException {
    try (Connection c = db.getConnection()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("SELECT set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)");
      }
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT shell_file_id, job_id FROM public.register_shell_file(?, 'medical-docs', ?, ?, 'application/pdf', 10, ?)")) {
        ps.setObject(1, patient);
        ps.setString(2, patient + "/" + key + ".pdf");
        ps.setString(3, filename);
        ps.setString(4, key);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          UUID[] out = {rs.getObject(1, UUID.class), rs.getObject(2, UUID.class)};
          c.commit();
          return out;
        }
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }
}
