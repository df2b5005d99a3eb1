package io.queuepilot.cli.sim;

import io.queuepilot.queue.JobQueue.QueueStats;
import java.time.Instant;

/**
 * QueuePilot's scaler as a simulated model: each reconcile turns the world's observation into
 * the {@code queue_stats} row the controller reads and asks the real policy.
 */
public final class QueuePilotModel implements World.Model {

  private final PolicyDecider decider;
  private final double pollSeconds;
  private final Instant epoch;

  public QueuePilotModel(PolicyDecider decider, double pollSeconds, Instant epoch) {
    this.decider = decider;
    this.pollSeconds = pollSeconds;
    this.epoch = epoch;
  }

  @Override
  public String name() {
    return "queuepilot";
  }

  @Override
  public double pollSeconds() {
    return pollSeconds;
  }

  @Override
  public boolean wakesOnNotify() {
    return true;
  }

  @Override
  public Decision reconcile(World.Observation o) {
    QueueStats stats = new QueueStats(o.ready(), 0, o.processing(), 0, 0, o.oldestReadyAgeSeconds(),
        o.avgDurationSeconds(), o.avgTokensPerJob(), o.completedRecently());
    Instant now = epoch.plusNanos(Math.round(o.now() * 1e9));
    PolicyDecider.Result r = decider.decide(stats, o.currentReplicas(), now);
    return new Decision(r.desiredReplicas(), r.limitedBy(), r.reason());
  }
}
