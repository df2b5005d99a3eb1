package io.queuepilot.controller.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.queuepilot.controller.k8s.Fixtures;
import io.queuepilot.controller.k8s.KubernetesController;
import io.queuepilot.queue.testing.PostgresExtension;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes of the packaged controller jar in kubernetes mode against a real
 * kube-apiserver: only the Lease holder scales, the standby reports itself as not leader and
 * takes over (and scales) once the leader is stopped.
 */
class ControllerJarKubernetesModeIT {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  static final String NS = "queuepilot-jar";
  static KubeAPIServer apiServer;
  static KubernetesClient client;
  static final List<Process> processes = new ArrayList<>();
  static final HttpClient http = HttpClient.newHttpClient();

  @TempDir static Path dir;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(KubeApiServerBinaries.find().isPresent(), KubeApiServerBinaries.missingMessage());
    apiServer = KubeApiServerBinaries.startApiServer();
    client = KubeApiServerBinaries.adminClient(apiServer);
    KubeApiServerBinaries.applyQueueScalerCrd(client);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
    pg.loginAs("qp_jar_k8s", "queue_controller");
    client.resource(Fixtures.databaseSecret(NS, "db", pg.jdbcUrl(), "qp_jar_k8s", "qp_jar_k8s")).create();
  }

  @AfterAll
  static void stop() throws Exception {
    for (Process p : processes) {
      p.destroy();
      p.waitFor();
    }
    if (client != null) client.close();
    if (apiServer != null) apiServer.stop();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static Process controller(String podName, int port) throws IOException {
    Path kubeconfig = dir.resolve("kubeconfig.yaml");
    if (!Files.exists(kubeconfig)) Files.writeString(kubeconfig, apiServer.getKubeConfigYaml());
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", Path.of("target", "queuepilot-controller.jar").toString());
    pb.environment().put("KUBECONFIG", kubeconfig.toString());
    pb.environment().put("POD_NAMESPACE", NS);
    pb.environment().put("POD_NAME", podName);
    pb.environment().put("QUEUEPILOT_HTTP_PORT", String.valueOf(port));
    pb.redirectErrorStream(true).redirectOutput(dir.resolve(podName + ".log").toFile());
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  static String get(int port, String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.statusCode() + " " + r.body();
  }

  static int replicas() {
    return client.apps().deployments().inNamespace(NS).withName("worker").get().getSpec().getReplicas();
  }

  static void enqueue(int n, String prefix) throws Exception {
    try (Connection c = pg.superuser().getConnection(); Statement s = c.createStatement()) {
      s.execute("SELECT public.enqueue_job('jar_k8s', '{}'::jsonb, '" + prefix + ":' || g) FROM generate_series(1, " + n + ") g");
    }
  }

  @Test
  void onlyTheLeaseHolderScalesAndTheStandbyTakesOver() throws Exception {
    assertThat(Path.of("target", "queuepilot-controller.jar")).as("built by mvn package").exists();
    client.resource(Fixtures.deployment(NS, "worker", 0)).create();
    var qs = Fixtures.scaler(NS, "worker", "worker", "db", "jar_k8s");
    qs.getSpec().maxReplicas = 50;
    qs.getSpec().pollIntervalSeconds = 2;
    client.resource(qs).create();

    int portA = freePort();
    Process a = controller("controller-a", portA);
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> get(portA, "/metrics").contains("queuepilot_controller_leader 1.0"));
    int portB = freePort();
    controller("controller-b", portB);
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> get(portB, "/readyz").startsWith("200"));
    assertThat(get(portB, "/metrics")).contains("queuepilot_controller_leader 0.0");
    Lease lease = client.leases().inNamespace(NS).withName(KubernetesController.LEASE_NAME).get();
    assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("controller-a");

    enqueue(40, "first");
    await().atMost(Duration.ofSeconds(10)).until(() -> replicas() == 10);
    assertThat(get(portA, "/metrics")).contains("queuepilot_scaler_replicas{kind=\"desired\",namespace=\"" + NS
        + "\",queuescaler=\"worker\"} 10.0");
    assertThat(get(portB, "/metrics")).as("the standby never reconciled")
        .doesNotContain("queuepilot_scaler_replicas{kind=\"desired\"");

    a.destroy();
    assertThat(a.waitFor(30, TimeUnit.SECONDS)).isTrue();
    long stopped = System.nanoTime();
    await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> get(portB, "/metrics").contains("queuepilot_controller_leader 1.0"));
    long takeover = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopped);
    enqueue(40, "second");
    await().atMost(Duration.ofSeconds(10)).until(() -> replicas() == 20);
    assertThat(client.leases().inNamespace(NS).withName(KubernetesController.LEASE_NAME).get().getSpec().getHolderIdentity())
        .isEqualTo("controller-b");
    Files.writeString(Path.of("target", "controller-jar-failover-measurement.txt"),
        "standby took over the Lease " + takeover + " ms after the leader process stopped\n");
    System.out.println("[ControllerJarKubernetesModeIT] standby took over the Lease " + takeover + " ms after the leader stopped");
  }
}
