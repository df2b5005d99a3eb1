package io.queuepilot.controller.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.queuepilot.scaling.ApplyStep;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.LimitedBy;
import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.RescueStep;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The controller's own {@code queuepilot_*} metrics, per scaler (tags namespace, queuescaler):
 * {@code queuepilot_queue_jobs{state}}, {@code queuepilot_queue_oldest_ready_age_seconds} (how long
 * the oldest ready job has waited, from queue_stats: exported here, so it stays visible when the
 * workers are scaled to zero), {@code queuepilot_scaler_replicas{kind=desired|current}},
 * {@code queuepilot_scaler_limited_by{reason}}, requeued and dead-lettered job counters,
 * failures per stage and the leader gauge; the names the chart's dashboard and alerts use.
 */
public final class ControllerMetrics {

  private final MeterRegistry registry;
  private final Map<String, ScalerGauges> scalers = new ConcurrentHashMap<>();

  public ControllerMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public MeterRegistry registry() {
    return registry;
  }

  private final class ScalerGauges {
    final AtomicLong ready = new AtomicLong();
    final AtomicLong processing = new AtomicLong();
    final AtomicLong stale = new AtomicLong();
    final AtomicLong deadLetter = new AtomicLong();
    final AtomicReference<Double> oldestReadyAge =
        new AtomicReference<>(0.0);
    final AtomicLong desired = new AtomicLong();
    final AtomicLong current = new AtomicLong();
    final Map<LimitedBy, AtomicLong> limited = new EnumMap<>(LimitedBy.class);
    final Counter requeued;
    final Counter deadLettered;
    final Counter scaleEvents;
    final Tags tags;

    ScalerGauges(String namespace, String name) {
      tags = Tags.of("namespace", namespace, "queuescaler", name);
      jobs("ready", ready);
      jobs("processing", processing);
      jobs("stale", stale);
      jobs("dead_letter", deadLetter);
      Gauge.builder("queuepilot.queue.oldest.ready.age.seconds", oldestReadyAge, AtomicReference::get)
          .description("Seconds the oldest ready job has been waiting (0 when none is ready), from queue_stats")
          .tags(tags).register(registry);
      gauge("queuepilot.scaler.replicas", "Replicas: desired by the last decision, current on the target",
          desired, Tags.of("kind", "desired"));
      gauge("queuepilot.scaler.replicas", "Replicas: desired by the last decision, current on the target",
          current, Tags.of("kind", "current"));
      for (LimitedBy l : LimitedBy.values()) {
        AtomicLong v = new AtomicLong();
        limited.put(l, v);
        gauge("queuepilot.scaler.limited.by", "1 for the limit that bound the last decision", v,
            Tags.of("reason", l.statusValue()));
      }
      requeued = Counter.builder("queuepilot.requeued.jobs").description("Stale jobs requeued")
          .tags(tags).register(registry);
      deadLettered = Counter.builder("queuepilot.dead.lettered.jobs")
          .description("Stale jobs dead-lettered (attempts spent)").tags(tags).register(registry);
      scaleEvents = Counter.builder("queuepilot.scale.changes").description("Replica count changes applied")
          .tags(tags).register(registry);
    }

    private void jobs(String state, AtomicLong v) {
      gauge("queuepilot.queue.jobs", "Jobs in the queue by state", v, Tags.of("state", state));
    }

    private void gauge(String name, String description, AtomicLong v, Tags extra) {
      Gauge.builder(name, v, AtomicLong::get).description(description).tags(tags.and(extra)).register(registry);
    }
  }

  /** Records what one cycle observed and did. */
  public void record(String namespace, String name, CycleOutcome o) {
    ScalerGauges g = scalers.computeIfAbsent(namespace + "/" + name, k -> new ScalerGauges(namespace, name));
    QueueSnapshot snapshot = o.queue().snapshotOrNull();
    if (snapshot != null) {
      g.ready.set(snapshot.ready());
      g.processing.set(snapshot.processing());
      g.stale.set(snapshot.stale());
      g.deadLetter.set(snapshot.deadLetter());
      g.oldestReadyAge.set(snapshot.oldestReadyAgeSeconds());
    } else {
      failure("observe");
    }
    o.replicasAfter().ifPresent(g.current::set);
    g.requeued.increment(o.rescue().requeuedCount());
    g.deadLettered.increment(o.rescue().deadLetteredCount());
    if (o.rescue() instanceof RescueStep.RescueFailed) failure("requeue");
    switch (o) {
      case CycleOutcome.Decided d -> {
        g.desired.set(d.decision().replicas());
        g.limited.forEach((l, v) -> v.set(l == d.decision().limitedBy() ? 1 : 0));
        if (d.scaled()) g.scaleEvents.increment();
        if (d.apply() instanceof ApplyStep.ApplyFailed) failure("apply");
      }
      case CycleOutcome.TargetUnavailable t -> failure("target");
      case CycleOutcome.Conflicting c -> { }
    }
  }

  /** Publishes {@code queuepilot_controller_leader}: 1 while this replica holds the Lease. */
  public void leader(AtomicLong isLeader) {
    Gauge.builder("queuepilot.controller.leader", isLeader, AtomicLong::get)
        .description("1 while this controller replica is the leader").register(registry);
  }

  /** Counts a failure of one stage (observe, requeue, target, apply, listen, reconcile). */
  public void failure(String stage) {
    Counter.builder("queuepilot.controller.failures").description("Failures per stage")
        .tag("stage", stage).register(registry).increment();
  }
}
