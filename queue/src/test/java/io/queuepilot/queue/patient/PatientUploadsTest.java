package io.queuepilot.queue.patient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.patient.PatientUploads.Caller;
import io.queuepilot.queue.patient.PatientUploads.Registered;
import io.queuepilot.queue.patient.PatientUploads.Upload;
import io.queuepilot.queue.sql.Jdbc;
import io.queuepilot.queue.testing.PostgresExtension;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link PatientUploads} on the Supabase test world: the upload runs as the caller PostgREST
 * would set (the patient's own user, or the upload API's service role), so register_shell_file's
 * access check judges that caller and not the connection's superuser.
 */
class PatientUploadsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static Upload upload(UUID patient, String key) {
    return new Upload(patient, "medical-docs", patient + "/" + key + ".pdf", key + ".pdf", "application/pdf", 1000, key);
  }

  private static long count(String sql, Object... params) {
    return new Jdbc(pg.superuser()).queryOne("counting", sql, rs -> rs.getLong(1), params);
  }

  @Test
  void thePatientsOwnUserRegistersOnceAndTheAuditNamesThatUser() {
    PatientUploads uploads = new PatientUploads(pg.superuser());
    UUID user = UUID.randomUUID();
    UUID patient = uploads.createPatient(null, user, user + "@example.test", "Pat");
    assertThat(count("SELECT count(*) FROM auth.users WHERE id = ?", user)).as("signed up in auth.users").isEqualTo(1);

    Registered first = uploads.register(Caller.patientUser(user), upload(patient, "scan-1"));
    Registered again = uploads.register(Caller.patientUser(user), upload(patient, "scan-1"));

    assertThat(first.created()).isTrue();
    assertThat(again).isEqualTo(new Registered(first.shellFileId(), first.jobId(), false));
    assertThat(count("SELECT count(*) FROM public.shell_files WHERE id = ? AND patient_id = ?", first.shellFileId(),
        patient)).isEqualTo(1);
    assertThat(count("SELECT count(*) FROM public.job_queue WHERE id = ? AND status = 'pending'", first.jobId()))
        .isEqualTo(1);
    assertThat(count("SELECT count(*) FROM public.audit_log WHERE table_name = 'shell_files' AND operation = 'INSERT' "
        + "AND record_id = ?::text AND actor = ?::text", first.shellFileId(), user))
        .as("the audit row names the patient's user, not the connection's role").isEqualTo(1);
  }

  @Test
  void anotherUserCannotUploadForThePatientAndNothingIsStored() {
    PatientUploads uploads = new PatientUploads(pg.superuser());
    UUID owner = UUID.randomUUID();
    UUID stranger = UUID.randomUUID();
    UUID patient = uploads.createPatient(null, owner, owner + "@example.test", "Pat");
    uploads.createPatient(null, stranger, stranger + "@example.test", "Someone else");
    long filesBefore = count("SELECT count(*) FROM public.shell_files");

    assertThatThrownBy(() -> uploads.register(Caller.patientUser(stranger), upload(patient, "secret-name")))
        .isInstanceOf(JobQueueException.class)
        .hasMessageStartingWith("register_shell_file for patient " + patient + " failed:")
        .hasMessageContaining("no read_write access to patient " + patient)
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo("42501"));
    assertThat(count("SELECT count(*) FROM public.shell_files")).isEqualTo(filesBefore);
  }

  @Test
  void theUploadApiMayRegisterForAnyPatient() {
    PatientUploads uploads = new PatientUploads(pg.superuser());
    UUID user = UUID.randomUUID();
    UUID patient = uploads.createPatient(UUID.randomUUID(), user, user + "@example.test", "Pat");
    assertThat(uploads.register(Caller.uploadApi(), upload(patient, "api-1")).created()).isTrue();
  }

  @Test
  void insideATransactionWhatFollowsRunsAsTheCaller() {
    UUID user = UUID.randomUUID();
    UUID patient = new PatientUploads(pg.superuser()).createPatient(null, user, user + "@example.test", "Pat");
    String role = new Jdbc(pg.superuser()).inTransaction("uploading", tx -> {
      PatientUploads.register(tx, Caller.patientUser(user), upload(patient, "tx-1"));
      return tx.queryOne("SELECT current_user || ' ' || auth.uid()", rs -> rs.getString(1));
    });
    assertThat(role).isEqualTo("authenticated " + user);
  }
}
