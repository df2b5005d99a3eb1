package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.fakes.Pipeline;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * 1,000 uploads registered through register_shell_file, processed by 4 worker replicas (separate
 * pools, one JVM) against the OpenAI fake answering in 50–500 ms: everything completes, each
 * document's clinical rows exist exactly once, one audit event per row.
 */
class WorkerPipelineIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();

  private Pipeline world;
  private FakeStorage storage;
  private FakeOpenAi openai;
  private final List<WorkerApp> workers = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    world = new Pipeline(pg, "pipeline_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    openai = new FakeOpenAi(Pipeline.OPENAI_KEY, 42).latency(50, 500);
  }

  @AfterEach
  void stop() {
    workers.forEach(WorkerApp::shutdown);
    openai.close();
    storage.close();
  }

  /** A document of the fake's format with {@code meds} medications (and a BP reading on every third). */
  static String document(String key, int meds, boolean bp) {
    StringBuilder b = new StringBuilder("DOC-ID: " + key + "\nClinic letter\nMedications:\n");
    for (int m = 0; m < meds; m++) {
      b.append("- drug-").append(key).append('-').append(m).append(' ').append(10 * (m + 1)).append(" mg\n");
    }
    if (bp) {
      b.append("BP 12").append(meds).append("/80\n");
    }
    return b.toString();
  }

  @Test
  void thousandDocumentsFourWorkersEachRowExactlyOnce() throws Exception {
    int n = 1000;
    Map<UUID, Integer> expected = new HashMap<>();
    for (int i = 0; i < n; i++) {
      String key = "doc" + i;
      int meds = 1 + i % 3;
      boolean bp = i % 3 == 0;
      byte[] bytes = document(key, meds, bp).getBytes(StandardCharsets.UTF_8);
      storage.put(Pipeline.BUCKET, world.path(key, "txt"), "text/plain", bytes);
      Pipeline.Upload u = world.register(key, "txt", "text/plain", bytes.length);
      expected.put(u.shellFileId(), meds + (bp ? 1 : 0));
    }
    for (int w = 0; w < 4; w++) {
      Map<String, String> env = world.supabase(world.openAi(world.env("pipeline-" + w), openai), storage);
      env.put("QUEUEPILOT_CONCURRENCY", "8");
      workers.add(world.start(env));
    }

    await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofSeconds(1))
        .until(() -> world.scalar("SELECT count(*) FROM public.jobs WHERE status = 'completed'") == n);

    assertThat(world.scalar("SELECT count(*) FROM public.jobs WHERE status <> 'completed'")).isZero();
    assertThat(world.scalar("SELECT count(*) FROM public.shell_files WHERE status = 'completed'")).isEqualTo(n);
    assertThat(world.scalar("SELECT count(*) FROM public.document_texts")).isEqualTo(n);
    long expectedRows = expected.values().stream().mapToLong(Integer::longValue).sum();
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events")).isEqualTo(expectedRows);
    for (Map<String, Object> row : world.rows(
        "SELECT shell_file_id, count(*) AS n, count(DISTINCT name) AS names FROM public.clinical_events GROUP BY shell_file_id")) {
      int want = expected.get((UUID) row.get("shell_file_id"));
      assertThat(((Number) row.get("n")).intValue()).isEqualTo(want);
      assertThat(((Number) row.get("names")).intValue()).isEqualTo(want);
    }
    // each clinical row written by the job that completed its shell file, audited exactly once
    assertThat(world.scalar("""
        SELECT count(*) FROM public.clinical_events e JOIN public.jobs j ON j.shell_file_id = e.shell_file_id
         WHERE e.job_id <> j.id""")).isZero();
    assertThat(world.scalar("""
        SELECT count(*) FROM public.audit_log WHERE table_name = 'clinical_events' AND operation = 'INSERT'"""))
        .isEqualTo(expectedRows);
    assertThat(world.scalar("""
        SELECT count(*) FROM public.clinical_events e
         WHERE (SELECT count(*) FROM public.audit_log a
                 WHERE a.table_name = 'clinical_events' AND a.record_id = e.id::text
                   AND a.job_id = e.job_id AND a.patient_id = e.patient_id) <> 1""")).isZero();
    assertThat(world.scalar("SELECT count(*) FROM public.audit_log WHERE table_name = 'clinical_events' AND operation = 'DELETE'"))
        .isZero();
    // usage tokens recorded on the job
    assertThat(world.scalar("SELECT count(*) FROM public.jobs WHERE tokens_used IS NULL OR tokens_used <= 0")).isZero();
    assertThat(world.scalar("SELECT count(DISTINCT worker_id) FROM public.jobs")).isGreaterThanOrEqualTo(2);
    assertThat(openai.calls()).hasSize(n);

    String metrics = get(workers.get(0).httpPort(), "/metrics");
    assertThat(metrics).contains("queuepilot_worker_jobs_completed_total{job_type=\"document_extraction\"")
        .contains("queuepilot_worker_job_duration_seconds_bucket")
        .contains("queuepilot_worker_tokens_used_total")
        .contains("queuepilot_worker_jobs_in_flight")
        .contains("queuepilot_worker_job_allocated_bytes_count");
    assertThat(get(workers.get(0).httpPort(), "/readyz")).startsWith("ready");
    assertThat(get(workers.get(0).httpPort(), "/healthz")).isEqualTo("ok\n");
  }

  static String get(int port, String path) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString());
    return r.body();
  }
}
