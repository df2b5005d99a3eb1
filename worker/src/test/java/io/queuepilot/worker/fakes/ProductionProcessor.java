package io.queuepilot.worker.fakes;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.queue.budget.TokenBudget;
import io.queuepilot.worker.ProviderHalt;
import io.queuepilot.worker.WorkerConfig;
import io.queuepilot.worker.WorkerMetrics;
import io.queuepilot.worker.process.ModelClient;
import io.queuepilot.worker.process.OpenAiProcessor;
import java.time.Clock;
import java.util.Map;

/** The openai processor with the worker's defaults (docs/worker.md), for the corpus test and the probes. */
public final class ProductionProcessor {

  private ProductionProcessor() {}

  /** The worker's defaults (a configuration with no key set but the required ones), with {@code maxCallsPerDocument} as given. */
  public static OpenAiProcessor.Settings settings(int maxCallsPerDocument) {
    OpenAiProcessor.Settings d = WorkerConfig.from(Map.of("QUEUEPILOT_DB_URL", "jdbc:postgresql://localhost/unused",
        "QUEUEPILOT_DB_USER", "unused")).openAiProcessorSettings();
    return new OpenAiProcessor.Settings(d.model(), d.maxCallChars(), d.maxImagesPerCall(), d.maxOutputTokens(),
        maxCallsPerDocument, d.maxStoredTextChars(), d.maxImageBytes(), d.defaultRateLimitDelay(), d.quotaBlock());
  }

  public static OpenAiProcessor create(ModelClient client, TokenBudget budget, int maxCallsPerDocument) {
    return new OpenAiProcessor(client, budget, new WorkerMetrics(new SimpleMeterRegistry()), new ProviderHalt(Clock.systemUTC()),
        settings(maxCallsPerDocument));
  }
}
