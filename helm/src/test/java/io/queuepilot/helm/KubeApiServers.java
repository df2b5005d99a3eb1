package io.queuepilot.helm;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Starts a real kube-apiserver + etcd (fabric8 kube-api-test) from the binaries that
 * tools/k8s/prepare.sh built, offline (never downloads), and hands out admin clients and a
 * kubeconfig file for helm/kubectl.
 */
final class KubeApiServers {

  private KubeApiServers() {}

  /** A running API server with its admin kubeconfig written to a file. */
  record Running(KubeAPIServer server, String kubeConfigYaml, Path kubeConfigFile) implements AutoCloseable {

    KubernetesClient adminClient() {
      return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeConfigYaml)).build();
    }

    @Override
    public void close() {
      server.stop();
      try {
        Files.deleteIfExists(kubeConfigFile);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  static Running start() {
    KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
        .withOfflineMode(true)
        .withUpdateKubeConfig(false)
        .build());
    try {
      server.start();
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot start kube-apiserver/etcd; build them with tools/k8s/prepare.sh"
          + " (scripts/test.sh does it): " + e.getMessage(), e);
    }
    try {
      String yaml = server.getKubeConfigYaml();
      Path file = Files.createTempFile("queuepilot-kubeconfig", ".yaml");
      Files.writeString(file, yaml);
      return new Running(server, yaml, file);
    } catch (IOException e) {
      server.stop();
      throw new UncheckedIOException(e);
    }
  }
}
