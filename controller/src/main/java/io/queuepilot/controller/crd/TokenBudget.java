package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.queuepilot.scaling.ScalerDefaults;
import io.fabric8.generator.annotation.ValidationRule;

/** The model provider's per-minute budget shared by all replicas of the target. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TokenBudget {
  @JsonPropertyDescription("Tokens per minute all replicas together may spend; unset or 0 = no token cap.")
  @ValidationRule(value = "self >= 0", message = "spec.tokenBudget.tokensPerMinute must not be negative")
  public Long tokensPerMinute;

  @JsonPropertyDescription("Requests per minute all replicas together may send; unset or 0 = no request cap.")
  @ValidationRule(value = "self >= 0", message = "spec.tokenBudget.requestsPerMinute must not be negative")
  public Long requestsPerMinute;

  @JsonPropertyDescription("Tokens one job uses; unset or 0 = observed average of recently finished jobs (queue_stats).")
  @ValidationRule(value = "self >= 0", message = "spec.tokenBudget.tokensPerJob must not be negative")
  public Long tokensPerJob;

  @JsonPropertyDescription("Model requests one job makes.")
  @Default("" + ScalerDefaults.REQUESTS_PER_JOB)
  @ValidationRule(value = "self > 0.0", message = "spec.tokenBudget.requestsPerJob must be positive")
  public Double requestsPerJob = ScalerDefaults.REQUESTS_PER_JOB;

  @JsonPropertyDescription("Seconds one job takes until finished jobs give an observed average.")
  @Default("" + ScalerDefaults.EXPECTED_JOB_SECONDS)
  @ValidationRule(value = "self > 0.0", message = "spec.tokenBudget.expectedJobSeconds must be positive")
  public Double expectedJobSeconds = ScalerDefaults.EXPECTED_JOB_SECONDS;
}
