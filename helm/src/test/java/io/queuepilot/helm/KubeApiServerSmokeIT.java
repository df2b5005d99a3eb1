package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.VersionInfo;
import org.junit.jupiter.api.Test;

/** Proves the locally built kube-apiserver + etcd start under kube-api-test and serve requests. */
class KubeApiServerSmokeIT {

  @Test
  void startsTheLocallyBuiltApiServerAndCreatesANamespace() {
    try (KubeApiServers.Running api = KubeApiServers.start();
         KubernetesClient client = api.adminClient()) {
      VersionInfo version = client.getKubernetesVersion();
      assertThat(version.getMajor()).isEqualTo("1");
      assertThat(version.getGitVersion()).startsWith("v1.34.");

      client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("smoke").endMetadata().build())
          .create();

      Namespace stored = client.namespaces().withName("smoke").get();
      assertThat(stored).isNotNull();
      assertThat(stored.getMetadata().getUid()).isNotBlank();
      assertThat(stored.getStatus().getPhase()).isEqualTo("Active");
    }
  }
}
