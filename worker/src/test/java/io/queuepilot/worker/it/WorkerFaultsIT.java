package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.fakes.Pipeline;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The same 1,000-document run with the OpenAI fake answering 429 (with reset headers) on 20% of
 * calls and 500 on 5%: everything completes, nothing is dead-lettered for rate limits, and the
 * only attempts spent are the 5xx ones.
 */
class WorkerFaultsIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();

  private Pipeline world;
  private FakeStorage storage;
  private FakeOpenAi openai;
  private final List<WorkerApp> workers = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    world = new Pipeline(pg, "faults_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    openai = new FakeOpenAi(Pipeline.OPENAI_KEY, 4711).latency(50, 500).failures(0.20, 0.05).resetMillis(50);
  }

  @AfterEach
  void stop() {
    workers.forEach(WorkerApp::shutdown);
    openai.close();
    storage.close();
  }

  @Test
  void rateLimitsNeverSpendAttemptsAndServerErrorsDo() throws Exception {
    int n = 1000;
    for (int i = 0; i < n; i++) {
      String key = "f" + i;
      byte[] bytes = WorkerPipelineIT.document(key, 2, false).getBytes(StandardCharsets.UTF_8);
      storage.put(Pipeline.BUCKET, world.path(key, "txt"), "text/plain", bytes);
      world.register(key, "txt", "text/plain", bytes.length);
    }
    for (int w = 0; w < 4; w++) {
      Map<String, String> env = world.supabase(world.openAi(world.env("faults-" + w), openai), storage);
      env.put("QUEUEPILOT_CONCURRENCY", "8");
      // a generous shared budget: never the limit here, but 429s block every replica through it
      env.put("QUEUEPILOT_TOKENS_PER_MINUTE", "100000000");
      workers.add(world.start(env));
    }

    // 5xx retries wait for the database's backoff (10 s, 20 s, ... plus jitter)
    await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(1))
        .until(() -> world.scalar("SELECT count(*) FROM public.jobs WHERE status IN ('completed', 'dead_letter')") == n);

    assertThat(world.scalar("SELECT count(*) FROM public.jobs WHERE status = 'dead_letter'")).isZero();
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events")).isEqualTo(2L * n);

    List<FakeOpenAi.Call> calls = openai.calls();
    long rateLimited = calls.stream().filter(c -> c.outcome() == FakeOpenAi.Outcome.RATE_LIMITED).count();
    long serverErrors = calls.stream().filter(c -> c.outcome() == FakeOpenAi.Outcome.SERVER_ERROR).count();
    assertThat(rateLimited).isGreaterThan(100);
    assertThat(serverErrors).isGreaterThan(10);

    // attempt = 1 + the 5xx answers that document got; error_history holds exactly those
    for (Map<String, Object> row : world.rows("""
        SELECT f.filename, j.attempt, jsonb_array_length(j.error_history) AS failures,
               (SELECT count(*) FROM jsonb_array_elements(j.error_history) h
                 WHERE h -> 'error' ->> 'code' = 'model_unavailable') AS model_failures
          FROM public.jobs j JOIN public.shell_files f ON f.id = j.shell_file_id""")) {
      String key = ((String) row.get("filename")).replace(".txt", "");
      long fiveHundreds = openai.serverErrors(key);
      assertThat(((Number) row.get("attempt")).longValue()).as(key).isEqualTo(1 + fiveHundreds);
      assertThat(((Number) row.get("failures")).longValue()).as(key).isEqualTo(fiveHundreds);
      assertThat(((Number) row.get("model_failures")).longValue()).as(key).isEqualTo(fiveHundreds);
    }
    double released = 0;
    double waits = 0;
    for (WorkerApp w : workers) {
      var r = w.registry().find("queuepilot.worker.jobs.released").tag("reason", "openai_rate_limited").counter();
      released += r == null ? 0 : r.count();
      var b = w.registry().find("queuepilot.worker.budget.waits").tag("reason", "openai_429").counter();
      waits += b == null ? 0 : b.count();
    }
    assertThat(waits).isEqualTo(rateLimited);
    assertThat(released).isEqualTo(rateLimited);
  }
}
