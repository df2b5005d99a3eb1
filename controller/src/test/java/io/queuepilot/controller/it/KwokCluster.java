package io.queuepilot.controller.it;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A small real cluster for the ITs: kube-apiserver + etcd (kube-api-test), the real
 * kube-controller-manager (Deployment and ReplicaSet controllers) and kube-scheduler, all built
 * by tools/k8s/prepare.sh from k8s.io/kubernetes v1.34.12, and KWOK (tools/kwok/prepare.sh)
 * playing the kubelet of {@code nodes} fake nodes with kwokctl's default stages: a scheduled pod
 * becomes Running and Ready, a pod marked for deletion is removed. Nothing runs in the pods.
 *
 * <p>So a Deployment's pods appear, get scheduled and become Ready, and on scale-down the real
 * ReplicaSet controller chooses which pods to delete (by {@code controller.kubernetes.io/pod-deletion-cost},
 * then readiness and age) exactly as in a production cluster. Logs of every component go to
 * {@code target/kwok-cluster/<name>/}.
 */
final class KwokCluster implements AutoCloseable {

  /** Nodes KWOK manages carry this annotation (the convention of KWOK's docs). */
  static final String KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

  private final KubeAPIServer apiServer;
  private final KubernetesClient client;
  private final List<Process> processes = new ArrayList<>();
  private final Path logDir;
  private final Path kubeconfig;

  private KwokCluster(KubeAPIServer apiServer, KubernetesClient client, Path logDir) {
    this.apiServer = apiServer;
    this.client = client;
    this.logDir = logDir;
    this.kubeconfig = logDir.resolve("kubeconfig.yaml").toAbsolutePath();
  }

  /** The admin kubeconfig file, e.g. for running kubectl against this cluster. */
  Path kubeconfig() {
    return kubeconfig;
  }

  /** kubectl (tools/helm/prepare.sh) as a command prefix bound to this cluster. */
  List<String> kubectl(String... args) {
    List<String> command = new ArrayList<>(List.of(toolsBin().resolve("kubectl").toString(), "--kubeconfig=" + kubeconfig));
    command.addAll(List.of(args));
    return command;
  }

  /** The four binaries, when tools/k8s/prepare.sh and tools/kwok/prepare.sh have run. */
  static Optional<String> missing() {
    Optional<Path> k8s = KubeApiServerBinaries.find();
    if (k8s.isEmpty()) return Optional.of(KubeApiServerBinaries.missingMessage());
    for (String name : List.of("kube-controller-manager", "kube-scheduler")) {
      if (!Files.isExecutable(k8s.get().resolve(name))) {
        return Optional.of(name + " not found in " + k8s.get() + ": run tools/k8s/prepare.sh (scripts/test.sh does it)");
      }
    }
    if (!Files.isExecutable(kwok()) || !Files.isRegularFile(kwokStages())) {
      return Optional.of("kwok or its stages not found in " + toolsBin() + ": run tools/kwok/prepare.sh (scripts/test.sh does it)");
    }
    return Optional.empty();
  }

  /**
   * Starts everything and waits until {@code nodes} fake nodes are Ready. {@code name} names the
   * log folder.
   */
  static KwokCluster start(String name, int nodes) throws IOException {
    Path logDir = Path.of("target", "kwok-cluster", name);
    Files.createDirectories(logDir);
    KubeAPIServer apiServer = KubeApiServerBinaries.startApiServer();
    KubernetesClient client = KubeApiServerBinaries.adminClient(apiServer);
    KwokCluster cluster = new KwokCluster(apiServer, client, logDir);
    try {
      Path kubeconfig = logDir.resolve("kubeconfig.yaml");
      Files.writeString(kubeconfig, apiServer.getKubeConfigYaml());
      Path bin = KubeApiServerBinaries.find().orElseThrow();
      // Only the controllers a Deployment on fake nodes needs: deployment, replicaset, and the
      // node lifecycle controller, which lifts the node.kubernetes.io/not-ready taint the API
      // server puts on every new node once KWOK reports it Ready (and keeps it, from KWOK's
      // Lease heartbeats). No service-account token controller: kube-api-test runs the API
      // server without the ServiceAccount admission plugin.
      // --secure-port=0: no serving endpoint, so parallel clusters never collide on a port.
      cluster.launch("kube-controller-manager", List.of(bin.resolve("kube-controller-manager").toString(),
          "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--secure-port=0",
          "--controllers=deployment-controller,replicaset-controller,node-lifecycle-controller",
          "--concurrent-deployment-syncs=2", "--concurrent-replicaset-syncs=2"));
      cluster.launch("kube-scheduler", List.of(bin.resolve("kube-scheduler").toString(),
          "--kubeconfig=" + kubeconfig, "--leader-elect=false", "--secure-port=0",
          "--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig));
      cluster.launch("kwok", List.of(kwok().toString(), "--kubeconfig=" + kubeconfig,
          "--config=" + kwokStages(), "--manage-nodes-with-annotation-selector=" + KWOK_NODE_ANNOTATION + "=fake",
          "--node-lease-duration-seconds=40"));
      for (int i = 0; i < nodes; i++) cluster.addNode("kwok-node-" + i);
      await().atMost(Duration.ofSeconds(60)).until(() -> client.nodes().list().getItems().stream()
          .filter(KwokCluster::ready).count() == nodes);
      return cluster;
    } catch (RuntimeException | IOException e) {
      cluster.close();
      throw e;
    }
  }

  KubernetesClient client() {
    return client;
  }

  KubeAPIServer apiServer() {
    return apiServer;
  }

  /** A fake node KWOK plays the kubelet of; no taints, so any pod may land on it. */
  void addNode(String name) {
    Node node = new NodeBuilder().withNewMetadata().withName(name)
        .addToAnnotations(KWOK_NODE_ANNOTATION, "fake")
        .addToLabels("type", "kwok").addToLabels("kubernetes.io/hostname", name)
        .endMetadata().build();
    client.nodes().resource(node).create();
  }

  static boolean ready(Node n) {
    return n.getStatus() != null && n.getStatus().getConditions() != null && n.getStatus().getConditions().stream()
        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  static boolean ready(Pod p) {
    return p.getMetadata().getDeletionTimestamp() == null && p.getStatus() != null
        && "Running".equals(p.getStatus().getPhase()) && p.getStatus().getConditions() != null
        && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  /** How long the pod has been Ready (zero when it is not). */
  static Duration readyFor(Pod p) {
    if (!ready(p)) return Duration.ZERO;
    return p.getStatus().getConditions().stream().filter(c -> "Ready".equals(c.getType()))
        .map(c -> Duration.between(java.time.Instant.parse(c.getLastTransitionTime()), java.time.Instant.now()))
        .findFirst().orElse(Duration.ZERO);
  }

  private void launch(String name, List<String> command) throws IOException {
    Path log = logDir.resolve(name + ".log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    processes.add(p);
    // A component that dies at start (a bad flag, a missing file) says so in its log.
    try {
      if (p.waitFor(300, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException(name + " exited with " + p.exitValue() + " at start; see " + log.toAbsolutePath()
            + ":\n" + tail(log));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted starting " + name, e);
    }
  }

  /** Stops a component (e.g. the controller-manager) while the rest keeps running; it is not restarted. */
  void assertAllRunning() {
    for (Process p : processes) {
      if (!p.isAlive()) throw new IllegalStateException("a cluster component exited (" + p.info().command().orElse("?")
          + ", exit " + p.exitValue() + "); logs in " + logDir.toAbsolutePath());
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  private static Path toolsBin() {
    String cache = System.getenv("QUEUEPILOT_TOOLS_CACHE");
    Path root = cache != null && !cache.isBlank() ? Path.of(cache)
        : Path.of(System.getProperty("user.home"), ".cache", "queuepilot");
    return root.resolve("bin");
  }

  private static Path kwok() {
    return toolsBin().resolve("kwok");
  }

  private static Path kwokStages() {
    return toolsBin().resolve("kwok-stages.yaml");
  }

  @Override
  public void close() {
    for (Process p : processes.reversed()) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    client.close();
    apiServer.stop();
  }
}
