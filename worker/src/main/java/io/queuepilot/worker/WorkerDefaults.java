package io.queuepilot.worker;

import io.queuepilot.queue.QueueDefaults;
import java.time.Duration;
import java.util.List;

/**
 * The worker's defaults, declared once: {@link Worker.Builder} starts from them and
 * {@link WorkerConfig}'s keys document and parse against them.
 */
public final class WorkerDefaults {

  public static final int CONCURRENCY = 4;
  public static final List<String> JOB_TYPES = List.of("document_extraction");
  /** Empty: every lane. */
  public static final List<String> LANES = List.of();
  public static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(5);
  /** The one heartbeat timeout of the whole system (the controller's rescuer and the CRD use it too). */
  public static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(QueueDefaults.HEARTBEAT_TIMEOUT_SECONDS);
  public static final Duration MAX_RUNTIME = Duration.ofSeconds(600);
  public static final Duration POLL_INTERVAL = Duration.ofSeconds(5);
  public static final Duration GRACE_PERIOD = Duration.ofSeconds(25);
  public static final long HEAP_PER_JOB_BYTES = 64L << 20;
  public static final double HEAP_FRACTION = 0.6;
  public static final Duration RATE_LIMIT_DEFAULT_DELAY = Duration.ofSeconds(10);
  /** 0: claim only up to free capacity (no job waits in the worker while others could run it). */
  public static final int LOCAL_QUEUE_SIZE = 0;
  /** A claimed-ahead job not started within this goes back to the queue (Graphile Worker's localQueue ttl default). */
  public static final Duration LOCAL_QUEUE_TTL = Duration.ofMinutes(5);
  /** The most jobs one claim, completion or release statement carries. */
  public static final int MAX_BATCH = 1000;

  private WorkerDefaults() {}
}
