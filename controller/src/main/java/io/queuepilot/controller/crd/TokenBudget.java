package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.queuepilot.scaling.ScalerDefaults;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * The model provider's budget shared by all replicas of the target: named by {@code name}, the
 * row in PostgreSQL's token_budget table the workers reserve from; the per-minute numbers are a
 * deprecated fallback used only while that row cannot be read.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TokenBudget {
  @JsonPropertyDescription("Name of the shared budget row (token_budget.name, the workers' QUEUEPILOT_TOKEN_BUDGET): "
      + "its tokens/requests per window and window length are read from token_budget_status each cycle.")
  @ValidationRule(value = "self.matches('^[a-z0-9][a-z0-9_.-]{0,62}$')",
      message = "spec.tokenBudget.name must be a token_budget name: lower-case letters, digits, '_', '.', '-', at most 63")
  public String name;

  @JsonPropertyDescription("Percent of the budget the replica cap leaves unused (estimates vary).")
  @Default("" + ScalerDefaults.HEADROOM_PERCENT)
  @ValidationRule(value = "self >= 0 && self <= 90", message = "spec.tokenBudget.headroomPercent must be within 0..90")
  public Integer headroomPercent = ScalerDefaults.HEADROOM_PERCENT;

  @JsonPropertyDescription("Tokens per job assumed before any job was observed (no tokensPerJob, no completed job, "
      + "no live reservation): deliberately large so a cold burst is capped low.")
  @Default("" + ScalerDefaults.COLD_START_TOKENS_PER_JOB)
  @ValidationRule(value = "self >= 1", message = "spec.tokenBudget.coldStartTokensPerJob must be at least 1")
  public Long coldStartTokensPerJob = ScalerDefaults.COLD_START_TOKENS_PER_JOB;

  @JsonPropertyDescription("Deprecated: fallback tokens per minute, used only while the named budget row cannot be "
      + "read (or when no name is set); unset or 0 = no token cap.")
  @ValidationRule(value = "self >= 0", message = "spec.tokenBudget.tokensPerMinute must not be negative")
  public Long tokensPerMinute;

  @JsonPropertyDescription("Deprecated: fallback requests per minute, used only while the named budget row cannot be "
      + "read (or when no name is set); unset or 0 = no request cap.")
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
