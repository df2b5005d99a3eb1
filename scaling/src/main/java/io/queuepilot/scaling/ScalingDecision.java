package io.queuepilot.scaling;

/**
 * The outcome of one policy evaluation: the replica count to apply, the unconstrained
 * recommendation recorded in the history, what bound the result and a sentence saying why.
 */
public record ScalingDecision(
    int replicas, int currentReplicas, int recommendation, LimitedBy limitedBy, String reason) {

  /** Whether applying this decision changes the replica count. */
  public boolean changes() {
    return replicas != currentReplicas;
  }
}
