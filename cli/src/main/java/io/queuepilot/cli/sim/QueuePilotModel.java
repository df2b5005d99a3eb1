package io.queuepilot.cli.sim;

import io.queuepilot.scaling.BudgetStatus;
import io.queuepilot.scaling.QueueSnapshot;
import java.time.Instant;

/**
 * QueuePilot's scaler as a simulated model: each reconcile turns the world's observation into
 * the {@code queue_stats} row the controller reads and asks the real policy.
 */
public final class QueuePilotModel implements World.Model {

  private final PolicyDecider decider;
  private final double pollSeconds;
  private final Instant epoch;
  private final String budgetName;

  /**
   * @param budgetName the shared budget row the spec names; null: the scaler sees no budget row and
   *     falls back to the spec's numbers (as when the row cannot be read)
   */
  public QueuePilotModel(PolicyDecider decider, double pollSeconds, Instant epoch, String budgetName) {
    this.budgetName = budgetName;
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
    Instant now = epoch.plusNanos(Math.round(o.now() * 1e9));
    QueueSnapshot snapshot = new QueueSnapshot(o.ready(), 0, o.processing(), 0, 0, o.oldestReadyAgeSeconds(),
        o.avgDurationSeconds(), o.avgTokensPerJob(), o.completedRecently(),
        o.budget() == null || budgetName == null ? null : new BudgetStatus(budgetName, o.budget().tokensPerWindow(),
            o.budget().requestsPerWindow(), o.budget().windowSeconds(), o.budget().tokensInWindow(),
            o.budget().requestsInWindow(), o.budget().inFlight(), null),
        o.readyEstimated() == 0 ? null
            : new QueueSnapshot.ReadyEstimate(o.readyEstimated(), o.readyTokensEstimated(), o.maxReadyTokensEstimated()));
    PolicyDecider.Result r = decider.decide(snapshot, o.currentReplicas(), now);
    Double againAt = r.decideAgainAt() == null ? null
        : o.now() + java.time.Duration.between(now, r.decideAgainAt()).toNanos() / 1e9;
    return new Decision(r.desiredReplicas(), r.limitedBy(), r.reason(), againAt);
  }
}
