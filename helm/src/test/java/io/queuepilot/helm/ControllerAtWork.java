package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.queuepilot.controller.k8s.KubernetesController;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;

/**
 * What a running controller installed by the chart must have done once jobs are queued,
 * observed through the API server: the worker Deployment scaled, the QueueScaler's status
 * patched to the same count, an Event about the QueueScaler written, and the Lease held by a
 * controller replica. Shared by ChartInstallIT (kube-api-test) and K3sChartE2EIT (k3s).
 */
final class ControllerAtWork {

  private ControllerAtWork() {}

  /**
   * Waits until the controller scaled {@code worker} to at least {@code atLeastReplicas} and
   * checks the evidence of that decision; returns the replica count it set.
   */
  static int assertScaledAndReported(KubernetesClient admin, String namespace, String scaler, String worker,
                                     int atLeastReplicas, String holderPrefix, Duration within) {
    Awaitility.await().atMost(within).pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
      int replicas = replicas(admin, namespace, worker);
      assertThat(replicas).as("spec.replicas of %s set by the controller (QueueScaler status: %s)", worker,
          status(admin, namespace, scaler)).isGreaterThanOrEqualTo(atLeastReplicas);
      assertThat(desiredReplicas(admin, namespace, scaler)).as("QueueScaler %s status.desiredReplicas", scaler)
          .isEqualTo(replicas);
      // inside the wait: one cycle scales, then writes its Events, then patches the status, so
      // right after the scale call the count can match a status left by an earlier cycle (or a
      // test) before this cycle's Event exists (seen once in a clean-clone run)
      assertThat(events(admin, namespace, scaler)).as("Events about QueueScaler %s", scaler).isNotEmpty();
    });
    int replicas = replicas(admin, namespace, worker);

    List<Event> events = events(admin, namespace, scaler);
    assertThat(events).as("Events about QueueScaler %s", scaler).isNotEmpty();
    assertThat(events).allSatisfy(e -> assertThat(e.getSource().getComponent()).isEqualTo("queuepilot-controller"));

    Lease lease = admin.leases().inNamespace(namespace).withName(KubernetesController.LEASE_NAME).get();
    assertThat(lease).as("leader-election Lease %s", KubernetesController.LEASE_NAME).isNotNull();
    assertThat(lease.getSpec().getHolderIdentity()).as("Lease holder").startsWith(holderPrefix);
    return replicas;
  }

  /** The holder keeps renewing the Lease (renewTime moves on): its renewals are not refused. */
  static void assertLeaseRenewed(KubernetesClient admin, String namespace, String holderPrefix, Duration within) {
    Lease before = admin.leases().inNamespace(namespace).withName(KubernetesController.LEASE_NAME).get();
    assertThat(before.getSpec().getRenewTime()).as("Lease renewTime").isNotNull();
    Awaitility.await().atMost(within).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
      Lease now = admin.leases().inNamespace(namespace).withName(KubernetesController.LEASE_NAME).get();
      assertThat(now.getSpec().getHolderIdentity()).startsWith(holderPrefix);
      assertThat(now.getSpec().getRenewTime()).as("renewTime after %s", before.getSpec().getRenewTime())
          .isNotEqualTo(before.getSpec().getRenewTime());
    });
  }

  /**
   * A controller log shows it led and was never refused by the API server: "forbidden" is in
   * every 403 message fabric8 logs; a bare 403 (not part of a time or a longer number) too.
   */
  static void assertLedAndWasNeverRefused(String log) {
    assertThat(log).as("controller log").contains("is now the leader");
    assertThat(log.toLowerCase(java.util.Locale.ROOT)).as("controller log:%n%s", log).doesNotContain("forbidden")
        .doesNotContainPattern("(?<![.:\\d])403(?!\\d)");
  }

  static List<Event> events(KubernetesClient admin, String namespace, String scaler) {
    return admin.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> "QueueScaler".equals(e.getInvolvedObject().getKind())
            && scaler.equals(e.getInvolvedObject().getName()))
        .toList();
  }

  static int replicas(KubernetesClient admin, String namespace, String worker) {
    Integer replicas = admin.apps().deployments().inNamespace(namespace).withName(worker).get().getSpec().getReplicas();
    return replicas == null ? 0 : replicas;
  }

  /** The QueueScaler's whole status, for failure messages (it carries the decision's arithmetic). */
  static Object status(KubernetesClient admin, String namespace, String scaler) {
    GenericKubernetesResource qs = admin.genericKubernetesResources("queuepilot.io/v1alpha1", "QueueScaler")
        .inNamespace(namespace).withName(scaler).get();
    return qs == null ? null : qs.getAdditionalProperties().get("status");
  }

  static Integer desiredReplicas(KubernetesClient admin, String namespace, String scaler) {
    GenericKubernetesResource qs = admin.genericKubernetesResources("queuepilot.io/v1alpha1", "QueueScaler")
        .inNamespace(namespace).withName(scaler).get();
    Object status = qs.getAdditionalProperties().get("status");
    if (!(status instanceof Map<?, ?> m) || !(m.get("desiredReplicas") instanceof Number n)) {
      return null;
    }
    return n.intValue();
  }
}
