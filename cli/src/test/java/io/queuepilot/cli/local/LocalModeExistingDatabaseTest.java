package io.queuepilot.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.cli.CliRun;
import io.queuepilot.queue.patient.PatientUploads;
import io.queuepilot.queue.testing.PostgresExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code queuepilot local --db-url} against a database another application already uses: 30
 * pending jobs of another patient (25 document extractions registered through
 * register_shell_file with their shell files, 5 jobs of another type) and one of that patient's
 * jobs held by a worker whose heartbeat is long stale. After local mode, whether it finished,
 * failed or was stopped with a signal, those rows are exactly as before and nothing of local mode
 * remains but its audit rows.
 */
class LocalModeExistingDatabaseTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @TempDir Path work;

  private static final String JOB_SNAPSHOT =
      """
      SELECT id, job_type, job_lane, status, attempt, lease_token, worker_id, heartbeat_at, error, updated_at
        FROM public.jobs ORDER BY id
      """;
  private static final String FILE_SNAPSHOT =
      "SELECT id, patient_id, status, processing_error, processing_job_id, updated_at FROM public.shell_files ORDER BY id";

  private List<List<Object>> jobsBefore;
  private List<List<Object>> filesBefore;

  @BeforeEach
  void anotherApplicationsJobs() throws SQLException {
    if (count("SELECT count(*) FROM public.jobs") == 0) {
      UUID user = UUID.randomUUID();
      pg.createAuthUsers(user); // on Supabase, user_profiles.account_owner_id references auth.users
      UUID patient;
      try (Connection c = pg.superuser().getConnection()) {
        try (PreparedStatement ps = c.prepareStatement(
            "INSERT INTO public.user_profiles (account_owner_id, display_name) VALUES (?, 'A real patient') RETURNING id")) {
          ps.setObject(1, user);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            patient = rs.getObject(1, UUID.class);
          }
        }
        PatientUploads uploads = new PatientUploads(pg.superuser());
        for (int i = 0; i < 25; i++) {
          uploads.register(PatientUploads.Caller.patientUser(user), new PatientUploads.Upload(patient, "medical-docs",
              patient + "/real-" + i + ".pdf", "scan.pdf", "application/pdf", 1000, "real-" + i));
        }
        for (int i = 0; i < 5; i++) {
          exec(c, "SELECT public.enqueue_job('report_export', '{}'::jsonb, ?)", "export-" + i);
        }
        // one more of the real patient's documents, held by the real worker whose heartbeat is stale
        exec(c, "SELECT public.enqueue_job('document_extraction', '{}'::jsonb, 'held', p_job_lane => 'ai', p_priority => 1)");
        exec(c, "SELECT * FROM public.claim_next_job('real-worker', ARRAY['document_extraction'], ARRAY['ai'])");
        exec(c, "UPDATE public.job_queue SET heartbeat_at = now() - interval '1 hour' WHERE idempotency_key = 'held'");
      }
    }
    assertThat(count("SELECT count(*) FROM public.jobs WHERE status = 'pending'")).isEqualTo(30);
    assertThat(count("SELECT count(*) FROM public.shell_files")).isEqualTo(25);
    jobsBefore = rows(JOB_SNAPSHOT);
    filesBefore = rows(FILE_SNAPSHOT);
  }

  @Test
  void aFinishedRunTouchesNoOtherJobAndLeavesNothingBehind() throws Exception {
    CliRun r = CliRun.run(Map.of(), "local", "--plain", "--workdir", work.toString(), "--samples", "3",
        "--copies", "2", "--model-latency", "0", "--upload-over", "0s", "--max-replicas", "2",
        "--db-url", pg.jdbcUrl(), "--db-user", "postgres", "--db-password", "postgres");

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).containsPattern("documents uploaded\\s+6\n").containsPattern("processed \\(completed\\)\\s+")
        .contains("demo patient, its rows and this run's logins removed");
    assertOthersUntouchedAndNothingOfLocalModeLeft();
    // the run erased its patient through the audited function: the audit trail says so
    assertThat(count("SELECT count(*) FROM public.audit_log WHERE operation = 'LOCAL_DEMO_ERASED'"
        + " AND (old_values ->> 'shell_files')::int = 6")).isEqualTo(1);
  }

  @Test
  void aFailedRunCleansUpToo() throws Exception {
    CliRun r = CliRun.run(Map.of(), "local", "--plain", "--workdir", work.toString(), "--samples", "3",
        "--copies", "1", "--model-latency", "30s", "--upload-over", "0s", "--timeout", "3s",
        "--db-url", pg.jdbcUrl(), "--db-user", "postgres", "--db-password", "postgres");

    assertThat(r.exitCode()).as(r.toString()).isEqualTo(4);
    assertThat(r.out()).contains("Timed out before every document was processed");
    assertOthersUntouchedAndNothingOfLocalModeLeft();
  }

  @Test
  void aSignalledRunCleansUpFromItsShutdownHook() throws Exception {
    Process p = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"),
        "io.queuepilot.cli.QueuePilotCli",
        "local", "--plain", "--workdir", work.toString(), "--samples", "3", "--copies", "1",
        "--model-latency", "60s", "--upload-over", "0s", "--timeout", "100s",
        "--db-url", pg.jdbcUrl(), "--db-user", "postgres", "--db-password", "postgres")
        .redirectErrorStream(true)
        .redirectOutput(work.resolve("out.txt").toFile())
        .start();
    try {
      await().atMost(Duration.ofSeconds(60)).until(() -> count(
          "SELECT count(*) FROM public.jobs WHERE job_lane LIKE 'queuepilot\\_local\\_%' AND status = 'processing'")
          > 0);
      p.destroy(); // SIGTERM: the JVM runs its shutdown hooks, as on Ctrl-C (SIGINT)
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    } finally {
      p.destroyForcibly();
    }
    assertOthersUntouchedAndNothingOfLocalModeLeft();
    assertThat(Files.readString(work.resolve("queuepilot-local.log"))).contains("erased the demo patient");
  }

  private void assertOthersUntouchedAndNothingOfLocalModeLeft() throws SQLException {
    assertThat(rows(JOB_SNAPSHOT)).as("the other application's jobs").isEqualTo(jobsBefore);
    assertThat(rows(FILE_SNAPSHOT)).as("the other application's shell files").isEqualTo(filesBefore);
    assertThat(count("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname LIKE 'queuepilot\\_local%'")).isZero();
    assertThat(count("SELECT count(*) FROM public.user_profiles WHERE display_name = 'Demo patient (queuepilot local)'"))
        .isZero();
    assertThat(count("SELECT count(*) FROM public.clinical_events")).isZero();
    assertThat(count("SELECT count(*) FROM public.document_texts")).isZero();
  }

  private static void exec(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.execute();
    }
  }

  private static long count(String sql) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static List<List<Object>> rows(String sql) throws SQLException {
    List<List<Object>> rows = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<Object> row = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
          row.add(rs.getString(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }
}
