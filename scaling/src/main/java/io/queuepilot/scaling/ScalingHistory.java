package io.queuepilot.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the policy remembers between decisions for one scaler: the replica count currently
 * applied, the recommendations of recent decisions (for stabilization windows), when
 * recording started and when the target was last scaled. Immutable; each method returns a
 * new history.
 */
public record ScalingHistory(
    int currentReplicas, List<Recommendation> recommendations, Instant observingSince, Instant lastScaleTime) {

  /** One recommendation at a point in time. */
  public record Recommendation(Instant at, int replicas) {}

  public ScalingHistory {
    if (currentReplicas < 0) throw new IllegalArgumentException("currentReplicas must be >= 0");
    recommendations = List.copyOf(recommendations);
  }

  /** How long a history must reach back for {@code spec}'s stabilization windows. */
  public static Duration keepFor(ScalerSpec spec) {
    Duration longest = spec.scaleDown().stabilizationWindow().compareTo(spec.scaleUp().stabilizationWindow()) > 0
        ? spec.scaleDown().stabilizationWindow() : spec.scaleUp().stabilizationWindow();
    return longest.plusMinutes(1);
  }

  /** A fresh history: nothing recorded yet, the target runs {@code currentReplicas}. */
  public static ScalingHistory start(int currentReplicas, Instant now) {
    return new ScalingHistory(currentReplicas, List.of(), now, null);
  }

  /** The same history with the replica count observed on the target. */
  public ScalingHistory withCurrent(int replicas) {
    return new ScalingHistory(replicas, recommendations, observingSince, lastScaleTime);
  }

  /**
   * Records a decision: its recommendation joins the history (entries older than
   * {@code keep} are dropped) and, when it changed the count, the new count and scale time.
   */
  public ScalingHistory record(ScalingDecision d, Instant now, Duration keep) {
    List<Recommendation> next = new ArrayList<>(recommendations.size() + 1);
    Instant cutoff = now.minus(keep);
    for (Recommendation r : recommendations) {
      if (!r.at().isBefore(cutoff)) next.add(r);
    }
    next.add(new Recommendation(now, d.recommendation()));
    return new ScalingHistory(d.replicas(), next, observingSince,
        d.changes() ? now : lastScaleTime);
  }
}
