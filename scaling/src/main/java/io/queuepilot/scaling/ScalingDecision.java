package io.queuepilot.scaling;

/**
 * The outcome of one policy evaluation: the replica count to apply, the unconstrained
 * recommendation recorded in the history, what bound the result, a sentence saying why, the
 * budget cap in force (remembered so the cap does not flip between two values; null when no
 * budget applies), for a scale-down, how to drain ({@link Drain}, null otherwise) and
 * {@code decideAgainAt}: the instant the policy needs its next decision, sooner than the next
 * poll (a predicted burst's pre-warm, the first pod's Ready after a cold start); null when the
 * poll and NOTIFY suffice. Every driver schedules a cycle then.
 */
public record ScalingDecision(
    int replicas, int currentReplicas, int recommendation, LimitedBy limitedBy, String reason, Integer budgetCap,
    Drain drain, java.time.Instant decideAgainAt) {

  /** A decision that needs no cycle before the next poll or NOTIFY. */
  public ScalingDecision(int replicas, int currentReplicas, int recommendation, LimitedBy limitedBy, String reason,
      Integer budgetCap, Drain drain) {
    this(replicas, currentReplicas, recommendation, limitedBy, reason, budgetCap, drain, null);
  }

  /**
   * How a scale-down should pick its victims, for the target to act on: {@code remove}
   * replicas go; the workers hold {@code jobsInFlight} jobs on {@code currentReplicas ×
   * concurrency} slots, {@code idleSlots} of them free. Idle workers go first (Kubernetes:
   * {@code controller.kubernetes.io/pod-deletion-cost} from each pod's jobs, {@code worker_id}
   * = pod name); a busy one that must go finishes its jobs before it stops. {@code idleScaleDown}
   * says the step was taken because capacity was idle (no stabilization wait).
   */
  public record Drain(int remove, long jobsInFlight, long idleSlots, boolean idleScaleDown) {}

  /** A decision without a budget cap or drain plan. */
  public ScalingDecision(int replicas, int currentReplicas, int recommendation, LimitedBy limitedBy, String reason) {
    this(replicas, currentReplicas, recommendation, limitedBy, reason, null, null);
  }

  /** Whether applying this decision changes the replica count. */
  public boolean changes() {
    return replicas != currentReplicas;
  }

  /** The same decision with another replica count and reason (e.g. the target clamped it). */
  public ScalingDecision withReplicas(int replicas, int currentReplicas, String reason) {
    return new ScalingDecision(replicas, currentReplicas, recommendation, limitedBy, reason, budgetCap,
        replicas < currentReplicas ? drain : null, decideAgainAt);
  }

  /** The same decision asking for its next cycle at {@code at} (the earlier of it and one already asked). */
  public ScalingDecision decidingAgainAt(java.time.Instant at) {
    if (at == null || (decideAgainAt != null && !at.isBefore(decideAgainAt))) return this;
    return new ScalingDecision(replicas, currentReplicas, recommendation, limitedBy, reason, budgetCap, drain, at);
  }
}
