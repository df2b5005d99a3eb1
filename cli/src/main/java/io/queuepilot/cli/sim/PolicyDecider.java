package io.queuepilot.cli.sim;

import io.queuepilot.queue.JobQueue.QueueStats;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.QueueUnavailableException;
import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.Scaler;
import io.queuepilot.scaling.ScalerSpec;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScalingHistoryStore;
import io.queuepilot.scaling.ScalingPolicy;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * The controller's real {@link Scaler} (and so {@link ScalingPolicy} with its history) as the
 * simulator's decider: each poll hands the simulated queue and replica count to
 * {@link Scaler#runOnce()} and reads back what it would scale to. Not thread-safe: one caller
 * polls it.
 */
public final class PolicyDecider {

  /**
   * Desired replicas, what limited them ({@code min}, {@code max}, {@code tokenBudget}, ...), why,
   * and when the policy asks for its next decision (null: the poll and NOTIFY suffice).
   */
  public record Result(int desiredReplicas, String limitedBy, String reason, Instant decideAgainAt) {}

  private final ScalerSpec spec;
  private final Scaler scaler;
  private final SimulatedClock clock = new SimulatedClock();
  private QueueSnapshot snapshot;
  private int currentReplicas;
  private ScalingDecision last;

  public PolicyDecider(ScalerSpec spec) {
    this.spec = spec;
    // thousands of simulated cycles: the scaler's per-scale INFO line would drown the report
    if (org.slf4j.LoggerFactory.getLogger(Scaler.class) instanceof ch.qos.logback.classic.Logger l) {
      l.setLevel(ch.qos.logback.classic.Level.WARN);
    }
    this.scaler = Scaler.builder("simulate").spec(spec).clock(clock).history(ScalingHistoryStore.inMemory())
        .noRescuer("the simulator has no stale jobs")
        .queue(() -> {
          if (snapshot == null) throw new QueueUnavailableException("no queue statistics in this simulated poll");
          return snapshot;
        })
        .target(new ScaleTarget() {
          @Override
          public String describe() {
            return "simulated/replicas";
          }

          @Override
          public int currentReplicas() {
            return currentReplicas;
          }

          @Override
          public void scale(int replicas) {
            // the simulator applies the decision itself, with its start-up delay
          }
        })
        .build();
  }

  public Result decide(QueueStats stats, int currentReplicas, Instant now) {
    return decide(stats == null ? null : QueueSnapshot.of(stats), currentReplicas, now);
  }

  /** One cycle of the real scaler over {@code snapshot} (null = the queue could not be read). */
  public Result decide(QueueSnapshot snapshot, int currentReplicas, Instant now) {
    this.snapshot = snapshot;
    this.currentReplicas = currentReplicas;
    clock.now = now;
    CycleOutcome.Decided d = scaler.runOnce().decided()
        .orElseThrow(() -> new IllegalStateException("the simulated target is always readable and unshared"));
    last = d.decision();
    return new Result(last.replicas(), last.limitedBy().statusValue(), last.reason(), last.decideAgainAt());
  }

  /** The most recent decision, or null before the first. */
  public ScalingDecision last() {
    return last;
  }

  public ScalerSpec spec() {
    return spec;
  }

  /** Simulated time: the instant of the poll being decided. */
  private static final class SimulatedClock extends Clock {
    Instant now = Instant.EPOCH;

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException("simulated time is UTC");
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
