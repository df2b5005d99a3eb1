package io.queuepilot.scaling;

import io.queuepilot.queue.JobQueue.RequeuedJob;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One scaler: read the target → observe the queue → rescue stale jobs → decide → apply,
 * with its one history store. Every driver calls {@link #runOnce()}: the Kubernetes
 * reconciler, the standalone Render process, local mode and the simulator. Each step's failure
 * is caught and reported in the {@link CycleOutcome}; a failed observation never changes the
 * replica count. Not thread-safe: one driver thread runs a scaler at a time.
 */
public final class Scaler {

  private static final Logger log = LoggerFactory.getLogger(Scaler.class);

  private final String name;
  private final ScalerSpec spec;
  private final QueueObserver queue;
  private final Optional<StaleJobRescuer> rescuer;
  private final String noRescueReason;
  private final ScaleTarget target;
  private final ScalingHistoryStore history;
  private final Clock clock;
  private final Policy policy;

  private Scaler(Builder b) {
    this.name = Objects.requireNonNull(b.name, "name");
    this.spec = Objects.requireNonNull(b.spec, "spec");
    this.queue = Objects.requireNonNull(b.queue, "queue");
    this.rescuer = Optional.ofNullable(b.rescuer);
    this.noRescueReason = b.noRescueReason;
    this.target = Objects.requireNonNull(b.target, "target");
    this.history = Objects.requireNonNull(b.history, "history");
    this.clock = Objects.requireNonNull(b.clock, "clock");
    this.policy = Objects.requireNonNull(b.policy, "policy");
  }

  /** A builder for the scaler called {@code name} in logs (e.g. {@code namespace/name}). */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  public String name() {
    return name;
  }

  public ScalerSpec spec() {
    return spec;
  }

  public ScaleTarget target() {
    return target;
  }

  /** Runs one cycle now. */
  public CycleOutcome runOnce() {
    Instant now = clock.instant();
    int current;
    try {
      current = target.clamp(target.currentReplicas());
    } catch (ScaleTargetException e) {
      log.warn("scaler {}: cannot read {}: {}", name, target.describe(), e.getMessage());
      QueueStep q = observe();
      return new CycleOutcome.TargetUnavailable(e.kind(), e.getMessage(), Optional.ofNullable(e.retryAt()), q,
          rescue(q));
    }
    ScalingHistory h = history.load().map(old -> old.withCurrent(current))
        .orElseGet(() -> ScalingHistory.start(current, now));

    String conflict;
    try {
      conflict = target.conflictingAutoscaler().orElse(null);
    } catch (ScaleTargetException e) {
      // Not knowing whether another autoscaler acts is reason enough not to act.
      conflict = "could not check for other autoscalers: " + e.getMessage();
    }

    QueueStep q = observe();
    RescueStep r = rescue(q);
    if (conflict != null) {
      history.save(h);
      return new CycleOutcome.Conflicting(current, conflict, q, r);
    }

    ScalingDecision decision = policy.decide(q.snapshotOrNull(), spec, h, now);
    int wanted = target.clamp(decision.replicas());
    if (wanted != decision.replicas()) {
      decision = decision.withReplicas(wanted, current, decision.reason() + "; " + target.describe() + " accepts " + wanted);
    }
    ApplyStep apply = apply(decision, current);
    ScalingDecision recorded = apply instanceof ApplyStep.Applied ? decision
        : decision.withReplicas(current, current, decision.reason());
    history.save(h.record(recorded, q.snapshotOrNull(), now, ScalingHistory.keepFor(spec)));
    return new CycleOutcome.Decided(current, q, r, decision, apply);
  }

  private ApplyStep apply(ScalingDecision decision, int current) {
    if (!decision.changes()) return new ApplyStep.Unchanged();
    try {
      target.scale(decision.replicas());
      log.info("scaler {}: scaled {} from {} to {} (limitedBy {}): {}", name, target.describe(), current,
          decision.replicas(), decision.limitedBy().statusValue(), decision.reason());
      return new ApplyStep.Applied(current, decision.replicas());
    } catch (ScaleTargetException e) {
      if (e.kind() == ScaleTargetException.Kind.DEFERRED && e.retryAt() != null) {
        log.info("scaler {}: scaling {} from {} to {} deferred to {}: {}", name, target.describe(), current,
            decision.replicas(), e.retryAt(), e.getMessage());
        return new ApplyStep.Deferred(e.getMessage(), e.retryAt());
      }
      log.warn("scaler {}: scaling {} to {} failed, keeping {}: {}", name, target.describe(),
          decision.replicas(), current, e.getMessage());
      return new ApplyStep.ApplyFailed(e.getMessage(), Optional.ofNullable(e.retryAt()));
    }
  }

  private QueueStep observe() {
    try {
      return new QueueStep.Observed(queue.observe());
    } catch (QueueUnavailableException e) {
      log.warn("scaler {}: {}", name, e.getMessage());
      return new QueueStep.QueueUnavailable(e.getMessage());
    } catch (RuntimeException e) {
      log.warn("scaler {}: observing the queue failed", name, e);
      return new QueueStep.QueueUnavailable("observing the queue failed: " + Errors.rootMessage(e));
    }
  }

  private RescueStep rescue(QueueStep q) {
    if (rescuer.isEmpty()) return new RescueStep.NotRun(noRescueReason);
    if (q instanceof QueueStep.QueueUnavailable) return new RescueStep.NotRun("the queue is unavailable");
    try {
      List<RequeuedJob> requeued = rescuer.get().rescue();
      for (RequeuedJob job : requeued) {
        log.info("scaler {}: stale job {} of worker {} → {}", name, job.jobId(), job.workerId(), job.newStatus().sql());
      }
      return new RescueStep.Rescued(requeued);
    } catch (RuntimeException e) {
      log.warn("scaler {}: requeue_stale_jobs failed: {}", name, e.toString());
      return new RescueStep.RescueFailed("requeue_stale_jobs failed: " + Errors.rootMessage(e));
    }
  }

  /** Assembles a {@link Scaler}; every part but the rescuer and policy is required. */
  public static final class Builder {
    private final String name;
    private ScalerSpec spec;
    private QueueObserver queue;
    private StaleJobRescuer rescuer;
    private String noRescueReason = "no stale-job rescuer configured";
    private ScaleTarget target;
    private ScalingHistoryStore history;
    private Clock clock = Clock.systemUTC();
    private Policy policy = Policy.DEFAULT;

    private Builder(String name) {
      this.name = name;
    }

    public Builder spec(ScalerSpec spec) {
      this.spec = spec;
      return this;
    }

    public Builder queue(QueueObserver queue) {
      this.queue = queue;
      return this;
    }

    /** The rescuer of this scaler's stale jobs; only the one process that rescues the scope sets it. */
    public Builder rescuer(StaleJobRescuer rescuer) {
      this.rescuer = rescuer;
      return this;
    }

    /** No rescue in this process, and why (shown as {@link RescueStep.NotRun#why()}). */
    public Builder noRescuer(String why) {
      this.rescuer = null;
      this.noRescueReason = why;
      return this;
    }

    public Builder target(ScaleTarget target) {
      this.target = target;
      return this;
    }

    public Builder history(ScalingHistoryStore history) {
      this.history = history;
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    public Builder policy(Policy policy) {
      this.policy = policy;
      return this;
    }

    public Scaler build() {
      return new Scaler(this);
    }
  }
}
