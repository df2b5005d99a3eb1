package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.queuepilot.controller.db.NotificationHub;
import io.queuepilot.controller.db.QueueConnections;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.queue.PostgresJobQueue;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the Kubernetes mode: a JOSDK {@link Operator} on the given client with the
 * QueueScaler reconciler, JOSDK micrometer metrics, optional Lease-based leader election and
 * the NOTIFY hub. ControllerMain and the integration tests start it the same way.
 */
public final class KubernetesController implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(KubernetesController.class);

  /**
   * What differs between production and tests. {@code onLostLeadership} runs when this replica
   * loses the Lease while not shutting down (production: exit, so Kubernetes restarts it clean).
   */
  public record Options(List<String> watchNamespaces, String leaseNamespace, String identity, URI renderApiUrl,
      Clock clock, Runnable onLostLeadership) {}

  public static final String LEASE_NAME = "queuepilot-controller";

  private final Operator operator;
  private final QueueConnections connections;
  private final NotificationHub notifications;
  private final AtomicLong leader;
  private final java.util.concurrent.atomic.AtomicBoolean closing;
  private volatile boolean started;

  private KubernetesController(Operator operator, QueueConnections connections, NotificationHub notifications,
      AtomicLong leader, java.util.concurrent.atomic.AtomicBoolean closing) {
    this.operator = operator;
    this.connections = connections;
    this.notifications = notifications;
    this.leader = leader;
    this.closing = closing;
  }

  /** Builds and starts the operator; with a lease namespace only the Lease holder reconciles. */
  public static KubernetesController start(KubernetesClient client, MeterRegistry registry, Options o) {
    ControllerMetrics metrics = new ControllerMetrics(registry);
    QueueConnections connections = new QueueConnections(PostgresJobQueue::new);
    NotificationHub notifications = new NotificationHub(Duration.ofSeconds(5), Duration.ofMillis(500));
    AtomicLong leader = new AtomicLong(o.leaseNamespace() == null ? 1 : 0);
    java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    metrics.leader(leader);
    Operator operator = new Operator(c -> {
      c.withKubernetesClient(client)
          .withMetrics(MicrometerMetrics.newPerResourceCollectingMicrometerMetricsBuilder(registry).build())
          .withUseSSAToPatchPrimaryResource(false)
          .withCloseClientOnStop(false);
      if (o.leaseNamespace() != null) {
        c.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(LEASE_NAME)
            .withLeaseNamespace(o.leaseNamespace())
            .withIdentity(o.identity())
            // JOSDK would System.exit on losing the Lease, also during an orderly stop (deadlocking a
            // shutdown hook); we exit ourselves only when the loss is not part of shutting down.
            .withExitOnStopLeading(false)
            .withLeaderCallbacks(new LeaderCallbacks(
                () -> {
                  leader.set(1);
                  log.info("{} is now the leader", o.identity());
                },
                () -> {
                  leader.set(0);
                  if (closing.get()) {
                    log.info("{} released the leadership (shutting down)", o.identity());
                  } else {
                    log.error("{} lost the leadership; stopping so that only the new leader acts", o.identity());
                    o.onLostLeadership().run();
                  }
                },
                id -> log.info("leader is {}", id)))
            .build());
      }
    });
    QueueScalerReconciler reconciler = new QueueScalerReconciler(new SecretReader(client),
        new ScaleTargets(client, o.renderApiUrl(), o.clock()), connections, notifications,
        new KubernetesEventRecorder(client, o.clock()), metrics, o.clock(), () -> leader.get() == 1);
    operator.register(reconciler, ov -> {
      if (o.watchNamespaces().isEmpty()) ov.watchingAllNamespaces();
      else ov.settingNamespaces(new HashSet<>(o.watchNamespaces()));
    });
    KubernetesController kc = new KubernetesController(operator, connections, notifications, leader, closing);
    operator.start();
    kc.started = true;
    log.info("QueueScaler controller started (namespaces: {}, leader election: {})",
        o.watchNamespaces().isEmpty() ? "all" : o.watchNamespaces(), o.leaseNamespace() != null);
    return kc;
  }

  public boolean started() {
    return started;
  }

  /** Whether this replica currently reconciles (always true without leader election). */
  public boolean leading() {
    return leader.get() == 1;
  }

  public NotificationHub notifications() {
    return notifications;
  }

  @Override
  public void close() {
    closing.set(true);
    started = false;
    try {
      operator.stop();
    } finally {
      notifications.close();
      connections.close();
    }
  }
}
