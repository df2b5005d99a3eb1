package io.queuepilot.scaling;

/** What the observe step of a cycle got: a snapshot, or why there is none. */
public sealed interface QueueStep {

  /** The queue was read. */
  record Observed(QueueSnapshot snapshot) implements QueueStep {}

  /** The queue could not be read; the replica count is kept (never act on missing data). */
  record QueueUnavailable(String reason) implements QueueStep {}

  /** The snapshot, or null when the queue was unavailable (the policy's convention). */
  default QueueSnapshot snapshotOrNull() {
    return this instanceof Observed o ? o.snapshot() : null;
  }
}
