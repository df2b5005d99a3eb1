package io.queuepilot.controller.core;

import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleDownBehavior;
import io.queuepilot.controller.crd.ScaleUpBehavior;
import io.queuepilot.controller.crd.TokenBudget;
import io.queuepilot.scaling.QueueScope;
import io.queuepilot.scaling.ScalerDefaults;
import io.queuepilot.scaling.ScalerSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Turns a QueueScaler spec (CRD or Render YAML, possibly with absent fields) into the
 * validated {@link ScalerSpec} the policy takes. Absent fields take {@link ScalerDefaults};
 * validation collects every error with its full spec path into one {@link InvalidSpecException}.
 */
public final class SpecMapping {

  private SpecMapping() {}

  /**
   * Annotation that pauses a QueueScaler like {@code spec.paused: true} (either pauses). An
   * operator sets it with {@code kubectl annotate}; Helm, which owns the spec (server-side apply),
   * never writes it, so pausing and {@code helm upgrade} do not conflict.
   */
  public static final String PAUSED_ANNOTATION = "queuepilot.io/paused";

  /** {@link #toPolicySpec(QueueScalerSpec)}, paused also when the {@value #PAUSED_ANNOTATION} annotation says so. */
  public static ScalerSpec toPolicySpec(QueueScalerSpec s, java.util.Map<String, String> annotations) {
    ScalerSpec spec = toPolicySpec(s);
    if (!pausedByAnnotation(annotations) || spec.paused()) return spec;
    return spec.withPaused(true);
  }

  /**
   * What pauses {@code s} with these annotations: the spec, the annotation, both or nothing; a
   * bad annotation value is an error naming it (as in {@link #pausedByAnnotation}).
   */
  public static PauseSource pauseSource(QueueScalerSpec s, java.util.Map<String, String> annotations) {
    boolean bySpec = s.paused == null ? ScalerDefaults.PAUSED : s.paused;
    return PauseSource.of(bySpec, pausedByAnnotation(annotations));
  }

  /** Whether the annotation pauses; a value other than true/false is an error naming the annotation. */
  public static boolean pausedByAnnotation(java.util.Map<String, String> annotations) {
    String v = annotations == null ? null : annotations.get(PAUSED_ANNOTATION);
    if (v == null || v.isBlank()) return false;
    String t = v.trim();
    if (t.equalsIgnoreCase("true")) return true;
    if (t.equalsIgnoreCase("false")) return false;
    throw new IllegalArgumentException("metadata.annotations[" + PAUSED_ANNOTATION + "] must be \"true\" or \"false\", was \""
        + (t.length() > 40 ? t.substring(0, 40) + "…" : t) + "\"");
  }

  /** The policy's view of {@code s}; throws {@link InvalidSpecException} naming every bad field. */
  public static ScalerSpec toPolicySpec(QueueScalerSpec s) {
    List<String> errors = validate(s);
    if (!errors.isEmpty()) throw new InvalidSpecException(errors);
    ScaleUpBehavior up = s.scaleUp == null ? new ScaleUpBehavior() : s.scaleUp;
    ScaleDownBehavior down = s.scaleDown == null ? new ScaleDownBehavior() : s.scaleDown;
    int upStep = or(up.maxStep, ScalerDefaults.SCALE_UP_MAX_STEP);
    return new ScalerSpec(minReplicas(s), maxReplicas(s), concurrency(s), budget(s.tokenBudget),
        ScalerSpec.Behavior.of(Duration.ofSeconds(or(up.stabilizationWindowSeconds,
                ScalerDefaults.SCALE_UP_STABILIZATION_WINDOW_SECONDS)),
            upStep == 0 ? null : upStep, Duration.ZERO),
        ScalerSpec.Behavior.of(
            Duration.ofSeconds(or(down.stabilizationWindowSeconds, ScalerDefaults.SCALE_DOWN_STABILIZATION_WINDOW_SECONDS)),
            or(down.maxStep, ScalerDefaults.SCALE_DOWN_MAX_STEP),
            Duration.ofSeconds(or(down.periodSeconds, ScalerDefaults.SCALE_DOWN_PERIOD_SECONDS))),
        s.paused == null ? ScalerDefaults.PAUSED : s.paused,
        Duration.ofSeconds(or(s.targetQueueWaitSeconds, ScalerDefaults.TARGET_QUEUE_WAIT_SECONDS)),
        Duration.ofSeconds(or(s.podStartupSeconds, ScalerDefaults.POD_STARTUP_SECONDS)));
  }

  /** Every error of {@code s}, each starting with its full spec path; empty when valid. */
  public static List<String> validate(QueueScalerSpec s) {
    Errors e = new Errors();
    int min = minReplicas(s);
    int max = maxReplicas(s);
    e.atLeast("spec.minReplicas", min, 0);
    e.atLeast("spec.maxReplicas", max, 0);
    e.atLeast("spec.targetQueueWaitSeconds", s.targetQueueWaitSeconds, 1);
    e.atLeast("spec.podStartupSeconds", s.podStartupSeconds, 0);
    if (min >= 0 && max >= 0 && max < min) {
      e.add("spec.minReplicas must be less than or equal to spec.maxReplicas (min " + min + ", max " + max + ")");
    }
    e.atLeast("spec.concurrencyPerReplica", concurrency(s), 1);
    e.atLeast("spec.heartbeatTimeoutSeconds", or(s.heartbeatTimeoutSeconds, ScalerDefaults.HEARTBEAT_TIMEOUT_SECONDS), 1);
    e.atLeast("spec.pollIntervalSeconds", or(s.pollIntervalSeconds, ScalerDefaults.POLL_INTERVAL_SECONDS), 1);
    if (s.scaleUp != null) {
      e.atLeast("spec.scaleUp.stabilizationWindowSeconds", s.scaleUp.stabilizationWindowSeconds, 0);
      e.atLeast("spec.scaleUp.maxStep", s.scaleUp.maxStep, 0);
    }
    if (s.scaleDown != null) {
      e.atLeast("spec.scaleDown.stabilizationWindowSeconds", s.scaleDown.stabilizationWindowSeconds, 0);
      e.atLeast("spec.scaleDown.maxStep", s.scaleDown.maxStep, 1);
      e.atLeast("spec.scaleDown.periodSeconds", s.scaleDown.periodSeconds, 0);
    }
    TokenBudget b = s.tokenBudget;
    if (b != null) {
      e.atLeast("spec.tokenBudget.tokensPerMinute", b.tokensPerMinute, 0);
      e.atLeast("spec.tokenBudget.requestsPerMinute", b.requestsPerMinute, 0);
      e.atLeast("spec.tokenBudget.tokensPerJob", b.tokensPerJob, 0);
      e.positive("spec.tokenBudget.requestsPerJob", b.requestsPerJob);
      e.positive("spec.tokenBudget.expectedJobSeconds", b.expectedJobSeconds);
      if (b.headroomPercent != null && (b.headroomPercent < 0 || b.headroomPercent > 90)) {
        e.add("spec.tokenBudget.headroomPercent must be within 0..90, was " + b.headroomPercent);
      }
      e.atLeast("spec.tokenBudget.coldStartTokensPerJob", b.coldStartTokensPerJob, 1);
    }
    return e.list;
  }

  public static Duration heartbeatTimeout(QueueScalerSpec s) {
    return seconds("spec.heartbeatTimeoutSeconds", or(s.heartbeatTimeoutSeconds, ScalerDefaults.HEARTBEAT_TIMEOUT_SECONDS));
  }

  public static Duration pollInterval(QueueScalerSpec s) {
    return seconds("spec.pollIntervalSeconds", or(s.pollIntervalSeconds, ScalerDefaults.POLL_INTERVAL_SECONDS));
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

  private static int minReplicas(QueueScalerSpec s) {
    return or(s.minReplicas, ScalerDefaults.MIN_REPLICAS);
  }

  private static int maxReplicas(QueueScalerSpec s) {
    return or(s.maxReplicas, ScalerDefaults.MAX_REPLICAS);
  }

  private static int concurrency(QueueScalerSpec s) {
    return or(s.concurrencyPerReplica, ScalerDefaults.CONCURRENCY_PER_REPLICA);
  }

  private static ScalerSpec.Budget budget(TokenBudget b) {
    if (b == null) return ScalerSpec.Budget.NONE;
    return new ScalerSpec.Budget(opt(b.tokensPerMinute), opt(b.requestsPerMinute), opt(b.tokensPerJob),
        b.requestsPerJob == null ? ScalerDefaults.REQUESTS_PER_JOB : b.requestsPerJob,
        b.expectedJobSeconds == null ? ScalerDefaults.EXPECTED_JOB_SECONDS : b.expectedJobSeconds,
        b.name == null || b.name.isBlank() ? null : b.name,
        or(b.headroomPercent, ScalerDefaults.HEADROOM_PERCENT) / 100.0,
        b.coldStartTokensPerJob == null ? ScalerDefaults.COLD_START_TOKENS_PER_JOB : b.coldStartTokensPerJob);
  }

  /** Unset and 0 both mean "no limit" / "observe it" (the chart writes 0). */
  private static OptionalLong opt(Long v) {
    return v == null || v == 0 ? OptionalLong.empty() : OptionalLong.of(v);
  }

  private static int or(Integer v, int d) {
    return v == null ? d : v;
  }

  private static Duration seconds(String field, int v) {
    if (v < 1) throw new InvalidSpecException(List.of(field + " must be at least 1, was " + v));
    return Duration.ofSeconds(v);
  }

  /** The errors found so far, in spec order. */
  private static final class Errors {
    final List<String> list = new ArrayList<>();

    void add(String error) {
      list.add(error);
    }

    void atLeast(String field, Number v, long least) {
      if (v == null || v.longValue() >= least) return;
      add(field + (least == 0 ? " must not be negative" : " must be at least " + least) + ", was " + v);
    }

    void positive(String field, Double v) {
      if (v != null && !(v > 0)) add(field + " must be positive, was " + v);
    }
  }
}
