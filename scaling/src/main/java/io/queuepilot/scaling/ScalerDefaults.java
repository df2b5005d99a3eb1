package io.queuepilot.scaling;

import io.queuepilot.queue.QueueDefaults;

/**
 * The default of every QueueScaler spec field, declared once: the CRD's {@code @Default}
 * annotations and Java field values, the spec mapping, {@link ScalerSpec}'s defaults and the
 * chart's values all come from (or are tested against) these constants. Compile-time constants,
 * so annotations can use them.
 */
public final class ScalerDefaults {

  private ScalerDefaults() {}

  public static final int MIN_REPLICAS = 0;
  public static final int MAX_REPLICAS = 10;
  public static final int CONCURRENCY_PER_REPLICA = 4;
  public static final int HEARTBEAT_TIMEOUT_SECONDS = QueueDefaults.HEARTBEAT_TIMEOUT_SECONDS;
  public static final int POLL_INTERVAL_SECONDS = 15;
  public static final boolean PAUSED = false;

  public static final int SCALE_UP_STABILIZATION_WINDOW_SECONDS = 0;
  /** 0 (and unset): no step limit on scale-up. */
  public static final int SCALE_UP_MAX_STEP = 0;

  public static final int SCALE_DOWN_STABILIZATION_WINDOW_SECONDS = 300;
  public static final int SCALE_DOWN_MAX_STEP = 2;
  public static final int SCALE_DOWN_PERIOD_SECONDS = 15;

  public static final double REQUESTS_PER_JOB = 1.0;
  public static final double EXPECTED_JOB_SECONDS = 60.0;

  /** {@code targetQueueWaitSeconds}: the backlog drains within this wait, pod start-up included. */
  public static final int TARGET_QUEUE_WAIT_SECONDS = 60;
  /** {@code podStartupSeconds}: time from a scale call to a worker claiming jobs. */
  public static final int POD_STARTUP_SECONDS = 30;
  /** {@code tokenBudget.headroomPercent}: share of the budget the cap leaves unused. */
  public static final int HEADROOM_PERCENT = 10;
  /**
   * {@code tokenBudget.coldStartTokensPerJob}: tokens per job assumed before any job was
   * observed — large on purpose (a multi-page scan uses far more, a short note less; see
   * docs/worker.md's coverage report), so a cold burst is capped low until the first
   * reservations show the real size.
   */
  public static final long COLD_START_TOKENS_PER_JOB = 25_000;
}
