package io.queuepilot.controller.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where tools/k8s/prepare.sh put kube-apiserver and etcd for kube-api-test
 * ({@code ${KUBE_API_TEST_DIR:-~/.kubeapitest}/k8s/<version>-<os>-<arch>/}).
 */
final class KubeApiServerBinaries {

  private KubeApiServerBinaries() {}

  static Path root() {
    String dir = System.getenv("KUBE_API_TEST_DIR");
    return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".kubeapitest");
  }

  /** The directory holding both binaries, when there is one. */
  static Optional<Path> find() {
    Path k8s = root().resolve("k8s");
    if (!Files.isDirectory(k8s)) return Optional.empty();
    try (Stream<Path> dirs = Files.list(k8s)) {
      return dirs.filter(d -> Files.isExecutable(d.resolve("kube-apiserver")) && Files.isExecutable(d.resolve("etcd")))
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  static String missingMessage() {
    return "kube-apiserver/etcd not found under " + root().resolve("k8s")
        + "/<version>-linux-amd64/: run tools/k8s/prepare.sh (scripts/test.sh and .ci/run do it) to build them";
  }

  /** Starts kube-apiserver + etcd offline from the prepared binaries (callers assume they exist). */
  static io.fabric8.kubeapitest.KubeAPIServer startApiServer() {
    io.fabric8.kubeapitest.KubeAPIServer server = new io.fabric8.kubeapitest.KubeAPIServer(
        io.fabric8.kubeapitest.KubeAPIServerConfigBuilder.anAPIServerConfig()
            .withOfflineMode(true).withUpdateKubeConfig(false).build());
    server.start();
    return server;
  }

  /** An admin client on the JDK HTTP client (as production uses). */
  static io.fabric8.kubernetes.client.KubernetesClient adminClient(io.fabric8.kubeapitest.KubeAPIServer server) {
    return new io.fabric8.kubernetes.client.KubernetesClientBuilder()
        .withHttpClientFactory(new io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory())
        .withConfig(io.fabric8.kubernetes.client.Config.fromKubeconfig(server.getKubeConfigYaml())).build();
  }

  /** Applies the committed, generated CRD (crds/) and waits until it is Established. */
  static void applyQueueScalerCrd(io.fabric8.kubernetes.client.KubernetesClient client) throws java.io.IOException {
    Path crdFile = Path.of(System.getProperty("queuepilot.repoRoot", ".."), "crds", "queuescalers.queuepilot.io-v1.yml");
    try (java.io.InputStream in = Files.newInputStream(crdFile)) {
      var crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
      client.resource(crd).create();
      client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
          .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
              && c.getStatus().getConditions().stream()
                  .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
              30, java.util.concurrent.TimeUnit.SECONDS);
    }
  }
}
