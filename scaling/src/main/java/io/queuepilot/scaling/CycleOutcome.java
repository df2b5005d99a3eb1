package io.queuepilot.scaling;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What one {@link Scaler#runOnce()} observed and did, one sealed result per step: the cycle
 * either could not read the target, found another autoscaler on it, or decided (and applied or
 * not). The queue and rescue steps ran in every case, so status can show the queue regardless.
 */
public sealed interface CycleOutcome {

  /** The observe step. */
  QueueStep queue();

  /** The stale-job rescue step. */
  RescueStep rescue();

  /** The target could not be read: nothing was decided. */
  record TargetUnavailable(ScaleTargetException.Kind kind, String message, Optional<Instant> retryAt,
      QueueStep queue, RescueStep rescue) implements CycleOutcome {}

  /** Another autoscaler drives the target (or that could not be ruled out): nothing was decided. */
  record Conflicting(int currentReplicas, String conflict, QueueStep queue, RescueStep rescue)
      implements CycleOutcome {}

  /** The policy decided; {@code apply} says what reached the target. */
  record Decided(int currentReplicas, QueueStep queue, RescueStep rescue, ScalingDecision decision, ApplyStep apply)
      implements CycleOutcome {

    /** Whether the target's replica count changed in this cycle. */
    public boolean scaled() {
      return apply instanceof ApplyStep.Applied;
    }
  }

  /** The replica count the target has after this cycle; empty when it could not be read. */
  default OptionalInt replicasAfter() {
    return switch (this) {
      case TargetUnavailable t -> OptionalInt.empty();
      case Conflicting c -> OptionalInt.of(c.currentReplicas());
      case Decided d -> OptionalInt.of(d.apply() instanceof ApplyStep.Applied a ? a.to() : d.currentReplicas());
    };
  }

  /**
   * When to run again at the latest because a rate limit resets or the target deferred the change;
   * empty when neither happened.
   */
  default Optional<Instant> retryAt() {
    return switch (this) {
      case TargetUnavailable t -> t.retryAt();
      case Conflicting c -> Optional.empty();
      case Decided d -> switch (d.apply()) {
        case ApplyStep.ApplyFailed f -> f.retryAt();
        case ApplyStep.Deferred df -> Optional.of(df.at());
        default -> Optional.empty();
      };
    };
  }

  /**
   * When the policy asked for its next cycle, sooner than the poll (a pre-warm due, a cold
   * start's first pod Ready); empty when the poll and NOTIFY suffice.
   */
  default Optional<Instant> decideAgainAt() {
    return this instanceof Decided d ? Optional.ofNullable(d.decision().decideAgainAt()) : Optional.empty();
  }

  /**
   * The delay until the next cycle from {@code now}: the poll, or sooner when a rate limit
   * resets or the policy asked; {@code whenPast} for a time already past (soon, not in a loop).
   */
  default java.time.Duration nextCycleAfter(Instant now, java.time.Duration poll, java.time.Duration whenPast) {
    java.time.Duration next = poll;
    for (Optional<Instant> at : java.util.List.of(retryAt(), decideAgainAt())) {
      if (at.isEmpty()) continue;
      java.time.Duration until = java.time.Duration.between(now, at.get());
      if (until.compareTo(next) < 0) next = until.isNegative() ? whenPast : until;
    }
    return next;
  }

  /** This outcome as {@link Decided}, when the cycle got that far. */
  default Optional<Decided> decided() {
    return this instanceof Decided d ? Optional.of(d) : Optional.empty();
  }
}
