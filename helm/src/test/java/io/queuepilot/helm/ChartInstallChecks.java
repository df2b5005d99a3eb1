package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;

/**
 * What every installation of the chart must show, whatever the cluster: shared by the install
 * test on kube-api-test (ChartInstallIT) and the k3s end-to-end test (K3sChartE2EIT).
 */
final class ChartInstallChecks {

  private ChartInstallChecks() {}

  /** Every object of the release's manifest is stored by the API server; returns the manifest. */
  static List<JsonNode> assertEveryObjectStored(HelmCli helm, KubernetesClient admin, String release, String namespace) {
    List<JsonNode> objects = ChartRenderer.Manifests.parse(helm.run("get", "manifest", release, "-n", namespace)
        .requireSuccess().stdout()).objects();
    assertThat(objects.stream().map(o -> o.path("kind").asText()).distinct())
        .contains("Deployment", "Role", "RoleBinding", "ServiceAccount", "Service", "QueueScaler");
    for (JsonNode object : objects) {
      String kind = object.path("kind").asText();
      String name = object.path("metadata").path("name").asText();
      GenericKubernetesResource stored = admin.genericKubernetesResources(object.path("apiVersion").asText(), kind)
          .inNamespace(namespace).withName(name).get();
      assertThat(stored).as("%s/%s stored", kind, name).isNotNull();
    }
    return objects;
  }

  /**
   * Sets the worker count as the controller would, upgrades with {@code upgradeArgs}, and checks
   * the count survived while the pod template did change.
   */
  static void assertUpgradeKeepsControllerOwnedReplicas(HelmCli helm, KubernetesClient admin, String release,
                                                        String namespace, String worker, int replicas,
                                                        String envName, String envValue, String... upgradeArgs) {
    admin.apps().deployments().inNamespace(namespace).withName(worker).scale(replicas);

    Tools.Result upgrade = helm.upgradeInstall(release, namespace, upgradeArgs);
    assertThat(upgrade.exitCode()).as(upgrade.stdout() + upgrade.stderr()).isZero();

    Deployment after = admin.apps().deployments().inNamespace(namespace).withName(worker).get();
    assertThat(after.getSpec().getReplicas()).as("replicas owned by the controller").isEqualTo(replicas);
    assertThat(after.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv())
        .anySatisfy(e -> {
          assertThat(e.getName()).isEqualTo(envName);
          assertThat(e.getValue()).isEqualTo(envValue);
        });
  }
}
