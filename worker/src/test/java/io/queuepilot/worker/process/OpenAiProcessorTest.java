package io.queuepilot.worker.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.WorkerMetrics;
import io.queuepilot.worker.fakes.Documents;
import io.queuepilot.worker.fakes.RecordingTokenBudget;
import io.queuepilot.worker.fakes.TestJobContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OpenAiProcessor through openai-java against the OpenAI fake: output, usage, budget, 429s, 5xx, bad output. */
class OpenAiProcessorTest {

  @TempDir Path dir;
  private FakeOpenAi openai;
  private OpenAiModelClient client;
  private final RecordingTokenBudget budget = new RecordingTokenBudget();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private OpenAiProcessor processor;
  private final io.queuepilot.worker.ProviderHalt halt = new io.queuepilot.worker.ProviderHalt(java.time.Clock.systemUTC());

  @BeforeEach
  void start() throws Exception {
    openai = new FakeOpenAi("sk-test", 7).latency(5, 20).resetMillis(250);
    client = new OpenAiModelClient(openai.baseUrl(), "sk-test", Duration.ofSeconds(10));
    processor = new OpenAiProcessor(client, budget, new WorkerMetrics(registry), halt,
        new OpenAiProcessor.Settings("gpt-4o-mini", 50_000, 2, 300, 40, 50_000, 1 << 20, Duration.ofSeconds(10),
            Duration.ofSeconds(60)));
  }

  @AfterEach
  void stop() {
    client.close();
    openai.close();
  }

  private DocumentInput text(String content) throws Exception {
    Path f = dir.resolve("doc-" + System.nanoTime() + ".txt");
    Files.writeString(f, content);
    return new DocumentInput(f, Files.size(f), "text/plain", f.getFileName().toString());
  }

  private DocumentInput file(String name, byte[] bytes, String mime) throws Exception {
    Path f = dir.resolve(name);
    Files.write(f, bytes);
    return new DocumentInput(f, bytes.length, mime, name);
  }

  private JobFailure failure(DocumentInput in) {
    try {
      processor.process(new TestJobContext("{}"), in);
    } catch (JobFailure f) {
      return f;
    } catch (Exception e) {
      throw new AssertionError("expected JobFailure, got " + e, e);
    }
    throw new AssertionError("expected JobFailure");
  }

  @Test
  void extractsStructuredEventsAndSettlesTheRealUsage() throws Exception {
    Extraction ex = processor.process(new TestJobContext("{}"),
        text("DOC-ID: d1\nMedications:\n- Metformin 500 mg\n- Ramipril 5 mg\nBP 128/82\n"));
    assertThat(ex.processor()).isEqualTo("openai");
    assertThat(ex.model()).isEqualTo("gpt-4o-mini-2024-07-18");
    assertThat(ex.events()).extracting(ClinicalEvent::name).containsExactly("Metformin", "Ramipril", "blood pressure");
    assertThat(ex.events().get(0).value()).isEqualTo("500");
    assertThat(ex.text()).contains("Metformin");

    FakeOpenAi.Call call = openai.calls().get(0);
    assertThat(call.request().path("response_format").path("json_schema").path("name").asText()).isEqualTo("clinical_events");
    assertThat(call.request().path("max_completion_tokens").asInt()).isEqualTo(300);
    assertThat(budget.reserved).singleElement().satisfies(r -> assertThat(r).isGreaterThanOrEqualTo(call.rateLimitTokens()));
    assertThat(budget.settled).containsExactly((long) ex.tokensUsed());
    assertThat(ex.tokensUsed()).isPositive();
    assertThat(registry.find("queuepilot.worker.tokens.used").counter().count()).isEqualTo((double) ex.tokensUsed());
  }

  @Test
  void imagesGoThroughVisionAndTextlessPdfsAsRenderedPages() throws Exception {
    Extraction img = processor.process(new TestJobContext("{}"), file("scan.png", Documents.png(), "image/png"));
    assertThat(img.events()).isEmpty();
    assertThat(openai.calls().get(0).images()).isEqualTo(1);
    assertThat(openai.calls().get(0).request().toString()).contains("data:image/jpeg;base64,"); // re-encoded at the size OpenAI keeps

    byte[] blank = Documents.pdf(List.of(List.of(), List.of(), List.of()));
    Extraction scanned = processor.process(new TestJobContext("{}"), file("scanned.pdf", blank, "application/pdf"));
    assertThat(scanned.pageCount()).isEqualTo(3);
    // every page is sent, at most QUEUEPILOT_OPENAI_MAX_PAGE_IMAGES=2 per call
    assertThat(openai.calls().get(1).images()).isEqualTo(2);
    assertThat(openai.calls().get(2).images()).isEqualTo(1);
    assertThat(scanned.pagesRead()).isEqualTo(3);
    assertThat(scanned.unreadPages()).isEmpty();
  }

  @Test
  void a429BlocksTheBudgetAndReleasesWithTheResetDelay() throws Exception {
    openai.failures(1.0, 0.0);
    JobFailure f = failure(text("DOC-ID: d2\n- Aspirin 81 mg\n"));
    assertThat(f.errorClass()).isEqualTo(JobFailure.ErrorClass.RATE_LIMITED);
    assertThat(f.code()).isEqualTo("openai_rate_limited");
    assertThat(f.retryAfter()).contains(Duration.ofMillis(250)); // x-ratelimit-reset-requests: 250ms
    assertThat(budget.blocks).containsExactly(Duration.ofMillis(250));
    assertThat(budget.settled).containsExactly(0L);
    assertThat(registry.find("queuepilot.worker.budget.waits").tag("reason", "openai_429").counter().count()).isEqualTo(1);
  }

  @Test
  void serverErrorsAreRetryableAndKeepTheEstimateCounted() throws Exception {
    openai.failures(0.0, 1.0);
    JobFailure f = failure(text("DOC-ID: d3\n- Aspirin 81 mg\n"));
    assertThat(f.errorClass()).isEqualTo(JobFailure.ErrorClass.RETRYABLE);
    assertThat(f.code()).isEqualTo("model_unavailable");
    assertThat(budget.settled).containsExactlyElementsOf(budget.reserved);
  }

  @Test
  void invalidModelOutputIsAskedOnceMoreThenPermanent() throws Exception {
    JobFailure notJson = failure(text("DOC-ID: d4\n#INVALID_JSON\n"));
    assertThat(notJson.errorClass()).isEqualTo(JobFailure.ErrorClass.PERMANENT);
    assertThat(notJson.code()).isEqualTo("invalid_model_output");
    assertThat(notJson.getMessage()).contains("not valid JSON");
    assertThat(openai.calls()).hasSize(2);

    JobFailure missing = failure(text("DOC-ID: d5\n#MISSING_FIELDS\n"));
    assertThat(missing.code()).isEqualTo("invalid_model_output");
    assertThat(missing.getMessage()).contains("events[0]").contains("'name'");
  }

  @Test
  void aFullBudgetReleasesTheJobWithoutCallingTheModel() throws Exception {
    budget.deny = Duration.ofSeconds(7);
    JobFailure f = failure(text("DOC-ID: d6\n- Aspirin 81 mg\n"));
    assertThat(f.errorClass()).isEqualTo(JobFailure.ErrorClass.RATE_LIMITED);
    assertThat(f.code()).isEqualTo("token_budget_exhausted");
    assertThat(f.retryAfter()).contains(Duration.ofSeconds(7));
    assertThat(openai.calls()).isEmpty();
  }

  @Test
  void estimatesAreUpperBoundsOfWhatTheLimiterCounts() throws Exception {
    for (int i = 0; i < 5; i++) {
      processor.process(new TestJobContext("{}"), text("DOC-ID: e" + i + "\n" + "- Drug " + i + " 10 mg\n".repeat(i * 40)));
    }
    List<FakeOpenAi.Call> calls = openai.calls();
    for (int i = 0; i < calls.size(); i++) {
      assertThat(budget.reserved.get(i)).isGreaterThanOrEqualTo(calls.get(i).rateLimitTokens());
    }
    assertThat(new String(Files.readAllBytes(text("x").file()), StandardCharsets.UTF_8)).isEqualTo("x");
  }
}
