package io.queuepilot.scaling;

import java.util.Optional;

/**
 * One thing whose replica count the controller sets: a Kubernetes Deployment or a Render
 * service. The only side effect of a scaling decision goes through this interface.
 */
public interface ScaleTarget {

  /** Human-readable name for logs, Events and status, e.g. {@code deployment/worker}. */
  String describe();

  /** The replica count the target is set to now. */
  int currentReplicas() throws ScaleTargetException;

  /**
   * Another autoscaler (HPA, KEDA ScaledObject, Render's own autoscaling) that also drives
   * this target, described in one sentence; empty when the controller may act.
   */
  default Optional<String> conflictingAutoscaler() throws ScaleTargetException {
    return Optional.empty();
  }

  /** The replica count this target actually accepts for a wish of {@code replicas}. */
  default int clamp(int replicas) {
    return Math.max(0, replicas);
  }

  /** Sets the replica count. */
  void scale(int replicas) throws ScaleTargetException;
}
