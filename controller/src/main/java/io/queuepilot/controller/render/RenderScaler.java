package io.queuepilot.controller.render;

import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.ScalingCycle;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.scaling.ScalerSpec;
import io.queuepilot.scaling.ScalingHistory;
import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.queue.JobQueue;
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
 * The standalone Render mode: the same {@link ScalingCycle} as the Kubernetes reconciler,
 * run on the spec's poll interval and at once on NOTIFY (at most one cycle per second), for
 * one Render service. There is no status resource: outcomes go to the log and the metrics.
 */
public final class RenderScaler implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RenderScaler.class);
  private static final Duration MIN_GAP = Duration.ofSeconds(1);

  private final String name;
  private final QueueScalerSpec spec;
  private final ScalerSpec policySpec;
  private final JobQueue queue;
  private final ScaleTarget target;
  private final ControllerMetrics metrics;
  private final Clock clock;
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "queuepilot-render-scaler");
    t.setDaemon(true);
    return t;
  });
  private ScalingHistory history;
  private CycleOutcome last;
  private ScheduledFuture<?> next;
  private Instant lastRun = Instant.MIN;

  public RenderScaler(String name, QueueScalerSpec spec, JobQueue queue, ScaleTarget target, ControllerMetrics metrics,
      Clock clock) {
    this.name = name;
    this.spec = spec;
    this.policySpec = SpecMapping.toPolicySpec(spec);
    this.queue = queue;
    this.target = target;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** Runs one cycle now (the loop and tests call this). */
  public synchronized CycleOutcome runOnce() {
    Instant now = clock.instant();
    lastRun = now;
    CycleOutcome o;
    try {
      o = ScalingCycle.run(name, SpecMapping.jobTypes(spec), SpecMapping.lanes(spec),
          SpecMapping.heartbeatTimeout(spec), policySpec, queue, null, target, history, now);
    } catch (RuntimeException e) {
      // A bug must not end the loop: log it, count it, try again next interval.
      log.error("render scaler {}: cycle failed", name, e);
      metrics.failure("cycle");
      return last;
    }
    if (o.history() != null) history = o.history();
    metrics.record("render", name, o);
    if (o.conflict() != null) log.error("render scaler {}: {}", name, o.conflict());
    if (o.targetError() != null) log.warn("render scaler {}: {}", name, o.targetError());
    if (o.databaseError() != null) log.warn("render scaler {}: {}; keeping {} instances", name, o.databaseError(), o.currentReplicas());
    if (o.decision() != null && !o.scaled()) {
      log.debug("render scaler {}: {} (limitedBy {})", name, o.decision().reason(), o.decision().limitedBy().statusValue());
    }
    last = o;
    return o;
  }

  /**
   * Ready: a cycle has run and Render accepted the API key in it. A refused key (401/403)
   * turns it not-ready until a cycle succeeds with an accepted key again.
   */
  public synchronized boolean ready() {
    return last != null && last.targetErrorKind() != io.queuepilot.scaling.ScaleTargetException.Kind.FORBIDDEN;
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
    Duration delay = SpecMapping.pollInterval(spec);
    if (o != null && o.retryAt() != null) {
      Duration untilRetry = Duration.between(clock.instant(), o.retryAt());
      if (untilRetry.compareTo(delay) < 0) delay = untilRetry.isNegative() ? MIN_GAP : untilRetry;
    }
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
