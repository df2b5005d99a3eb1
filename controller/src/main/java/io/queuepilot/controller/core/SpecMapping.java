package io.queuepilot.controller.core;

import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleDownBehavior;
import io.queuepilot.controller.crd.ScaleUpBehavior;
import io.queuepilot.controller.crd.TokenBudget;
import io.queuepilot.scaling.QueueScope;
import io.queuepilot.scaling.ScalerSpec;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;

/**
 * Turns a QueueScaler spec (CRD or Render YAML, possibly with absent fields) into the
 * validated {@link ScalerSpec} the policy takes; errors name the offending spec field.
 */
public final class SpecMapping {

  private SpecMapping() {}

  public static ScalerSpec toPolicySpec(QueueScalerSpec s) {
    QueueScalerSpec d = new QueueScalerSpec();
    int min = or(s.minReplicas, d.minReplicas);
    int max = or(s.maxReplicas, d.maxReplicas);
    int concurrency = or(s.concurrencyPerReplica, d.concurrencyPerReplica);
    if (min < 0) throw new IllegalArgumentException("spec.minReplicas must not be negative, was " + min);
    if (max < min) {
      throw new IllegalArgumentException("spec.minReplicas must be less than or equal to spec.maxReplicas (min "
          + min + ", max " + max + ")");
    }
    if (concurrency < 1) throw new IllegalArgumentException("spec.concurrencyPerReplica must be at least 1, was " + concurrency);
    ScaleUpBehavior up = s.scaleUp == null ? new ScaleUpBehavior() : s.scaleUp;
    ScaleDownBehavior down = s.scaleDown == null ? new ScaleDownBehavior() : s.scaleDown;
    ScaleDownBehavior downDefaults = new ScaleDownBehavior();
    try {
      return new ScalerSpec(min, max, concurrency, budget(s.tokenBudget),
          ScalerSpec.Behavior.of(seconds("spec.scaleUp.stabilizationWindowSeconds", or(up.stabilizationWindowSeconds, 0)),
              up.maxStep == null || up.maxStep == 0 ? null : up.maxStep, Duration.ZERO),
          ScalerSpec.Behavior.of(
              seconds("spec.scaleDown.stabilizationWindowSeconds",
                  or(down.stabilizationWindowSeconds, downDefaults.stabilizationWindowSeconds)),
              or(down.maxStep, downDefaults.maxStep),
              seconds("spec.scaleDown.periodSeconds", or(down.periodSeconds, downDefaults.periodSeconds))),
          Boolean.TRUE.equals(s.paused),
          seconds("spec.targetQueueWaitSeconds", or(s.targetQueueWaitSeconds, d.targetQueueWaitSeconds), 1),
          seconds("spec.podStartupSeconds", or(s.podStartupSeconds, d.podStartupSeconds)));
    } catch (IllegalArgumentException e) {
      throw e.getMessage().startsWith("spec.") ? e : new IllegalArgumentException("spec." + e.getMessage(), e);
    }
  }

  public static Duration heartbeatTimeout(QueueScalerSpec s) {
    return seconds("spec.heartbeatTimeoutSeconds", or(s.heartbeatTimeoutSeconds, 60), 1);
  }

  public static Duration pollInterval(QueueScalerSpec s) {
    return seconds("spec.pollIntervalSeconds", or(s.pollIntervalSeconds, 15), 1);
  }

  /** The job types, lanes and heartbeat timeout the scaler observes and rescues. */
  public static QueueScope scope(QueueScalerSpec s) {
    return new QueueScope(jobTypes(s), lanes(s), heartbeatTimeout(s));
  }

  public static List<String> jobTypes(QueueScalerSpec s) {
    return s.jobTypes == null ? List.of() : List.copyOf(s.jobTypes);
  }

  public static List<String> lanes(QueueScalerSpec s) {
    return s.lanes == null ? List.of() : List.copyOf(s.lanes);
  }

  private static ScalerSpec.Budget budget(TokenBudget b) {
    if (b == null) return ScalerSpec.Budget.NONE;
    TokenBudget d = new TokenBudget();
    return new ScalerSpec.Budget(opt(b.tokensPerMinute), opt(b.requestsPerMinute), opt(b.tokensPerJob),
        b.requestsPerJob == null ? d.requestsPerJob : b.requestsPerJob,
        b.expectedJobSeconds == null ? d.expectedJobSeconds : b.expectedJobSeconds,
        b.name == null || b.name.isBlank() ? null : b.name,
        or(b.headroomPercent, d.headroomPercent) / 100.0,
        b.coldStartTokensPerJob == null ? d.coldStartTokensPerJob : b.coldStartTokensPerJob);
  }

  /** Unset and 0 both mean "no limit" / "observe it" (the chart writes 0). */
  private static OptionalLong opt(Long v) {
    return v == null || v == 0 ? OptionalLong.empty() : OptionalLong.of(v);
  }

  private static int or(Integer v, int d) {
    return v == null ? d : v;
  }

  private static Duration seconds(String field, int v) {
    return seconds(field, v, 0);
  }

  private static Duration seconds(String field, int v, int least) {
    if (v < least) throw new IllegalArgumentException(field + " must be at least " + least + ", was " + v);
    return Duration.ofSeconds(v);
  }
}
