package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;

/** The model provider's per-minute budget shared by all replicas of the target. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TokenBudget {
  @JsonPropertyDescription("Tokens per minute all replicas together may spend; unset = no token cap.")
  @ValidationRule(value = "self > 0", message = "spec.tokenBudget.tokensPerMinute must be positive")
  public Long tokensPerMinute;

  @JsonPropertyDescription("Requests per minute all replicas together may send; unset = no request cap.")
  @ValidationRule(value = "self > 0", message = "spec.tokenBudget.requestsPerMinute must be positive")
  public Long requestsPerMinute;

  @JsonPropertyDescription("Tokens one job uses; unset = observed average of recently finished jobs (queue_stats).")
  @ValidationRule(value = "self > 0", message = "spec.tokenBudget.tokensPerJob must be positive")
  public Long tokensPerJob;

  @JsonPropertyDescription("Model requests one job makes.")
  @Default("1.0")
  @ValidationRule(value = "self > 0.0", message = "spec.tokenBudget.requestsPerJob must be positive")
  public Double requestsPerJob = 1.0;

  @JsonPropertyDescription("Seconds one job takes until finished jobs give an observed average.")
  @Default("60.0")
  @ValidationRule(value = "self > 0.0", message = "spec.tokenBudget.expectedJobSeconds must be positive")
  public Double expectedJobSeconds = 60.0;
}
