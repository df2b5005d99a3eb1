package io.queuepilot.controller.k8s;

import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.queuepilot.controller.core.PauseSource;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScaler;
import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.controller.db.DatabaseConfigException;
import io.queuepilot.controller.db.DatabaseCredentials;
import io.queuepilot.controller.db.NotificationHub;
import io.queuepilot.controller.db.QueueConnections;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.controller.target.KubernetesDeploymentScaleTarget;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.BudgetReader;
import io.queuepilot.scaling.QueueObserver;
import io.queuepilot.scaling.QueueScope;
import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.Scaler;
import io.queuepilot.scaling.ScalerSpec;
import io.queuepilot.scaling.ScalingHistoryStore;
import io.queuepilot.scaling.StaleJobRescuer;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.WorkerOccupancy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JOSDK reconciler of QueueScaler: per reconcile it reads the database Secret, runs
 * {@link Scaler#runOnce()} against the named target with the scaler's history store, and
 * patches status (+ Events). It reconciles every {@code spec.pollIntervalSeconds} and at once
 * when the queue NOTIFYs an enqueue, sooner when the policy asks (ScalingDecision#decideAgainAt). Only the leader rescues stale jobs, and only those of the
 * QueueScaler's job types and lanes.
 */
@ControllerConfiguration(name = QueueScalerReconciler.NAME)
public final class QueueScalerReconciler implements Reconciler<QueueScaler> {

  public static final String NAME = "queuescaler";
  private static final Logger log = LoggerFactory.getLogger(QueueScalerReconciler.class);

  private final SecretReader secrets;
  private final ScaleTargets targets;
  private final QueueConnections connections;
  private final NotificationHub notifications;
  private final EventRecorder events;
  private final ControllerMetrics metrics;
  private final Clock clock;
  private final BooleanSupplier leading;
  private final Map<ResourceID, ScalingHistoryStore> histories = new ConcurrentHashMap<>();
  private final RescueTotals rescueTotals = new RescueTotals();
  private final Map<ResourceID, DatabaseCredentials> credentialsInUse = new ConcurrentHashMap<>();
  private final SimpleInboundEventSource<QueueScaler> wakeups = new SimpleInboundEventSource<>("queue-notify");
  private volatile io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache<QueueScaler> primaries;

  public QueueScalerReconciler(SecretReader secrets, ScaleTargets targets, QueueConnections connections,
      NotificationHub notifications, EventRecorder events, ControllerMetrics metrics, Clock clock,
      BooleanSupplier leading) {
    this.secrets = secrets;
    this.targets = targets;
    this.connections = connections;
    this.notifications = notifications;
    this.events = events;
    this.metrics = metrics;
    this.clock = clock;
    this.leading = leading;
  }

  @Override
  public List<EventSource<?, QueueScaler>> prepareEventSources(EventSourceContext<QueueScaler> context) {
    primaries = context.getPrimaryCache();
    return List.of(wakeups);
  }

  /** Triggers an immediate reconcile of {@code id}; forgets it when the QueueScaler is gone. */
  void wake(ResourceID id) {
    var cache = primaries;
    if (cache != null && cache.get(id).isEmpty()) {
      forget(id);
      return;
    }
    wakeups.propagateEvent(id);
  }

  @Override
  public UpdateControl<QueueScaler> reconcile(QueueScaler qs, Context<QueueScaler> context) {
    ResourceID id = ResourceID.fromResource(qs);
    String ns = qs.getMetadata().getNamespace();
    String name = qs.getMetadata().getName();
    Long generation = qs.getMetadata().getGeneration();
    QueueScalerStatus previous = qs.getStatus();
    Instant now = clock.instant();
    pruneDeleted();

    ScalerSpec policySpec;
    Duration poll;
    PauseSource pause;
    try {
      policySpec = SpecMapping.toPolicySpec(qs.getSpec(), qs.getMetadata().getAnnotations());
      pause = SpecMapping.pauseSource(qs.getSpec(), qs.getMetadata().getAnnotations());
      poll = SpecMapping.pollInterval(qs.getSpec());
    } catch (IllegalArgumentException e) {
      return unusableSpec(qs, previous, e, generation, now);
    }

    JobQueue queue = null;
    WorkerOccupancy occupancy = null;
    BudgetReader budgets = null;
    String queueError = null;
    boolean secretForbidden = false;
    try {
      DatabaseCredentials creds = secrets.database(ns,
          qs.getSpec().databaseSecretRef == null ? null : qs.getSpec().databaseSecretRef.name);
      queue = connections.queue(creds);
      occupancy = connections.occupancy(creds);
      budgets = BudgetReader.of(connections.budgets(creds));
      useCredentials(id, creds);
      if (creds.canListen()) {
        notifications.subscribe(id, creds, SpecMapping.jobTypes(qs.getSpec()), () -> wake(id));
      } else {
        notifications.unsubscribe(id);
      }
    } catch (DatabaseConfigException e) {
      queueError = e.getMessage();
      secretForbidden = e.isForbidden();
    }

    ScaleTarget target;
    try {
      target = targets.forScaler(qs, occupancy);
    } catch (IllegalArgumentException | DatabaseConfigException e) {
      return unusableSpec(qs, previous, e, generation, now);
    }

    QueueScope scope = SpecMapping.scope(qs.getSpec());
    // the window lives in status.scalingState too, so a new leader continues it
    StatusHistoryStore store = new StatusHistoryStore(histories.computeIfAbsent(id, k -> ScalingHistoryStore.inMemory()),
        previous);
    Scaler.Builder scaler = Scaler.builder(ns + "/" + name).spec(policySpec).target(target)
        .queue(queue == null ? QueueObserver.unavailable(queueError)
            : QueueObserver.of(queue, scope).withBudget(policySpec.budget().name(), budgets))
        .history(store).clock(clock);
    if (queue != null && leading.getAsBoolean()) {
      scaler.rescuer(StaleJobRescuer.of(queue, scope));
    } else {
      scaler.noRescuer("this controller replica is not the leader");
    }
    CycleOutcome o = scaler.build().runOnce();
    metrics.record(ns, name, o);

    StatusUpdate.Result r = StatusUpdate.withPause(
        StatusUpdate.next(previous, rescueTotals.before(id, previous), o, target.describe(), generation, now,
            secretForbidden,
            target instanceof KubernetesDeploymentScaleTarget k && k.scaleDownWithheld().isPresent()),
        previous, pause, generation, now);
    r = StatusUpdate.withBudget(r, previous, policySpec.budget().name(), o, generation, now);
    r.status().scalingState = store.toStatus();
    rescueTotals.remember(id, r.status());
    // the poll, or sooner: a rate limit's reset, or the instant the policy needs its next decision
    // (a predicted burst's pre-warm, a cold start's first pod Ready)
    return finish(qs, r, o.nextCycleAfter(now, poll, Duration.ofSeconds(1)));
  }

  private UpdateControl<QueueScaler> unusableSpec(QueueScaler qs, QueueScalerStatus previous, Exception e,
      Long generation, Instant now) {
    log.warn("scaler {}/{}: unusable spec: {}", qs.getMetadata().getNamespace(), qs.getMetadata().getName(),
        e.getMessage());
    metrics.failure("spec");
    ResourceID id = ResourceID.fromResource(qs);
    StatusUpdate.Result r = StatusUpdate.invalidSpec(previous, rescueTotals.before(id, previous), e.getMessage(),
        generation, now);
    // an unusable spec keeps the scaling window, so fixing the spec continues it
    r.status().scalingState = previous == null ? null : previous.scalingState;
    rescueTotals.remember(id, r.status());
    return finish(qs, r, Duration.ofSeconds(30));
  }

  private void pruneDeleted() {
    var cache = primaries;
    if (cache == null) return;
    for (ResourceID known : List.copyOf(credentialsInUse.keySet())) {
      if (cache.get(known).isEmpty()) forget(known);
    }
  }

  /** Drops everything kept for a QueueScaler that no longer exists. */
  void forget(ResourceID id) {
    notifications.unsubscribe(id);
    histories.remove(id);
    rescueTotals.forget(id);
    DatabaseCredentials old = credentialsInUse.remove(id);
    if (old != null && !credentialsInUse.containsValue(old)) connections.release(old);
  }

  private void useCredentials(ResourceID id, DatabaseCredentials creds) {
    DatabaseCredentials old = credentialsInUse.put(id, creds);
    if (old != null && !old.equals(creds) && !credentialsInUse.containsValue(old)) {
      log.info("scaler {}: database credentials changed, closing the pool for {}", id, old);
      connections.release(old);
    }
  }

  private UpdateControl<QueueScaler> finish(QueueScaler qs, StatusUpdate.Result r, Duration next) {
    for (StatusUpdate.PendingEvent e : r.events()) events.record(qs, e.type(), e.reason(), e.message());
    qs.setStatus(r.status());
    return UpdateControl.patchStatus(qs).rescheduleAfter(next);
  }
}
