package io.queuepilot.controller.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.queuepilot.controller.core.CycleOutcome;
import io.queuepilot.controller.policy.LimitedBy;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The controller's own {@code queuepilot_*} metrics, per scaler (tags namespace, scaler):
 * queue depth, desired / current replicas, which limit binds, requeued and dead-lettered jobs,
 * and failures per stage.
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
    final AtomicLong desired = new AtomicLong();
    final AtomicLong current = new AtomicLong();
    final Map<LimitedBy, AtomicLong> limited = new EnumMap<>(LimitedBy.class);
    final Counter requeued;
    final Counter deadLettered;
    final Counter scaleEvents;
    final Tags tags;

    ScalerGauges(String namespace, String name) {
      tags = Tags.of("namespace", namespace, "scaler", name);
      gauge("queuepilot.queue.ready", "Jobs ready to run now", ready);
      gauge("queuepilot.queue.processing", "Jobs being processed", processing);
      gauge("queuepilot.queue.stale", "Processing jobs whose heartbeat is stale", stale);
      gauge("queuepilot.queue.dead.letter", "Dead-lettered jobs", deadLetter);
      gauge("queuepilot.replicas.desired", "Replicas the last decision asked for", desired);
      gauge("queuepilot.replicas.current", "Replicas the target runs", current);
      for (LimitedBy l : LimitedBy.values()) {
        AtomicLong v = new AtomicLong();
        limited.put(l, v);
        Gauge.builder("queuepilot.scaler.limited", v, AtomicLong::get)
            .description("1 for the limit that bound the last decision")
            .tags(tags.and("limited_by", l.statusValue())).register(registry);
      }
      requeued = Counter.builder("queuepilot.requeued.jobs").description("Stale jobs requeued")
          .tags(tags).register(registry);
      deadLettered = Counter.builder("queuepilot.dead.lettered.jobs")
          .description("Stale jobs dead-lettered (attempts spent)").tags(tags).register(registry);
      scaleEvents = Counter.builder("queuepilot.scale.changes").description("Replica count changes applied")
          .tags(tags).register(registry);
    }

    private void gauge(String name, String description, AtomicLong v) {
      Gauge.builder(name, v, AtomicLong::get).description(description).tags(tags).register(registry);
    }
  }

  /** Records what one cycle observed and did. */
  public void record(String namespace, String name, CycleOutcome o) {
    ScalerGauges g = scalers.computeIfAbsent(namespace + "/" + name, k -> new ScalerGauges(namespace, name));
    if (o.snapshot() != null) {
      g.ready.set(o.snapshot().ready());
      g.processing.set(o.snapshot().processing());
      g.stale.set(o.snapshot().stale());
      g.deadLetter.set(o.snapshot().deadLetter());
    }
    if (o.replicasAfter() != null) g.current.set(o.replicasAfter());
    if (o.decision() != null) {
      g.desired.set(o.decision().replicas());
      g.limited.forEach((l, v) -> v.set(l == o.decision().limitedBy() ? 1 : 0));
    }
    g.requeued.increment(o.requeuedCount());
    g.deadLettered.increment(o.deadLetteredCount());
    if (o.scaled()) g.scaleEvents.increment();
    if (o.databaseError() != null) failure("observe");
    if (o.requeueError() != null) failure("requeue");
    if (o.targetError() != null) failure("target");
    if (o.applyError() != null) failure("apply");
  }

  /** Counts a failure of one stage (observe, requeue, target, apply, listen, reconcile). */
  public void failure(String stage) {
    Counter.builder("queuepilot.controller.failures").description("Failures per stage")
        .tag("stage", stage).register(registry).increment();
  }
}
