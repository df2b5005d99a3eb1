package io.queuepilot.worker;

/** Why the worker took a running job away from its handler. */
public enum CancelReason {
  /** heartbeat_job said another worker holds the job now: write nothing. */
  LEASE_LOST,
  /** The job ran past QUEUEPILOT_MAX_RUNTIME_SECONDS: fail it as retryable. */
  MAX_RUNTIME,
  /** The worker is shutting down and the grace period is over: release it. */
  SHUTDOWN
}
