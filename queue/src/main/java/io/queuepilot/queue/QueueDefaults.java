package io.queuepilot.queue;

import java.time.Duration;

/**
 * Queue defaults that more than one process states: the one Java source for each number, so
 * the worker, the controller's CRD and the CLI cannot drift apart.
 */
public final class QueueDefaults {

  private QueueDefaults() {}

  /**
   * Heartbeat age after which a processing job counts as stale (the SQL functions'
   * {@code p_heartbeat_timeout} default, '60 seconds').
   */
  public static final int HEARTBEAT_TIMEOUT_SECONDS = 60;

  /** {@link #HEARTBEAT_TIMEOUT_SECONDS} as a duration. */
  public static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(HEARTBEAT_TIMEOUT_SECONDS);
}
