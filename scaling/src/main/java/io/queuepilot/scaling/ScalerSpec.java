package io.queuepilot.scaling;

import java.time.Duration;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The part of a QueueScaler spec the policy needs, defaults already applied and validated:
 * the pure-function view of {@code io.queuepilot.controller.crd.QueueScalerSpec}.
 */
public record ScalerSpec(
    int minReplicas,
    int maxReplicas,
    int concurrency,
    Budget budget,
    Behavior scaleUp,
    Behavior scaleDown,
    boolean paused) {

  public ScalerSpec {
    if (minReplicas < 0) throw new IllegalArgumentException("minReplicas must be >= 0, was " + minReplicas);
    if (maxReplicas < minReplicas) {
      throw new IllegalArgumentException("minReplicas (" + minReplicas + ") must be <= maxReplicas (" + maxReplicas + ")");
    }
    if (concurrency < 1) throw new IllegalArgumentException("concurrency must be >= 1, was " + concurrency);
    if (budget == null) budget = Budget.NONE;
    if (scaleUp == null) scaleUp = Behavior.SCALE_UP_DEFAULT;
    if (scaleDown == null) scaleDown = Behavior.SCALE_DOWN_DEFAULT;
  }

  /** A spec with default budget and behaviour (tests, examples). */
  public static ScalerSpec of(int min, int max, int concurrency) {
    return new ScalerSpec(min, max, concurrency, Budget.NONE, Behavior.SCALE_UP_DEFAULT, Behavior.SCALE_DOWN_DEFAULT, false);
  }

  public ScalerSpec withBudget(Budget b) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, b, scaleUp, scaleDown, paused);
  }

  public ScalerSpec withScaleUp(Behavior b) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, budget, b, scaleDown, paused);
  }

  public ScalerSpec withScaleDown(Behavior b) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, budget, scaleUp, b, paused);
  }

  public ScalerSpec withPaused(boolean p) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, budget, scaleUp, scaleDown, p);
  }

  /**
   * The token / request budget of the model provider shared by all replicas. Empty values mean
   * "no limit" (per minute) or "observe it from finished jobs" (tokens per job).
   */
  public record Budget(
      OptionalLong tokensPerMinute,
      OptionalLong requestsPerMinute,
      OptionalLong tokensPerJob,
      double requestsPerJob,
      double expectedJobSeconds) {

    public static final double DEFAULT_REQUESTS_PER_JOB = 1.0;
    public static final double DEFAULT_EXPECTED_JOB_SECONDS = 60.0;
    public static final Budget NONE = new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
        DEFAULT_REQUESTS_PER_JOB, DEFAULT_EXPECTED_JOB_SECONDS);

    public Budget {
      tokensPerMinute.ifPresent(v -> positive("tokenBudget.tokensPerMinute", v));
      requestsPerMinute.ifPresent(v -> positive("tokenBudget.requestsPerMinute", v));
      tokensPerJob.ifPresent(v -> positive("tokenBudget.tokensPerJob", v));
      if (!(requestsPerJob > 0)) throw new IllegalArgumentException("tokenBudget.requestsPerJob must be > 0, was " + requestsPerJob);
      if (!(expectedJobSeconds > 0)) throw new IllegalArgumentException("tokenBudget.expectedJobSeconds must be > 0, was " + expectedJobSeconds);
    }

    /** Budget with a tokens-per-minute limit and a configured tokens-per-job. */
    public static Budget tokens(long tokensPerMinute, Long tokensPerJob) {
      return new Budget(OptionalLong.of(tokensPerMinute), OptionalLong.empty(),
          tokensPerJob == null ? OptionalLong.empty() : OptionalLong.of(tokensPerJob),
          DEFAULT_REQUESTS_PER_JOB, DEFAULT_EXPECTED_JOB_SECONDS);
    }

    private static void positive(String field, long v) {
      if (v <= 0) throw new IllegalArgumentException(field + " must be > 0, was " + v);
    }
  }

  /**
   * Scale-up or scale-down behaviour: the stabilization window (recommendations considered),
   * the largest step one decision may take (empty = unbounded) and, for scale-down, the least
   * time between two steps.
   */
  public record Behavior(Duration stabilizationWindow, OptionalInt maxStep, Duration period) {
    public static final Behavior SCALE_UP_DEFAULT = new Behavior(Duration.ZERO, OptionalInt.empty(), Duration.ZERO);
    public static final Behavior SCALE_DOWN_DEFAULT =
        new Behavior(Duration.ofSeconds(300), OptionalInt.of(2), Duration.ofSeconds(15));

    public Behavior {
      if (stabilizationWindow.isNegative()) throw new IllegalArgumentException("stabilizationWindowSeconds must be >= 0");
      if (period.isNegative()) throw new IllegalArgumentException("periodSeconds must be >= 0");
      maxStep.ifPresent(s -> {
        if (s < 1) throw new IllegalArgumentException("maxStep must be >= 1, was " + s);
      });
    }

    public static Behavior of(Duration window, Integer maxStep, Duration period) {
      return new Behavior(window, maxStep == null ? OptionalInt.empty() : OptionalInt.of(maxStep), period);
    }
  }
}
