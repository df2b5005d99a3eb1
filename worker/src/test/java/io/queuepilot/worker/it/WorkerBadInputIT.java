package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.fakes.Documents;
import io.queuepilot.worker.fakes.Pipeline;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bad inputs end in a clear dead-letter error after one attempt, the shell file is marked failed
 * with that error, and no clinical row or document text is written for them.
 */
class WorkerBadInputIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();
  private static final ObjectMapper JSON = new ObjectMapper();

  private Pipeline world;
  private FakeStorage storage;
  private FakeOpenAi openai;
  private WorkerApp app;

  @BeforeEach
  void start() throws Exception {
    world = new Pipeline(pg, "bad_input_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    openai = new FakeOpenAi(Pipeline.OPENAI_KEY, 3).latency(5, 20);
  }

  @AfterEach
  void stop() {
    if (app != null) {
      app.shutdown();
    }
    openai.close();
    storage.close();
  }

  private UUID upload(String key, String ext, String mime, byte[] stored, long declaredSize) throws Exception {
    if (stored != null) {
      storage.put(Pipeline.BUCKET, world.path(key, ext), mime, stored);
    }
    return world.register(key, ext, mime, declaredSize).jobId();
  }

  @Test
  void eachBadInputIsDeadLetteredWithAClearErrorAndNoPartialRows() throws Exception {
    Map<UUID, String> expected = new LinkedHashMap<>();
    expected.put(upload("zero", "pdf", "application/pdf", new byte[0], 1234), "empty_document");
    expected.put(upload("corrupt", "pdf", "application/pdf",
        "%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage".getBytes(StandardCharsets.US_ASCII), 40), "corrupt_pdf");
    // a type the upload settings accept but the content does not match
    expected.put(upload("fakefax", "tiff", "image/tiff", "%PDF-1.7 not a tiff".getBytes(StandardCharsets.US_ASCII), 19),
        "mime_type_mismatch");
    expected.put(upload("mislabeled", "txt", "text/plain", Documents.png(), 100), "mime_type_mismatch");
    expected.put(upload("missing", "pdf", "application/pdf", null, 5000), "object_not_found");
    expected.put(upload("notjson", "txt", "text/plain", "DOC-ID: nj\n#INVALID_JSON\n".getBytes(StandardCharsets.UTF_8), 26),
        "invalid_model_output");
    expected.put(upload("nofields", "txt", "text/plain", "DOC-ID: nf\n#MISSING_FIELDS\n".getBytes(StandardCharsets.UTF_8), 27),
        "invalid_model_output");
    // a job naming a shell file that does not exist (enqueued directly, its document present)
    UUID ghost = UUID.randomUUID();
    String ghostPath = world.path("ghost", "txt");
    storage.put(Pipeline.BUCKET, ghostPath, "text/plain", "DOC-ID: ghost\n- Aspirin 81 mg\n".getBytes(StandardCharsets.UTF_8));
    UUID ghostJob;
    try (Connection c = world.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("""
            SELECT public.enqueue_job(p_job_type => 'document_extraction', p_payload => ?::jsonb,
                                      p_idempotency_key => ?, p_job_lane => 'ai', p_shell_file_id => ?)""")) {
      ps.setString(1, JSON.createObjectNode().put("shell_file_id", ghost.toString()).put("bucket", Pipeline.BUCKET)
          .put("storage_path", ghostPath).put("filename", "ghost.txt").put("mime_type", "text/plain").put("size_bytes", 30)
          .toString());
      ps.setString(2, ghost + ":document_extraction");
      ps.setObject(3, ghost);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        ghostJob = rs.getObject(1, UUID.class);
      }
    }
    expected.put(ghostJob, "reference_not_found");

    app = world.start(world.supabase(world.openAi(world.env("bad-inputs"), openai), storage));
    await().atMost(Duration.ofMinutes(1))
        .until(() -> world.scalar("SELECT count(*) FROM public.jobs WHERE status = 'dead_letter'") == expected.size());

    for (Map.Entry<UUID, String> e : expected.entrySet()) {
      UUID job = e.getKey();
      JsonNode error = JSON.readTree(world.text("SELECT error::text FROM public.jobs WHERE id = ?", job));
      assertThat(error.get("class").asText()).as(e.getValue()).isEqualTo("permanent");
      assertThat(error.get("code").asText()).as(job.toString()).isEqualTo(e.getValue());
      assertThat(error.get("message").asText()).isNotBlank();
      assertThat(world.scalar("SELECT attempt FROM public.jobs WHERE id = ?", job)).as(e.getValue()).isEqualTo(1);
    }
    assertThat(JSON.readTree(world.text("SELECT error::text FROM public.jobs WHERE id = ?", ghostJob))
        .get("message").asText()).contains("does not exist");
    // the shell files say what went wrong; nothing clinical was written for any of them
    assertThat(world.scalar("SELECT count(*) FROM public.shell_files WHERE status = 'failed'")).isEqualTo(expected.size() - 1);
    assertThat(world.scalar("""
        SELECT count(*) FROM public.shell_files f JOIN public.jobs j ON j.id = f.processing_job_id
         WHERE f.processing_error ->> 'code' IS DISTINCT FROM j.error ->> 'code'""")).isZero();
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events")).isZero();
    assertThat(world.scalar("SELECT count(*) FROM public.document_texts")).isZero();
    assertThat(world.text("SELECT processing_error ->> 'message' FROM public.shell_files WHERE filename = 'fakefax.tiff'"))
        .contains("image/tiff");
  }
}
