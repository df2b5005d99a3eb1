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
    boolean paused,
    Duration targetQueueWait,
    Duration podStartup) {

  /** The queue-wait target when the spec sets none ({@code targetQueueWaitSeconds}). */
  public static final Duration DEFAULT_TARGET_QUEUE_WAIT = Duration.ofSeconds(ScalerDefaults.TARGET_QUEUE_WAIT_SECONDS);

  /** Time from scale-up until a new worker takes jobs when the spec sets none ({@code podStartupSeconds}). */
  public static final Duration DEFAULT_POD_STARTUP = Duration.ofSeconds(ScalerDefaults.POD_STARTUP_SECONDS);

  /** A spec with the default queue-wait target and pod start-up. */
  public ScalerSpec(int minReplicas, int maxReplicas, int concurrency, Budget budget, Behavior scaleUp,
      Behavior scaleDown, boolean paused) {
    this(minReplicas, maxReplicas, concurrency, budget, scaleUp, scaleDown, paused, DEFAULT_TARGET_QUEUE_WAIT,
        DEFAULT_POD_STARTUP);
  }

  public ScalerSpec {
    if (targetQueueWait == null) targetQueueWait = DEFAULT_TARGET_QUEUE_WAIT;
    if (podStartup == null) podStartup = DEFAULT_POD_STARTUP;
    if (targetQueueWait.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("targetQueueWaitSeconds must be at least 1, was " + targetQueueWait.toSeconds());
    }
    if (podStartup.isNegative()) throw new IllegalArgumentException("podStartupSeconds must be >= 0, was " + podStartup.toSeconds());
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
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, b, scaleUp, scaleDown, paused, targetQueueWait, podStartup);
  }

  public ScalerSpec withScaleUp(Behavior b) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, budget, b, scaleDown, paused, targetQueueWait, podStartup);
  }

  public ScalerSpec withScaleDown(Behavior b) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, budget, scaleUp, b, paused, targetQueueWait, podStartup);
  }

  /** The same spec with another queue-wait target and pod start-up time. */
  public ScalerSpec withSizing(Duration targetWait, Duration startup) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, budget, scaleUp, scaleDown, paused, targetWait, startup);
  }

  public ScalerSpec withPaused(boolean p) {
    return new ScalerSpec(minReplicas, maxReplicas, concurrency, budget, scaleUp, scaleDown, p, targetQueueWait, podStartup);
  }

  /**
   * The token / request budget of the model provider shared by all replicas. {@code name} is
   * the shared budget's row in PostgreSQL ({@code token_budget.name}): when set, its limits and
   * window come from {@code token_budget_status} — the one source of truth — and
   * {@code tokensPerMinute} / {@code requestsPerMinute} are only the fallback while the row
   * cannot be read (deprecated). Empty values mean "no limit" (per minute) or "observe it"
   * (tokens per job). {@code headroom} is the fraction of the budget the cap leaves unused;
   * {@code coldStartTokensPerJob} is assumed when nothing has been observed yet.
   */
  public record Budget(
      OptionalLong tokensPerMinute,
      OptionalLong requestsPerMinute,
      OptionalLong tokensPerJob,
      double requestsPerJob,
      double expectedJobSeconds,
      String name,
      double headroom,
      long coldStartTokensPerJob) {

    public static final double DEFAULT_REQUESTS_PER_JOB = ScalerDefaults.REQUESTS_PER_JOB;
    public static final double DEFAULT_EXPECTED_JOB_SECONDS = ScalerDefaults.EXPECTED_JOB_SECONDS;
    /** Default {@code tokenBudget.headroomPercent} as a fraction. */
    public static final double DEFAULT_HEADROOM = ScalerDefaults.HEADROOM_PERCENT / 100.0;
    /** Default {@code tokenBudget.coldStartTokensPerJob} (see {@link ScalerDefaults#COLD_START_TOKENS_PER_JOB}). */
    public static final long DEFAULT_COLD_START_TOKENS_PER_JOB = ScalerDefaults.COLD_START_TOKENS_PER_JOB;
    public static final Budget NONE = new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
        DEFAULT_REQUESTS_PER_JOB, DEFAULT_EXPECTED_JOB_SECONDS);

    /** A budget without a database row name, with default headroom and cold-start estimate. */
    public Budget(OptionalLong tokensPerMinute, OptionalLong requestsPerMinute, OptionalLong tokensPerJob,
        double requestsPerJob, double expectedJobSeconds) {
      this(tokensPerMinute, requestsPerMinute, tokensPerJob, requestsPerJob, expectedJobSeconds, null,
          DEFAULT_HEADROOM, DEFAULT_COLD_START_TOKENS_PER_JOB);
    }

    /** The same budget read from the shared row {@code budgetName}. */
    public Budget named(String budgetName) {
      return new Budget(tokensPerMinute, requestsPerMinute, tokensPerJob, requestsPerJob, expectedJobSeconds,
          budgetName, headroom, coldStartTokensPerJob);
    }

    /** The same budget with another headroom and cold-start estimate. */
    public Budget withHeadroom(double fraction, long coldStart) {
      return new Budget(tokensPerMinute, requestsPerMinute, tokensPerJob, requestsPerJob, expectedJobSeconds,
          name, fraction, coldStart);
    }

    /** Whether any limit can apply: a named shared row or a fallback number. */
    public boolean any() {
      return name != null || tokensPerMinute.isPresent() || requestsPerMinute.isPresent();
    }

    public Budget {
      if (!(headroom >= 0 && headroom < 1)) {
        throw new IllegalArgumentException("tokenBudget.headroomPercent must be within 0..99, was " + Math.round(headroom * 100));
      }
      if (coldStartTokensPerJob < 1) {
        throw new IllegalArgumentException("tokenBudget.coldStartTokensPerJob must be > 0, was " + coldStartTokensPerJob);
      }
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
    public static final Behavior SCALE_UP_DEFAULT = new Behavior(
        Duration.ofSeconds(ScalerDefaults.SCALE_UP_STABILIZATION_WINDOW_SECONDS), OptionalInt.empty(), Duration.ZERO);
    public static final Behavior SCALE_DOWN_DEFAULT = new Behavior(
        Duration.ofSeconds(ScalerDefaults.SCALE_DOWN_STABILIZATION_WINDOW_SECONDS),
        OptionalInt.of(ScalerDefaults.SCALE_DOWN_MAX_STEP), Duration.ofSeconds(ScalerDefaults.SCALE_DOWN_PERIOD_SECONDS));

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
