package io.queuepilot.cli.sim;

import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.ScalerSpec;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScalingHistory;
import io.queuepilot.scaling.ScalingPolicy;
import io.queuepilot.queue.JobQueue.QueueStats;
import java.time.Duration;
import java.time.Instant;

/**
 * The controller's real {@link ScalingPolicy} with the history it keeps between decisions, as
 * the simulator's and the local mode's decider. Not thread-safe: one caller polls it.
 */
public final class PolicyDecider {

  /** Desired replicas, what limited them ({@code min}, {@code max}, {@code tokenBudget}, ...) and why. */
  public record Result(int desiredReplicas, String limitedBy, String reason) {}

  private final ScalerSpec spec;
  private final Duration keep;
  private ScalingHistory history;
  private ScalingDecision last;

  public PolicyDecider(ScalerSpec spec) {
    this.spec = spec;
    this.keep = ScalingHistory.keepFor(spec);
  }

  public Result decide(QueueStats stats, int currentReplicas, Instant now) {
    if (history == null) {
      history = ScalingHistory.start(currentReplicas, now);
    }
    history = history.withCurrent(currentReplicas);
    ScalingDecision d = ScalingPolicy.decide(stats == null ? null : QueueSnapshot.of(stats), spec, history, now);
    history = history.record(d, now, keep);
    last = d;
    return new Result(d.replicas(), d.limitedBy().statusValue(), d.reason());
  }

  /** The most recent decision, or null before the first. */
  public ScalingDecision last() {
    return last;
  }

  public ScalerSpec spec() {
    return spec;
  }
}
