package io.queuepilot.controller.target;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides, per Deployment, whether a scale-down waits for pod-deletion costs just set to reach
 * the ReplicaSet controller, and defers each scale-down at most once.
 *
 * <p>Why: the ReplicaSet controller picks the pods to delete from its informer cache, which the
 * pods' watch feeds separately from the ReplicaSet's. A scale call sent right after the
 * annotation patches can be handled before the cache holds them, and then the tie-break (most
 * recently Ready first) deletes the busy pods (seen in ClusterScalingIT on a loaded machine).
 * So a pass that patched a cost defers the scale-down by {@link #SETTLE}; a cycle inside that
 * time defers to the same instant (a NOTIFY may come sooner); the first cycle after it scales
 * whatever that pass patched, so a fleet whose jobs move every cycle is still scaled down.
 */
public final class DeletionCostSettling {

  /** How long freshly set costs get to reach the ReplicaSet controller's cache. */
  public static final Duration SETTLE = Duration.ofSeconds(2);
  /** A deferral older than this is forgotten: the next scale-down is a new one. */
  static final Duration FORGET_AFTER = Duration.ofSeconds(30);

  private final Clock clock;
  private final ConcurrentHashMap<String, Instant> deferredAt = new ConcurrentHashMap<>();

  public DeletionCostSettling(Clock clock) {
    this.clock = clock;
  }

  /**
   * For a scale-down of {@code deployment} ({@code namespace/name}) whose marking pass patched
   * {@code patched} pods: the instant to scale at instead of now, or null to scale now.
   */
  public Instant deferUntil(String deployment, int patched) {
    Instant now = clock.instant();
    Instant since = deferredAt.get(deployment);
    if (since != null && !now.isBefore(since.plus(FORGET_AFTER))) {
      deferredAt.remove(deployment, since);
      since = null;
    }
    if (since != null) {
      Instant due = since.plus(SETTLE);
      if (now.isBefore(due)) return due;
      deferredAt.remove(deployment, since);
      return null;
    }
    if (patched == 0) return null;
    deferredAt.put(deployment, now);
    return now.plus(SETTLE);
  }
}
