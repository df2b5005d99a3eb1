package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * register_shell_file, called as real signed-in users through the PostgREST-like gateway:
 * one shell file and one extraction job per idempotency key however often (and however
 * concurrently) it is called, the job exactly as the cross-branch contract fixes it, and bad
 * input refused with a clear error and nothing written.
 */
class RegisterShellFileTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static final int CONNECTIONS = 32;
  static final int CALLS = 1_000;

  static SecurityWorld world;
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg, CONNECTIONS);
  }

  @AfterAll
  static void close() {
    world.close();
  }

  @Test
  void registersTheFileAndEnqueuesItsExtractionJobAsTheContractFixes() throws Exception {
    SecurityWorld.Registration r = world.register(world.readWrite, "contract-scan");

    assertThat(r.created()).isTrue();
    assertThat(world.text("SELECT status FROM public.shell_files WHERE id = ?", r.shellFileId())).isEqualTo("queued");
    assertThat(world.text("SELECT processing_job_id::text FROM public.shell_files WHERE id = ?", r.shellFileId()))
        .isEqualTo(r.jobId().toString());
    assertThat(world.text("SELECT uploaded_by::text FROM public.shell_files WHERE id = ?", r.shellFileId()))
        .isEqualTo(world.readWrite.toString());

    try (var c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("""
            SELECT job_type, job_lane, idempotency_key, payload::text, patient_id, shell_file_id, status, correlation_id
              FROM public.job_queue WHERE id = ?""")) {
      ps.setObject(1, r.jobId());
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString("job_type")).isEqualTo("document_extraction");
        assertThat(rs.getString("job_lane")).isEqualTo("ai");
        assertThat(rs.getString("idempotency_key")).isEqualTo(r.shellFileId() + ":document_extraction");
        assertThat(rs.getObject("patient_id", UUID.class)).isEqualTo(world.patient);
        assertThat(rs.getObject("shell_file_id", UUID.class)).isEqualTo(r.shellFileId());
        assertThat(rs.getObject("correlation_id", UUID.class)).isEqualTo(r.shellFileId());
        assertThat(rs.getString("status")).isEqualTo("pending");
        JsonNode payload = JSON.readTree(rs.getString("payload"));
        assertThat(payload.properties().stream().map(java.util.Map.Entry::getKey).toList())
            .containsExactlyInAnyOrder("shell_file_id", "bucket", "storage_path", "filename", "mime_type", "size_bytes");
        assertThat(payload.get("shell_file_id").asText()).isEqualTo(r.shellFileId().toString());
        assertThat(payload.get("bucket").asText()).isEqualTo("medical-docs");
        assertThat(payload.get("storage_path").asText()).isEqualTo(world.patient + "/contract-scan.pdf");
        assertThat(payload.get("filename").asText()).isEqualTo("contract-scan.pdf");
        assertThat(payload.get("mime_type").asText()).isEqualTo("application/pdf");
        assertThat(payload.get("size_bytes").asLong()).isEqualTo(1234L);
      }
    }
    assertThat(world.count("""
        SELECT count(*) FROM public.audit_log
         WHERE table_name = 'shell_files' AND record_id = ? AND operation = 'INSERT'
           AND patient_id = ? AND job_id = ? AND actor = ?""",
        r.shellFileId().toString(), world.patient, r.jobId(), world.readWrite.toString())).isEqualTo(1);
  }

  @Test
  void aRepeatedCallReturnsTheSameFileAndJob() throws SQLException {
    SecurityWorld.Registration first = world.register(world.owner, "repeat-scan");
    SecurityWorld.Registration again = world.register(world.fullAccess, "repeat-scan");
    assertThat(again).isEqualTo(new SecurityWorld.Registration(first.shellFileId(), first.jobId(), false));
    assertThat(world.count("SELECT count(*) FROM public.shell_files WHERE idempotency_key = 'repeat-scan'")).isEqualTo(1);
    assertThat(world.count("SELECT count(*) FROM public.job_queue WHERE shell_file_id = ?", first.shellFileId())).isEqualTo(1);
  }

  @Test
  void es256TokensAndTheServiceRoleMayRegisterToo() throws SQLException {
    SecurityWorld.Registration viaEs256 = world.api.request(world.tokens.userEs256(world.owner),
        c -> SecurityWorld.registerOn(c, world.patient, "es256-scan", "image/png", 10L));
    SecurityWorld.Registration viaService = world.api.request(world.tokens.serviceRoleKey(),
        c -> SecurityWorld.registerOn(c, world.patient, "service-scan", "image/jpeg", 10L));
    assertThat(viaEs256.created()).isTrue();
    assertThat(viaService.created()).isTrue();
    assertThat(world.text("SELECT uploaded_by::text FROM public.shell_files WHERE id = ?", viaService.shellFileId()))
        .isNull();
  }

  @Test
  void readOnlyAndLapsedDelegatesCannotRegister() {
    for (UUID user : List.of(world.readOnly, world.emergency, world.expired, world.revoked, world.notStarted, world.stranger)) {
      assertThatThrownBy(() -> world.register(user, "denied-" + user))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("no read_write access to patient " + world.patient)
          .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
    }
  }

  /**
   * Keys are per patient (issue 12): another patient's key neither answers "already used" (an
   * existence oracle) nor blocks an upload; each patient's repeat still finds their own file.
   */
  @Test
  void aKeyUsedByAnotherPatientNeitherAnswersNorBlocks() throws SQLException {
    SecurityWorld.Registration mine = world.register(world.owner, "shared-key");
    SecurityWorld.Registration theirs = world.api.request(world.token(world.stranger),
        c -> SecurityWorld.registerOn(c, world.strangersPatient, "shared-key", "application/pdf", 5L));

    assertThat(theirs.created()).as("the stranger's upload with the same key is a new upload").isTrue();
    assertThat(theirs.shellFileId()).isNotEqualTo(mine.shellFileId());
    assertThat(theirs.jobId()).isNotEqualTo(mine.jobId());
    assertThat(world.text("SELECT patient_id::text FROM public.shell_files WHERE id = ?", theirs.shellFileId()))
        .isEqualTo(world.strangersPatient.toString());
    // Each patient's repeat finds their own file, not the other one.
    assertThat(world.register(world.owner, "shared-key"))
        .isEqualTo(new SecurityWorld.Registration(mine.shellFileId(), mine.jobId(), false));
    SecurityWorld.Registration theirsAgain = world.api.request(world.token(world.stranger),
        c -> SecurityWorld.registerOn(c, world.strangersPatient, "shared-key", "application/pdf", 5L));
    assertThat(theirsAgain).isEqualTo(new SecurityWorld.Registration(theirs.shellFileId(), theirs.jobId(), false));
    assertThat(world.count("SELECT count(*) FROM public.shell_files WHERE idempotency_key = 'shared-key'")).isEqualTo(2);
    // The key is unique per patient at the index level, whoever writes.
    assertThat(world.text("""
        SELECT pg_get_indexdef(indexrelid) FROM pg_index
         WHERE indrelid = 'public.shell_files'::regclass AND indisunique AND NOT indisprimary"""))
        .contains("(patient_id, idempotency_key)");
  }

  /** File names and storage paths are bounded and free of control characters (issue 12). */
  @Test
  void overlongOrControlCharacterNamesAndPathsAreRefusedNamingTheField() throws SQLException {
    String folder = world.patient + "/";
    String[][] cases = {
      {folder + "ok.pdf", "x".repeat(256), "key-long-name", "p_filename is 256 characters long; at most 255 are allowed"},
      {folder + "ok.pdf", "x".repeat(15_000), "key-huge-name", "p_filename is 15000 characters long; at most 255 are allowed"},
      {folder + "ok.pdf", "scan\n2026-01-01 INFO forged line", "key-nl-name", "p_filename contains control characters"},
      {folder + "ok.pdf", "tab\tname.pdf", "key-tab-name", "p_filename contains control characters"},
      {folder + "a\nb.pdf", "a.pdf", "key-nl-path", "p_storage_path contains control characters"},
      {folder + "a\rb.pdf", "a.pdf", "key-cr-path", "p_storage_path contains control characters"},
      {folder + "d/".repeat(500) + "a.pdf", "a.pdf", "key-long-path", "p_storage_path is 1042 characters long; at most 1024 are allowed"},
      {folder + "a.pdf", "a.pdf", "key\u0007bell", "p_idempotency_key contains control characters"},
    };
    long files = world.count("SELECT count(*) FROM public.shell_files");
    long audits = world.count("SELECT count(*) FROM public.audit_log");
    for (String[] c : cases) {
      String path = c[0];
      String name = c[1];
      String key = c[2];
      assertThatThrownBy(() -> world.api.request(world.token(world.owner), conn -> {
            try (PreparedStatement ps = conn.prepareStatement(
                "SELECT * FROM public.register_shell_file(?, 'medical-docs', ?, ?, 'application/pdf', 10, ?)")) {
              ps.setObject(1, world.patient);
              ps.setString(2, path);
              ps.setString(3, name);
              ps.setString(4, key);
              ps.executeQuery().close();
            }
            return null;
          }))
          .as(c[3])
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("register_shell_file: " + c[3])
          .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("22023");
    }
    // A 255-character name is fine.
    Boolean created = world.api.request(world.token(world.owner), conn -> {
      try (PreparedStatement ps = conn.prepareStatement(
          "SELECT created FROM public.register_shell_file(?, 'medical-docs', ?, ?, 'application/pdf', 10, 'key-255')")) {
        ps.setObject(1, world.patient);
        ps.setString(2, folder + "ok.pdf");
        ps.setString(3, "y".repeat(255));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getBoolean(1);
        }
      }
    });
    assertThat(created).isTrue();
    assertThat(world.count("SELECT count(*) FROM public.shell_files")).isEqualTo(files + 1);
    assertThat(world.count("SELECT count(*) FROM public.audit_log")).isEqualTo(audits + 1);

    // service_role writing the table directly meets the same checks (trigger), naming the column.
    assertThatThrownBy(() -> world.api.request(world.tokens.serviceRoleKey(), conn -> {
          try (PreparedStatement ps = conn.prepareStatement(
              "UPDATE public.shell_files SET filename = ? WHERE patient_id = ?")) {
            ps.setString(1, "evil\nname");
            ps.setObject(2, world.patient);
            return ps.executeUpdate();
          }
        }))
        .hasMessageContaining("shell_files: filename contains control characters")
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("22023");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
      unknown mime type      | medical-docs | {p}/a.exe         | a.exe | application/x-msdownload | 10        | key-mime  | unknown mime type "application/x-msdownload"
      empty file             | medical-docs | {p}/a.pdf         | a.pdf | application/pdf          | 0         | key-empty | size 0 bytes: the file is empty
      above the limit        | medical-docs | {p}/a.pdf         | a.pdf | application/pdf          | 52428801  | key-big   | size 52428801 bytes is above the limit of 52428800 bytes
      path of another folder | medical-docs | {s}/a.pdf         | a.pdf | application/pdf          | 10        | key-path1 | is outside the patient folder
      path without folder    | medical-docs | a.pdf             | a.pdf | application/pdf          | 10        | key-path2 | is outside the patient folder
      path escaping folder   | medical-docs | {p}/../{s}/a.pdf  | a.pdf | application/pdf          | 10        | key-path3 | is outside the patient folder
      folder only            | medical-docs | {p}/              | a.pdf | application/pdf          | 10        | key-path4 | is outside the patient folder
      missing key            | medical-docs | {p}/a.pdf         | a.pdf | application/pdf          | 10        | NULL      | p_idempotency_key is required
      blank key              | medical-docs | {p}/a.pdf         | a.pdf | application/pdf          | 10        | '  '      | p_idempotency_key is required
      another bucket         | public-stuff | {p}/a.pdf         | a.pdf | application/pdf          | 10        | key-bkt   | bucket "public-stuff" is not the documents bucket "medical-docs"
      missing filename       | medical-docs | {p}/a.pdf         | ' '   | application/pdf          | 10        | key-name  | p_filename is required
      missing size           | medical-docs | {p}/a.pdf         | a.pdf | application/pdf          | NULL      | key-nosz  | size NULL bytes: the file is empty
      """)
  void badInputIsRefusedWithAClearErrorAndWritesNothing(String why, String bucket, String path, String filename,
      String mime, Long size, String key, String message) throws SQLException {
    String storagePath = path.replace("{p}", world.patient.toString()).replace("{s}", world.strangersPatient.toString());
    long files = world.count("SELECT count(*) FROM public.shell_files");
    long jobs = world.count("SELECT count(*) FROM public.job_queue");
    long audits = world.count("SELECT count(*) FROM public.audit_log");

    assertThatThrownBy(() -> world.api.request(world.token(world.owner), c -> {
          try (PreparedStatement ps = c.prepareStatement(
              "SELECT * FROM public.register_shell_file(?, ?, ?, ?, ?, ?, ?)")) {
            ps.setObject(1, world.patient);
            ps.setString(2, bucket);
            ps.setString(3, storagePath);
            ps.setString(4, filename);
            ps.setString(5, mime);
            ps.setObject(6, size, java.sql.Types.BIGINT);
            ps.setString(7, key);
            ps.executeQuery().close();
          }
          return null;
        }))
        .as(why)
        .isInstanceOf(SQLException.class)
        .hasMessageContaining(message)
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("22023");

    assertThat(world.count("SELECT count(*) FROM public.shell_files")).isEqualTo(files);
    assertThat(world.count("SELECT count(*) FROM public.job_queue")).isEqualTo(jobs);
    assertThat(world.count("SELECT count(*) FROM public.audit_log")).isEqualTo(audits);
  }

  @Test
  void theSizeLimitAndMimeTypesComeFromTheSettingsTable() throws SQLException {
    world.execute("UPDATE public.upload_settings SET max_size_bytes = 100, allowed_mime_types = ARRAY['image/png']");
    try {
      assertThatThrownBy(() -> world.api.request(world.token(world.owner),
              c -> SecurityWorld.registerOn(c, world.patient, "limit-101", "image/png", 101L)))
          .hasMessageContaining("size 101 bytes is above the limit of 100 bytes");
      assertThatThrownBy(() -> world.api.request(world.token(world.owner),
              c -> SecurityWorld.registerOn(c, world.patient, "limit-pdf", "application/pdf", 10L)))
          .hasMessageContaining("unknown mime type \"application/pdf\" (allowed: image/png)");
      assertThat(world.api.request(world.token(world.owner),
              c -> SecurityWorld.registerOn(c, world.patient, "limit-100", "image/png", 100L)).created())
          .isTrue();
    } finally {
      world.execute("UPDATE public.upload_settings SET max_size_bytes = DEFAULT, allowed_mime_types = DEFAULT");
    }
  }

  @Test
  void aThousandConcurrentCallsWithOneKeyMakeOneFileAndOneJob() throws Exception {
    List<SecurityWorld.Registration> results = concurrently(i -> "one-key-for-all");

    Set<SecurityWorld.Registration> distinct = new HashSet<>();
    results.forEach(r -> distinct.add(new SecurityWorld.Registration(r.shellFileId(), r.jobId(), false)));
    assertThat(distinct).as("every call got the same file and job").hasSize(1);
    assertThat(results.stream().filter(SecurityWorld.Registration::created).count())
        .as("exactly one call created it").isEqualTo(1);
    assertThat(world.count("SELECT count(*) FROM public.shell_files WHERE idempotency_key = 'one-key-for-all'"))
        .isEqualTo(1);
    UUID file = results.get(0).shellFileId();
    assertThat(world.count("SELECT count(*) FROM public.job_queue WHERE shell_file_id = ?", file)).isEqualTo(1);
    assertThat(world.count("SELECT count(*) FROM public.audit_log WHERE table_name = 'shell_files' AND record_id = ?",
        file.toString())).isEqualTo(1);
  }

  @Test
  void aThousandConcurrentCallsWithDistinctKeysMakeAThousandOfEach() throws Exception {
    List<SecurityWorld.Registration> results = concurrently(i -> "distinct-" + i);

    assertThat(results).allMatch(SecurityWorld.Registration::created);
    assertThat(results.stream().map(SecurityWorld.Registration::shellFileId).distinct().count()).isEqualTo(CALLS);
    assertThat(results.stream().map(SecurityWorld.Registration::jobId).distinct().count()).isEqualTo(CALLS);
    assertThat(world.count("SELECT count(*) FROM public.shell_files WHERE idempotency_key LIKE 'distinct-%'"))
        .isEqualTo(CALLS);
    assertThat(world.count("""
        SELECT count(*) FROM public.shell_files f JOIN public.job_queue j ON j.id = f.processing_job_id
         WHERE f.idempotency_key LIKE 'distinct-%' AND j.shell_file_id = f.id
           AND j.idempotency_key = f.id::text || ':document_extraction'"""))
        .as("each file has its own job, pointing back at it").isEqualTo(CALLS);
  }

  private List<SecurityWorld.Registration> concurrently(java.util.function.IntFunction<String> keyOf)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<SecurityWorld.Registration>> futures = new ArrayList<>();
    UUID[] users = {world.owner, world.fullAccess, world.readWrite};
    try {
      for (int i = 0; i < CALLS; i++) {
        int n = i;
        futures.add(pool.submit(() -> {
          start.await();
          return world.register(users[n % users.length], keyOf.apply(n));
        }));
      }
      start.countDown();
      List<SecurityWorld.Registration> results = new ArrayList<>();
      for (Future<SecurityWorld.Registration> f : futures) {
        results.add(f.get(2, TimeUnit.MINUTES));
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }
}
