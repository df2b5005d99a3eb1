package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.testkit.WorkerProcess;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Bad input at every door, with real worker processes: the upload door (register_shell_file)
 * refuses what it can judge with a message naming the problem and stores nothing; the worker
 * dead-letters what only the bytes reveal (corrupt, zero-byte, enormous, mislabelled files,
 * broken payloads, path traversal) with a precise code and never crashes; hostile but legal
 * names (unicode, SQL metacharacters, traversal-looking file names) are stored verbatim and
 * processed; unknown job types stay pending untouched; oversized payloads never get in.
 * (Invalid QueueScalers: {@link ControllerChaosIT}.)
 */
class BadInputIT {

  @Test
  void badInputAtEveryDoor() throws Exception {
    try (ChaosWorld world = ChaosWorld.create("badinput", Duration.ofSeconds(8))) {
      world.workerEnv("QUEUEPILOT_MAX_DOCUMENT_BYTES", Integer.toString(1 << 20));
      world.patients(3);
      UUID patient = world.patient(0);
      UUID other = world.patient(1);
      byte[] note = ChaosWorld.clinicalNote(1, 5).getBytes(StandardCharsets.UTF_8);

      // ---- the upload door: refused with a clear message, nothing stored
      Map<String, Runnable> refusedUploads = new LinkedHashMap<>();
      refusedUploads.put("size 0", () -> world.register(patient, patient + "/empty.txt", "empty.txt", "text/plain", 0));
      refusedUploads.put("above the limit", () -> world.register(patient, patient + "/huge.pdf", "huge.pdf", "application/pdf", 10L << 30));
      refusedUploads.put("unknown mime type", () -> world.register(patient, patient + "/x.exe", "x.exe", "application/x-msdownload", 10));
      refusedUploads.put("outside the patient folder", () -> world.register(patient, patient + "/../" + other + "/x.txt", "x.txt", "text/plain", 10));
      refusedUploads.put("outside the patient folder ", () -> world.register(patient, other + "/theirs.txt", "theirs.txt", "text/plain", 10));
      refusedUploads.put("p_filename is required", () -> world.register(patient, patient + "/nameless.txt", " ", "text/plain", 10));
      refusedUploads.forEach((expected, call) -> assertThatThrownBy(call::run).as(expected)
          .hasMessageContaining(expected.trim()));
      assertThat(count(world, "SELECT count(*) FROM public.shell_files")).as("refused uploads store nothing").isZero();

      // ---- the worker door: registered uploads whose bytes are bad
      Map<UUID, String> expectedCode = new LinkedHashMap<>();
      byte[] random = new byte[4096];
      new Random(8).nextBytes(random);
      expectedCode.put(world.upload("corrupt.pdf", "application/pdf", random).jobId(), "corrupt_pdf");
      expectedCode.put(world.upload("truncated.pdf", "application/pdf",
          "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R".getBytes(StandardCharsets.US_ASCII)).jobId(), "corrupt_pdf");
      expectedCode.put(world.upload(patient, patient + "/zero.txt", "zero.txt", "text/plain", new byte[0], 100).jobId(), "empty_document");
      byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
      expectedCode.put(world.upload("scan.txt", "text/plain", png).jobId(), "mime_type_mismatch");
      expectedCode.put(world.upload("note.png", "image/png", note).jobId(), "mime_type_mismatch");
      expectedCode.put(world.upload("note.pdf", "application/pdf", note).jobId(), "corrupt_pdf");
      expectedCode.put(world.upload("photo.png", "image/png", png).jobId(), "unsupported_by_processor");
      byte[] enormous = new byte[3 << 20];
      Arrays.fill(enormous, (byte) 'a');
      expectedCode.put(world.upload("enormous.txt", "text/plain", enormous).jobId(), "document_too_large");
      expectedCode.put(world.register(patient, patient + "/never-uploaded.txt", "never-uploaded.txt", "text/plain", 10).jobId(),
          "object_not_found");

      // ---- hostile but legal names: stored verbatim, processed
      Map<UUID, String> hostileNames = new LinkedHashMap<>();
      for (String name : List.of("../../etc/passwd", "Befund Ärztin – 日本語 🩺.txt", "x'); DROP TABLE public.job_queue; --.txt",
          "%s%n%x\\u0000${jndi:ldap://x}.txt", "..\\..\\windows\\system32.txt")) {
        String path = patient + "/" + UUID.randomUUID() + "/" + name.replace("/", "_").replace("..", "_");
        hostileNames.put(world.upload(patient, path, name, "text/plain", note, note.length).jobId(), name);
      }

      // ---- the payload door (enqueue_job as the service would): broken payloads
      expectedCode.put(enqueue(world, "document_extraction", "{\"shell_file_id\":\"" + UUID.randomUUID() + "\",\"bucket\":\"medical-docs\",\"mime_type\":\"text/plain\"}"),
          "invalid_payload"); // storage_path missing
      expectedCode.put(enqueue(world, "document_extraction", "{\"shell_file_id\":\"not-a-uuid\",\"bucket\":\"medical-docs\",\"storage_path\":\"a.txt\",\"mime_type\":\"text/plain\"}"),
          "invalid_payload");
      expectedCode.put(enqueue(world, "document_extraction", "{\"shell_file_id\":\"" + UUID.randomUUID() + "\",\"bucket\":\"medical-docs\",\"storage_path\":\"../../../../etc/passwd\",\"mime_type\":\"text/plain\"}"),
          "invalid_reference");
      expectedCode.put(enqueue(world, "document_extraction", "{\"shell_file_id\":\"" + UUID.randomUUID() + "\",\"bucket\":\"medical-docs\",\"storage_path\":\"/etc/passwd\",\"mime_type\":\"text/plain\"}"),
          "invalid_reference");
      expectedCode.put(enqueue(world, "document_extraction", "{\"shell_file_id\":\"" + UUID.randomUUID() + "\",\"bucket\":\"../..\",\"storage_path\":\"etc/passwd\",\"mime_type\":\"text/plain\"}"),
          "invalid_reference");
      expectedCode.put(enqueue(world, "document_extraction", "{\"shell_file_id\":42,\"bucket\":[],\"storage_path\":{},\"mime_type\":null}"),
          "invalid_payload");
      // extra fields are ignored: a real upload whose job payload carries more than the contract
      UUID extraJob = extraFieldsJob(world, patient, note);
      // unknown job type: no worker claims it; it waits, visible, untouched
      UUID unknown = enqueue(world, "mystery_job", "{\"anything\":true}");
      // never get in: oversized payload, invalid job type, payload that is not an object
      String big = "{\"blob\":\"" + "x".repeat(40_000) + "\"}";
      assertThatThrownBy(() -> enqueue(world, "document_extraction", big)).hasMessageContaining("at most 16384");
      assertThatThrownBy(() -> enqueue(world, "DROP TABLE x", "{}")).hasMessageContaining("p_job_type");
      assertThatThrownBy(() -> enqueue(world, "document_extraction", "[1,2]")).hasMessageContaining("must be a JSON object");
      long jobsBefore = count(world, "SELECT count(*) FROM public.jobs");

      world.startWorkers(2);
      int documentJobs = (int) count(world, "SELECT count(*) FROM public.jobs WHERE job_type = 'document_extraction'");
      world.awaitDrainedExcept(List.of("mystery_job"), Duration.ofMinutes(3));
      List<Boolean> alive = world.workers().stream().map(WorkerProcess::healthy).toList();
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check(List.of("mystery_job")).assertHolds();

      assertThat(alive).as("no bad input crashed a worker").containsOnly(true);
      assertThat(exits.values()).containsOnly(0);
      assertThat(count(world, "SELECT count(*) FROM public.jobs")).as("nothing refused got in later").isEqualTo(jobsBefore);
      Map<UUID, String> actual = new LinkedHashMap<>();
      for (UUID id : expectedCode.keySet()) {
        actual.put(id, str(world, "SELECT status || ':' || coalesce(error ->> 'code', '') FROM public.jobs WHERE id = '" + id + "'"));
      }
      Map<UUID, String> wanted = new LinkedHashMap<>();
      expectedCode.forEach((id, code) -> wanted.put(id, "dead_letter:" + code));
      assertThat(actual).isEqualTo(wanted);
      for (Map.Entry<UUID, String> e : hostileNames.entrySet()) {
        assertThat(str(world, "SELECT j.status || '|' || f.filename FROM public.jobs j JOIN public.shell_files f ON f.id = j.shell_file_id "
            + "WHERE j.id = '" + e.getKey() + "'")).isEqualTo("completed|" + e.getValue());
      }
      assertThat(str(world, "SELECT status FROM public.jobs WHERE id = '" + extraJob + "'")).isEqualTo("completed");
      assertThat(str(world, "SELECT status || ':' || attempt FROM public.jobs WHERE id = '" + unknown + "'")).isEqualTo("pending:0");
      assertThat(r.unclaimedPending()).isEqualTo(1);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lost()).isZero();
      Map<String, Long> reasons = r.deadLetterReasons();
      ScenarioReport.row("bad input at every door", r.jobs() + r.unclaimedPending(),
          refusedUploads.size() + " uploads refused at register_shell_file, 3 payloads refused at enqueue_job, "
              + expectedCode.size() + " bad files/payloads, " + hostileNames.size() + " hostile names, 1 extra-fields payload, "
              + "1 unknown job type",
          r.completed() + " (hostile names + extra fields) + 1 unknown type left pending",
          r.deadLettered() + " (" + r.deadLetterSummary() + ")", r.duplicates(), r.lost(), "—",
          "no worker crashed; " + documentJobs + " document jobs settled");
      assertThat(reasons.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(expectedCode.size());
    }
  }

  private static UUID extraFieldsJob(ChaosWorld world, UUID patient, byte[] note) throws Exception {
    String path = patient + "/extra-fields.txt";
    java.nio.file.Path file = world.storeDir().resolve(ChaosWorld.BUCKET).resolve(path);
    java.nio.file.Files.createDirectories(file.getParent());
    java.nio.file.Files.write(file, note);
    try (Connection c = world.superuser().getConnection()) {
      UUID shell;
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO public.shell_files (patient_id, storage_bucket, storage_path, filename, "
          + "mime_type, size_bytes, idempotency_key) VALUES (?, 'medical-docs', ?, 'extra-fields.txt', 'text/plain', ?, ?) RETURNING id")) {
        ps.setObject(1, patient);
        ps.setString(2, path);
        ps.setLong(3, note.length);
        ps.setString(4, "extra:" + path);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          shell = (UUID) rs.getObject(1);
        }
      }
      String payload = "{\"shell_file_id\":\"" + shell + "\",\"bucket\":\"medical-docs\",\"storage_path\":\"" + path
          + "\",\"filename\":\"extra-fields.txt\",\"mime_type\":\"text/plain\",\"size_bytes\":" + note.length
          + ",\"priority_hint\":\"urgent\",\"uploaded_via\":{\"app\":\"ios\",\"version\":[1,2,3]},\"base64\":null}";
      UUID job;
      try (PreparedStatement ps = c.prepareStatement("SELECT public.enqueue_job('document_extraction', ?::jsonb, ?, "
          + "p_job_lane => 'ai', p_patient_id => ?, p_shell_file_id => ?)")) {
        ps.setString(1, payload);
        ps.setString(2, shell + ":document_extraction");
        ps.setObject(3, patient);
        ps.setObject(4, shell);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          job = (UUID) rs.getObject(1);
        }
      }
      try (Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE public.shell_files SET processing_job_id = '" + job + "' WHERE id = '" + shell + "'");
      }
      return job;
    }
  }

  private static UUID enqueue(ChaosWorld world, String type, String payload) {
    try (Connection c = world.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.enqueue_job(?, ?::jsonb, ?)")) {
      ps.setString(1, type);
      ps.setString(2, payload);
      ps.setString(3, "bad:" + UUID.randomUUID());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return (UUID) rs.getObject(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  private static long count(ChaosWorld world, String sql) throws SQLException {
    try (Connection c = world.superuser().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String str(ChaosWorld world, String sql) throws SQLException {
    try (Connection c = world.superuser().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }
}
