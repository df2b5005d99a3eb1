package io.queuepilot.controller.render;

import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.scaling.ApplyStep;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.BudgetReader;
import io.queuepilot.scaling.QueueObserver;
import io.queuepilot.scaling.QueueScope;
import io.queuepilot.scaling.QueueStep;
import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import io.queuepilot.scaling.Scaler;
import io.queuepilot.scaling.ScalingHistoryStore;
import io.queuepilot.scaling.StaleJobRescuer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone Render mode: the same {@link Scaler} as the Kubernetes reconciler, run on the
 * spec's poll interval and at once on NOTIFY (at most one cycle per second), for one Render
 * service. The process is its own leader (one instance per service), so it also rescues the
 * stale jobs of the spec's job types and lanes. There is no status resource: outcomes go to the
 * log and the metrics.
 */
public final class RenderScaler implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RenderScaler.class);
  private static final Duration MIN_GAP = Duration.ofSeconds(1);

  private final String name;
  private final QueueScalerSpec spec;
  private final Scaler scaler;
  private final ControllerMetrics metrics;
  private final Clock clock;
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "queuepilot-render-scaler");
    t.setDaemon(true);
    return t;
  });
  private CycleOutcome last;
  private ScheduledFuture<?> next;
  private Instant lastRun = Instant.MIN;

  public RenderScaler(String name, QueueScalerSpec spec, JobQueue queue, ScaleTarget target, ControllerMetrics metrics,
      Clock clock) {
    this(name, spec, queue, null, target, metrics, clock);
  }

  /** A Render scaler that reads the spec's named shared budget through {@code budgets} (null: no budget row). */
  public RenderScaler(String name, QueueScalerSpec spec, JobQueue queue, BudgetReader budgets, ScaleTarget target,
      ControllerMetrics metrics, Clock clock) {
    this.name = name;
    this.spec = spec;
    QueueScope scope = SpecMapping.scope(spec);
    io.queuepilot.scaling.ScalerSpec policySpec = SpecMapping.toPolicySpec(spec);
    QueueObserver observer = QueueObserver.of(queue, scope);
    if (budgets != null) observer = observer.withBudget(policySpec.budget().name(), budgets);
    this.scaler = Scaler.builder(name).spec(policySpec).queue(observer)
        .rescuer(StaleJobRescuer.of(queue, scope)).target(target).history(ScalingHistoryStore.inMemory())
        .clock(clock).build();
    this.metrics = metrics;
    this.clock = clock;
  }

  /** Runs one cycle now (the loop and tests call this). */
  public synchronized CycleOutcome runOnce() {
    lastRun = clock.instant();
    CycleOutcome o;
    try {
      o = scaler.runOnce();
    } catch (RuntimeException e) {
      // A bug must not end the loop: log it, count it, try again next interval.
      log.error("render scaler {}: cycle failed", name, e);
      metrics.failure("cycle");
      return last;
    }
    metrics.record("render", name, o);
    switch (o) {
      case CycleOutcome.Conflicting c -> log.error("render scaler {}: {}", name, c.conflict());
      case CycleOutcome.TargetUnavailable t -> log.warn("render scaler {}: {}", name, t.message());
      case CycleOutcome.Decided d -> {
        if (d.queue() instanceof QueueStep.QueueUnavailable u) {
          log.warn("render scaler {}: {}; keeping {} instances", name, u.reason(), d.currentReplicas());
        }
        if (!(d.apply() instanceof ApplyStep.Applied)) {
          log.debug("render scaler {}: {} (limitedBy {})", name, d.decision().reason(),
              d.decision().limitedBy().statusValue());
        }
      }
    }
    last = o;
    return o;
  }

  /**
   * Ready: a cycle has run and Render accepted the API key in it. A refused key (401/403)
   * turns it not-ready until a cycle succeeds with an accepted key again.
   */
  public synchronized boolean ready() {
    return last != null
        && !(last instanceof CycleOutcome.TargetUnavailable t && t.kind() == ScaleTargetException.Kind.FORBIDDEN);
  }

  /** The outcome of the last cycle, or null before the first. */
  public synchronized CycleOutcome lastOutcome() {
    return last;
  }

  /** Starts the loop: a cycle now, then every poll interval (sooner after a rate-limit reset). */
  public void start() {
    schedule(Duration.ZERO);
  }

  /** A NOTIFY arrived: run soon, but not more than once per second. */
  public void wake() {
    Duration wait;
    synchronized (this) {
      Duration since = Duration.between(lastRun, clock.instant());
      wait = since.compareTo(MIN_GAP) >= 0 ? Duration.ZERO : MIN_GAP.minus(since);
    }
    schedule(wait);
  }

  private synchronized void schedule(Duration delay) {
    if (executor.isShutdown()) return;
    if (next != null && next.getDelay(TimeUnit.MILLISECONDS) <= delay.toMillis()) return;
    if (next != null) next.cancel(false);
    next = executor.schedule(this::loop, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void loop() {
    CycleOutcome o = runOnce();
    Duration poll = SpecMapping.pollInterval(spec);
    // the poll, or sooner: a rate limit's reset, or the instant the policy needs its next decision
    Duration delay = o == null ? poll : o.nextCycleAfter(clock.instant(), poll, MIN_GAP);
    synchronized (this) {
      next = null;
    }
    schedule(delay);
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
