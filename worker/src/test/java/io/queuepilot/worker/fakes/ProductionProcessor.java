package io.queuepilot.worker.fakes;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.worker.ProviderHalt;
import io.queuepilot.worker.WorkerMetrics;
import io.queuepilot.queue.budget.TokenBudget;
import io.queuepilot.worker.process.ModelClient;
import io.queuepilot.worker.process.OpenAiProcessor;
import java.time.Clock;
import java.time.Duration;

/** The openai processor with the production defaults of docs/worker.md, for the corpus test and the probes. */
public final class ProductionProcessor {

  private ProductionProcessor() {}

  /** The production defaults, with {@code maxCallsPerDocument} as given (40 in production). */
  public static OpenAiProcessor.Settings settings(int maxCallsPerDocument) {
    return new OpenAiProcessor.Settings("gpt-4o-mini", 100_000, 4, 2000, maxCallsPerDocument, 200_000, 20L << 20,
        Duration.ofSeconds(10), Duration.ofMinutes(15));
  }

  public static OpenAiProcessor create(ModelClient client, TokenBudget budget, int maxCallsPerDocument) {
    return new OpenAiProcessor(client, budget, new WorkerMetrics(new SimpleMeterRegistry()), new ProviderHalt(Clock.systemUTC()),
        settings(maxCallsPerDocument));
  }
}
