package io.queuepilot.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.cli.CliConfig.DbSettings;
import io.queuepilot.cli.CliRun;
import io.queuepilot.queue.testing.PostgresExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local mode end to end on a small sample: real PostgreSQL, real migrations, uploads through
 * register_shell_file, the real worker and controller code. Every document reaches an end state
 * and the summary's figures equal what the database holds.
 */
class LocalModeTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @TempDir Path work;

  @Test
  void everyDocumentIsProcessedAndTheSummaryMatchesTheDatabase() throws Exception {
    int samples = 5; // 3 PDFs, 1 text file, 1 scanned PNG
    int copies = 2;
    StringWriter screen = new StringWriter();
    // keepDb: with an existing database it keeps the demo patient's rows, which this test reads
    LocalRun.Options options = new LocalRun.Options(work, null, samples, copies, true,
        new DbSettings(pg.jdbcUrl(), "postgres", "postgres", true, 5), 3, 2, Duration.ofMillis(300),
        Duration.ofSeconds(1), Duration.ofSeconds(100), false, Optional.empty(), Optional.empty(), Optional.empty());

    LocalRun.Summary s = new LocalRun(options, new PrintWriter(screen, true), Clock.systemUTC()).run();

    assertThat(s.timedOut()).as(screen.toString()).isFalse();
    UUID patient = s.patientId();
    // every upload became a shell file and a job, and every job reached an end state
    assertThat(s.documents()).isEqualTo(samples * copies).isEqualTo(count(
        "SELECT count(*) FROM public.shell_files WHERE patient_id = ?", patient));
    assertThat(count("SELECT count(*) FROM public.jobs WHERE patient_id = ? AND status IN ('pending', 'processing')",
        patient)).isZero();
    assertThat(s.completed() + s.deadLettered()).isEqualTo(samples * copies);

    // the summary's figures are the database's
    assertThat(s.completed())
        .isEqualTo(count("SELECT count(*) FROM public.shell_files WHERE patient_id = ? AND status = 'completed'", patient))
        .isEqualTo(count("SELECT count(*) FROM public.jobs WHERE patient_id = ? AND status = 'completed'", patient))
        .isEqualTo(count("SELECT count(*) FROM public.document_texts WHERE patient_id = ?", patient))
        .isEqualTo(4L * copies); // PDFs and text files: the local processor reads them
    assertThat(s.deadLettered())
        .isEqualTo(count("SELECT count(*) FROM public.jobs WHERE patient_id = ? AND status = 'dead_letter'", patient))
        .isEqualTo(count("SELECT count(*) FROM public.shell_files WHERE patient_id = ? AND status = 'failed'", patient))
        .isEqualTo(copies); // the scans: no text layer, the local processor refuses images
    assertThat(s.deadLetterReasons()).containsOnlyKeys("unsupported_by_processor");
    assertThat(s.clinicalEvents())
        .isEqualTo(count("SELECT count(*) FROM public.clinical_events WHERE patient_id = ?", patient))
        .isGreaterThan(0);
    assertThat(s.eventsByType()).isEqualTo(countBy(
        "SELECT event_type, count(*) FROM public.clinical_events WHERE patient_id = ? GROUP BY 1", patient));
    assertThat(s.eventsByType()).containsKeys("medication", "allergy", "condition", "observation");

    // time to processed: at least the model latency, p50 <= p95
    assertThat(s.p50Seconds()).isGreaterThanOrEqualTo(0.3);
    assertThat(s.p95Seconds()).isGreaterThanOrEqualTo(s.p50Seconds());

    // the controller scaled up from zero and, once the queue was empty, back down to zero
    assertThat(s.scaling()).isNotEmpty();
    assertThat(s.scaling().get(0).from()).isZero();
    assertThat(s.scaling().get(0).to()).isPositive();
    assertThat(s.scaling().get(s.scaling().size() - 1).to()).as(s.scaling().toString()).isZero();
    assertThat(s.peakReplicas()).isBetween(1, 3);

    // uploads were made by the patient's own user through register_shell_file, and audited
    assertThat(count("SELECT count(*) FROM public.shell_files WHERE patient_id = ? AND uploaded_by IS NOT NULL", patient))
        .isEqualTo(samples * copies);
    assertThat(count("SELECT count(*) FROM public.audit_log WHERE patient_id = ? AND table_name = 'shell_files'", patient))
        .isGreaterThanOrEqualTo(samples * copies);

    // what the progress display printed (not a terminal here: plain lines) ends at all finished
    assertThat(screen.toString()).contains("sample clinical notes generated").contains("10/10 finished");
    try (Stream<Path> files = Files.list(work.resolve("documents"))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .anyMatch(n -> n.endsWith(".pdf")).anyMatch(n -> n.endsWith(".txt")).anyMatch(n -> n.endsWith("-scan.png"));
    }
  }

  @Test
  void theLocalCommandRunsOnEmbeddedPostgresAndPrintsTheSummary() {
    // libpq variables left in the shell never turn the demo into a write into that database
    CliRun r = CliRun.run(Map.of("PGHOST", "127.0.0.1", "PGPORT", "1", "PGDATABASE", "production"), "local", "--plain",
        "--workdir", work.toString(), "--samples", "5",
        "--copies", "1", "--model-latency", "100ms", "--upload-over", "0s", "--max-replicas", "2");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out())
        .contains("embedded PostgreSQL on port")
        .containsPattern("documents uploaded\\s+5\n")
        .containsPattern("processed \\(completed\\)\\s+4\n")
        .containsPattern("dead-lettered\\s+1\n")
        .contains("time to processed p95")
        .contains("Where to look:")
        .contains("database    removed at exit; run with --keep-db to inspect it");
  }

  @Test
  void copiesAndReplicasAreBoundedBeforeAnythingStarts() {
    CliRun copies = CliRun.run(Map.of(), "local", "--plain", "--workdir", work.toString(), "--copies", "100000");
    assertThat(copies.exitCode()).isEqualTo(1);
    assertThat(copies.err()).contains("--copies 100000 is more than 100");
    assertThat(copies.out()).doesNotContain("embedded PostgreSQL");
    assertThat(work.resolve("queuepilot-local.log")).doesNotExist();

    CliRun replicas = CliRun.run(Map.of(), "local", "--plain", "--workdir", work.toString(), "--max-replicas", "500");
    assertThat(replicas.exitCode()).isEqualTo(1);
    assertThat(replicas.err()).contains("--max-replicas is at most 16");

    CliRun hundred = CliRun.run(Map.of(), "local", "--help");
    assertThat(hundred.out()).containsPattern("\\(1\\.\\.100,\\s+default: 4\\)");
  }

  @Test
  void anEmptyDocumentsFolderIsAUsageError() throws Exception {
    Path empty = Files.createDirectories(work.resolve("empty"));
    Files.writeString(empty.resolve("notes.docx"), "not a supported type");
    CliRun r = CliRun.run(Map.of(), "local", "--plain", "--workdir", work.toString(), "--docs", empty.toString(),
        "--db-url", pg.jdbcUrl(), "--db-user", "postgres", "--db-password", "postgres");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.out()).contains("skipping notes.docx: not a PDF, image or .txt file");
    assertThat(r.err()).contains("no documents to upload in " + empty);
  }

  private static long count(String sql, UUID patient) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, patient);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static Map<String, Long> countBy(String sql, UUID patient) throws SQLException {
    Map<String, Long> m = new LinkedHashMap<>();
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, patient);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          m.put(rs.getString(1), rs.getLong(2));
        }
      }
    }
    return m;
  }
}
