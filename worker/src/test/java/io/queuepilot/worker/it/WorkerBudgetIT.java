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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shared budget across 4 replicas: with N tokens per window the OpenAI fake never sees more
 * than N rate-limit tokens (prompt + max_completion_tokens, as OpenAI's limiter counts them) in
 * any window-long interval. The window is 3 s instead of a minute to keep the test short; the
 * mechanism is the same sliding window.
 */
class WorkerBudgetIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();
  private static final long N = 4000;
  private static final long WINDOW_NANOS = Duration.ofSeconds(3).toNanos();

  private Pipeline world;
  private FakeStorage storage;
  private FakeOpenAi openai;
  private final List<WorkerApp> workers = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    world = new Pipeline(pg, "budget_it_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    openai = new FakeOpenAi(Pipeline.OPENAI_KEY, 99).latency(20, 200);
  }

  @AfterEach
  void stop() {
    workers.forEach(WorkerApp::shutdown);
    openai.close();
    storage.close();
  }

  @Test
  void theFakeNeverSeesMoreThanTheBudgetInAnyWindow() throws Exception {
    int n = 30;
    for (int i = 0; i < n; i++) {
      String key = "b" + i;
      byte[] bytes = WorkerPipelineIT.document(key, 3, true).getBytes(StandardCharsets.UTF_8);
      storage.put(Pipeline.BUCKET, world.path(key, "txt"), "text/plain", bytes);
      world.register(key, "txt", "text/plain", bytes.length);
    }
    for (int w = 0; w < 4; w++) {
      Map<String, String> env = world.supabase(world.openAi(world.env("budget-" + w), openai), storage);
      env.put("QUEUEPILOT_CONCURRENCY", "4");
      env.put("QUEUEPILOT_TOKENS_PER_MINUTE", String.valueOf(N));
      env.put("QUEUEPILOT_REQUESTS_PER_MINUTE", "1000");
      env.put("QUEUEPILOT_BUDGET_WINDOW_SECONDS", "3");
      workers.add(world.start(env));
    }
    long started = System.nanoTime();
    await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
        .until(() -> world.scalar("SELECT count(*) FROM public.jobs WHERE status = 'completed'") == n);
    long took = System.nanoTime() - started;

    List<FakeOpenAi.Call> calls = new ArrayList<>(openai.calls());
    calls.sort(Comparator.comparingLong(FakeOpenAi.Call::arrivedNanos));
    assertThat(calls).hasSize(n);
    long maxInWindow = 0;
    for (int i = 0; i < calls.size(); i++) {
      long sum = 0;
      for (int j = i; j < calls.size() && calls.get(j).arrivedNanos() - calls.get(i).arrivedNanos() < WINDOW_NANOS; j++) {
        sum += calls.get(j).rateLimitTokens();
      }
      maxInWindow = Math.max(maxInWindow, sum);
    }
    long total = calls.stream().mapToLong(FakeOpenAi.Call::rateLimitTokens).sum();
    assertThat(maxInWindow).isLessThanOrEqualTo(N);
    // the budget was what paced the run: far more than N in total, so it had to wait for windows
    assertThat(total).isGreaterThan(3 * N);
    assertThat(took).isGreaterThan(2 * WINDOW_NANOS);
    double waits = 0;
    for (WorkerApp w : workers) {
      var c = w.registry().find("queuepilot.worker.budget.waits").tag("reason", "token_budget").counter();
      waits += c == null ? 0 : c.count();
    }
    assertThat(waits).isPositive();
    assertThat(world.scalar("SELECT count(*) FROM public.jobs WHERE attempt <> 1")).isZero();
  }
}
