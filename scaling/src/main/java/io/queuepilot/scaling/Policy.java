package io.queuepilot.scaling;

import java.time.Instant;

/**
 * The decision function a {@link Scaler} applies: {@link ScalingPolicy#decide} in production;
 * the simulator may run other models (e.g. KEDA + HPA defaults) through the same cycle.
 * {@code snapshot == null} means the queue could not be observed.
 */
@FunctionalInterface
public interface Policy {

  ScalingDecision decide(QueueSnapshot snapshot, ScalerSpec spec, ScalingHistory history, Instant now);

  /** QueuePilot's scaling policy. */
  Policy DEFAULT = ScalingPolicy::decide;
}
