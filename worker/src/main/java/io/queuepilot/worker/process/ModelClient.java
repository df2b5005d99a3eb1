package io.queuepilot.worker.process;

import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.budget.RateLimitHeaders;
import java.util.List;

/**
 * One structured-output chat call to a model. Implementations map transport and HTTP errors to
 * {@link JobFailure}s: 429 → {@link ModelRateLimited}, 5xx/timeouts → retryable, other 4xx → permanent.
 */
public interface ModelClient {

  /** The request: instructions, document text, images as data URLs, output cap and JSON schema. */
  record Request(String model, String systemPrompt, String text, List<String> imageDataUrls, int maxOutputTokens,
                 String schemaName, String schemaJson) {}

  /** The answer: the message content (JSON text), token usage and the response's rate-limit headers. */
  record Response(String content, long promptTokens, long completionTokens, long totalTokens, String model,
                  RateLimitHeaders rateLimits) {}

  Response complete(Request request) throws JobFailure, ModelRateLimited, InterruptedException;

  /** The provider answered 429; carries its rate-limit headers. */
  final class ModelRateLimited extends Exception {
    private final RateLimitHeaders headers;

    public ModelRateLimited(String message, RateLimitHeaders headers) {
      super(message);
      this.headers = headers;
    }

    public RateLimitHeaders headers() {
      return headers;
    }
  }
}
