package io.queuepilot.worker.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.JobFailure.ErrorClass;
import io.queuepilot.worker.ProviderHalt;
import io.queuepilot.worker.WorkerMetrics;
import io.queuepilot.worker.fakes.RecordingTokenBudget;
import io.queuepilot.worker.fakes.TestJobContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenAI's failures read by their documented meaning, through openai-java against the fake's
 * real error bodies: quota is not a rate limit, a refused key is not retryable, a parameter the
 * model rejects is a configuration error; OpenAI-compatible and Azure endpoints speak their own
 * paths and headers.
 */
class ProviderErrorsTest {

  @TempDir Path dir;
  private FakeOpenAi openai;
  private final RecordingTokenBudget budget = new RecordingTokenBudget();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ProviderHalt halt = new ProviderHalt(Clock.systemUTC());
  private OpenAiModelClient client;

  @BeforeEach
  void start() throws Exception {
    openai = new FakeOpenAi("sk-test", 3).latency(1, 5);
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    openai.close();
  }

  private OpenAiProcessor processor(OpenAiModelClient c, String model) {
    this.client = c;
    WorkerMetrics metrics = new WorkerMetrics(registry);
    metrics.providerHalt(halt);
    return new OpenAiProcessor(c, budget, metrics, halt, new OpenAiProcessor.Settings(model, 50_000, 2, 300, 40, 50_000,
        1 << 20, Duration.ofSeconds(10), Duration.ofMinutes(15)));
  }

  private OpenAiProcessor processor(String model) {
    return processor(new OpenAiModelClient(openai.baseUrl(), "sk-test", Duration.ofSeconds(10)), model);
  }

  private DocumentInput text(String content) throws Exception {
    Path f = dir.resolve("doc-" + System.nanoTime() + ".txt");
    Files.writeString(f, content);
    return new DocumentInput(f, Files.size(f), "text/plain", "note.txt");
  }

  private static JobFailure failure(OpenAiProcessor p, DocumentInput in) {
    try {
      p.process(new TestJobContext("{}"), in);
    } catch (JobFailure f) {
      return f;
    } catch (Exception e) {
      throw new AssertionError("expected JobFailure, got " + e, e);
    }
    throw new AssertionError("expected JobFailure");
  }

  private double halted(String reason) {
    return registry.find("queuepilot.worker.provider.halted").tag("reason", reason).gauge().value();
  }

  @Test
  void insufficientQuotaStopsTheFleetInsteadOfLookingLikeARateLimit() throws Exception {
    openai.account(FakeOpenAi.Account.INSUFFICIENT_QUOTA);
    OpenAiProcessor p = processor("gpt-4o-mini");
    JobFailure f = failure(p, text("- Aspirin 81 mg\n"));
    // not "rate-limited": the job goes back without an attempt, and the worker stops claiming
    assertThat(f.errorClass()).isEqualTo(ErrorClass.PROVIDER_HALTED);
    assertThat(f.code()).isEqualTo("openai_insufficient_quota");
    assertThat(f.retryAfter()).contains(Duration.ofMinutes(15));
    assertThat(budget.blocks).containsExactly(Duration.ofMinutes(15)); // every replica stops spending
    assertThat(budget.settled).containsExactly(0L);
    assertThat(halt.current()).hasValueSatisfying(s -> assertThat(s.reason()).isEqualTo(ProviderHalt.Reason.QUOTA));
    assertThat(halted("quota")).isEqualTo(1.0);
    assertThat(registry.find("queuepilot.worker.provider.errors").tag("code", "insufficient_quota").counter().count())
        .isEqualTo(1);
  }

  @Test
  void aRealRateLimitStillWaitsForTheReset() throws Exception {
    openai.failures(1.0, 0).resetMillis(300);
    JobFailure f = failure(processor("gpt-4o-mini"), text("- Aspirin 81 mg\n"));
    assertThat(f.errorClass()).isEqualTo(ErrorClass.RATE_LIMITED);
    assertThat(f.retryAfter()).contains(Duration.ofMillis(300));
    assertThat(halt.current()).isEmpty();
  }

  @Test
  void aRevokedOrWrongKeyHaltsClaimingWithoutSpendingAttempts() throws Exception {
    OpenAiProcessor wrongKey = processor(new OpenAiModelClient(openai.baseUrl(), "sk-wrong", Duration.ofSeconds(10)),
        "gpt-4o-mini");
    JobFailure f = failure(wrongKey, text("- Aspirin 81 mg\n"));
    assertThat(f.errorClass()).isEqualTo(ErrorClass.PROVIDER_HALTED);
    assertThat(f.code()).isEqualTo("openai_unauthorized");
    assertThat(f.getMessage()).contains("invalid_api_key");
    assertThat(halt.current()).hasValueSatisfying(s -> {
      assertThat(s.reason()).isEqualTo(ProviderHalt.Reason.AUTH);
      assertThat(s.until()).isEqualTo(java.time.Instant.MAX); // until an operator fixes the key and restarts
    });
    assertThat(halted("auth")).isEqualTo(1.0);
  }

  @Test
  void forbiddenIsAnAccessProblemNotARetry() throws Exception {
    openai.account(FakeOpenAi.Account.FORBIDDEN);
    JobFailure f = failure(processor("gpt-4o-mini"), text("- Aspirin 81 mg\n"));
    assertThat(f.errorClass()).isEqualTo(ErrorClass.PROVIDER_HALTED);
    assertThat(f.getMessage()).contains("403").contains("unsupported_country_region_territory");
  }

  @Test
  void reasoningModelsGetNoTemperatureAndUseMaxCompletionTokens() throws Exception {
    for (String model : new String[] {"o3-mini", "o1", "gpt-5-mini", "o4-mini"}) {
      Extraction ex = processor(model).process(new TestJobContext("{}"), text("- Aspirin 81 mg\n"));
      assertThat(ex.events()).extracting(ClinicalEvent::name).containsExactly("Aspirin");
    }
    assertThat(openai.calls()).allSatisfy(c -> {
      assertThat(c.request().has("temperature")).isFalse();
      assertThat(c.request().has("max_tokens")).isFalse();
      assertThat(c.request().path("max_completion_tokens").asInt()).isEqualTo(300);
    });
    // a chat model still gets temperature 0
    processor("gpt-4o-mini").process(new TestJobContext("{}"), text("- Aspirin 81 mg\n"));
    assertThat(openai.calls().get(openai.calls().size() - 1).request().path("temperature").asDouble(-1)).isEqualTo(0.0);
  }

  @Test
  void aParameterTheModelRejectsIsAConfigurationErrorNotAJobFailure() throws Exception {
    // an Azure deployment configured as gpt-4o (temperature sent) that really serves o3-mini
    openai.azureDeployment("extraction", "o3-mini");
    OpenAiProcessor p = processor(new OpenAiModelClient(OpenAiModelClient.Endpoint.AZURE, openai.azureEndpoint(), "sk-test",
        Duration.ofSeconds(10), "gpt-4o", "extraction", "2024-10-21"), "gpt-4o");
    JobFailure f = failure(p, text("- Aspirin 81 mg\n"));
    assertThat(f.errorClass()).isEqualTo(ErrorClass.PROVIDER_HALTED);
    assertThat(f.code()).isEqualTo("openai_configuration_rejected");
    assertThat(f.getMessage()).contains("temperature").contains("unsupported_value");
    assertThat(halt.current()).hasValueSatisfying(s -> assertThat(s.reason()).isEqualTo(ProviderHalt.Reason.CONFIG));
  }

  @Test
  void theStartUpCheckFindsAWrongKeyAndAnUnknownModelBeforeTheFirstJob() throws Exception {
    client = new OpenAiModelClient(openai.baseUrl(), "sk-wrong", Duration.ofSeconds(10));
    try {
      client.checkReady("gpt-4o-mini");
      throw new AssertionError("expected the key to be refused");
    } catch (ModelClient.ProviderUnusable e) {
      assertThat(e.kind()).isEqualTo(ModelClient.ProviderUnusable.Kind.AUTH);
      assertThat(e.code()).isEqualTo("invalid_api_key");
    }
    client.close();
    client = new OpenAiModelClient(openai.baseUrl(), "sk-test", Duration.ofSeconds(10));
    try {
      client.checkReady("gpt-6-omni");
      throw new AssertionError("expected the model to be unknown");
    } catch (ModelClient.ProviderUnusable e) {
      assertThat(e.kind()).isEqualTo(ModelClient.ProviderUnusable.Kind.CONFIG);
      assertThat(e.code()).isEqualTo("model_not_found");
    }
    client.checkReady("gpt-4o-mini");
    assertThat(openai.modelLookups()).containsExactly("gpt-4o-mini", "gpt-6-omni", "gpt-4o-mini");
    assertThat(openai.calls()).isEmpty(); // no tokens spent on checking
  }

  @Test
  void azureOpenAiSpeaksDeploymentPathsApiVersionAndTheApiKeyHeader() throws Exception {
    openai.azureDeployment("extraction-prod", "gpt-4o-mini");
    OpenAiProcessor p = processor(new OpenAiModelClient(OpenAiModelClient.Endpoint.AZURE, openai.azureEndpoint(), "sk-test",
        Duration.ofSeconds(10), "gpt-4o-mini", "extraction-prod", "2024-10-21"), "gpt-4o-mini");
    Extraction ex = p.process(new TestJobContext("{}"), text("- Metformin 500 mg\n"));
    assertThat(ex.events()).extracting(ClinicalEvent::name).containsExactly("Metformin");
    FakeOpenAi.Call call = openai.calls().get(0);
    assertThat(call.path()).isEqualTo("/openai/deployments/extraction-prod/chat/completions?api-version=2024-10-21");
    assertThat(budget.settled).containsExactly(call.billedTokens());

    // a wrong Azure key is refused with Azure's own 401 body and halts the same way
    OpenAiProcessor wrong = processor(new OpenAiModelClient(OpenAiModelClient.Endpoint.AZURE, openai.azureEndpoint(),
        "wrong", Duration.ofSeconds(10), "gpt-4o-mini", "extraction-prod", "2024-10-21"), "gpt-4o-mini");
    assertThat(failure(wrong, text("- Metformin 500 mg\n")).errorClass()).isEqualTo(ErrorClass.PROVIDER_HALTED);
  }

  @Test
  void anOpenAiCompatibleBaseUrlIsUsedAsGiven() throws Exception {
    OpenAiProcessor p = processor(new OpenAiModelClient(OpenAiModelClient.Endpoint.COMPATIBLE, openai.baseUrl(), "sk-test",
        Duration.ofSeconds(10), "gpt-4.1", null, null), "gpt-4.1");
    Extraction ex = p.process(new TestJobContext("{}"), text("- Metformin 500 mg\n"));
    assertThat(ex.events()).hasSize(1);
    assertThat(openai.calls().get(0).path()).isEqualTo("/v1/chat/completions");
    assertThat(openai.calls().get(0).model()).isEqualTo("gpt-4.1");
  }
}
