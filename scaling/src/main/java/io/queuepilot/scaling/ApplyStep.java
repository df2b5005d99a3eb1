package io.queuepilot.scaling;

import java.time.Instant;
import java.util.Optional;

/** What the apply step of a cycle did with the decision. */
public sealed interface ApplyStep {

  /** The target was scaled from {@code from} to {@code to} replicas. */
  record Applied(int from, int to) implements ApplyStep {}

  /** Scaling failed; the target keeps its count. {@code retryAt}: when a rate limit resets. */
  record ApplyFailed(String message, Optional<Instant> retryAt) implements ApplyStep {}

  /**
   * The target deferred the change to {@code at} (not a failure; {@code reason} says why): the
   * count is unchanged this cycle and the next cycle runs then.
   */
  record Deferred(String reason, Instant at) implements ApplyStep {}

  /** The decision keeps the current count: nothing was sent to the target. */
  record Unchanged() implements ApplyStep {}
}
