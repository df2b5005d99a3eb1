package io.queuepilot.worker.process;

import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.budget.RateLimitHeaders;
import java.util.List;

/**
 * One structured-output chat call to a model. Implementations map the provider's errors by their
 * documented meaning: 429 rate_limit_exceeded → {@link ModelRateLimited}; 429 insufficient_quota,
 * 401/403 and 400 unsupported_parameter/unsupported_value → {@link ProviderUnusable} (nothing a
 * retry of this job can fix); 5xx/timeouts → retryable; other 4xx → permanent.
 */
public interface ModelClient {

  /** The request: instructions, document text, images as data URLs, output cap and JSON schema. */
  record Request(String model, String systemPrompt, String text, List<String> imageDataUrls, int maxOutputTokens,
                 String schemaName, String schemaJson) {}

  /**
   * The answer: the message content (JSON text) or the model's refusal, why generation stopped
   * ({@code stop}, {@code length}, {@code content_filter}), token usage and the rate-limit headers.
   */
  record Response(String content, String refusal, String finishReason, long promptTokens, long completionTokens,
                  long totalTokens, String model, RateLimitHeaders rateLimits) {}

  Response complete(Request request) throws JobFailure, ModelRateLimited, ProviderUnusable, InterruptedException;

  /**
   * Checks before the first job that the key is accepted and the model exists (a call that costs
   * no tokens, where the provider has one). Throws {@link ProviderUnusable} otherwise.
   */
  default void checkReady(String model) throws ProviderUnusable, JobFailure {}

  /** The provider answered 429 rate_limit_exceeded; carries its rate-limit headers. */
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

  /**
   * The provider refuses every request of this worker until an operator acts: the account is out
   * of quota or billing (QUOTA), the key is wrong, revoked or lacks access (AUTH), or the request
   * shape does not suit the model (CONFIG).
   */
  final class ProviderUnusable extends Exception {
    /** Why the provider is unusable. */
    public enum Kind { QUOTA, AUTH, CONFIG }

    private final Kind kind;
    private final String code;
    private final int httpStatus;

    public ProviderUnusable(Kind kind, String code, int httpStatus, String message) {
      super(message);
      this.kind = kind;
      this.code = code;
      this.httpStatus = httpStatus;
    }

    public Kind kind() {
      return kind;
    }

    /** OpenAI's error code (insufficient_quota, invalid_api_key, unsupported_parameter, ...) or the HTTP status. */
    public String code() {
      return code;
    }

    public int httpStatus() {
      return httpStatus;
    }
  }
}
