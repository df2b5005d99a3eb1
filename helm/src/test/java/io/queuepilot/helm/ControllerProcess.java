package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged controller jar (controller/target/queuepilot-controller.jar) run as a process the
 * way the chart's controller Deployment runs it: the container's environment from the installed
 * Deployment (fieldRefs resolved as the kubelet would), and a kubeconfig whose only credential
 * is a TokenRequest token of the chart's controller ServiceAccount — no admin certificate.
 */
final class ControllerProcess implements AutoCloseable {

  private final Process process;
  private final Path log;
  private final int port;
  private final HttpClient http = HttpClient.newHttpClient();

  private ControllerProcess(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
  }

  /**
   * Starts the controller as pod {@code podName} of Deployment {@code deployment}, authenticated
   * as ServiceAccount {@code serviceAccount}; logs go to a file in {@code dir}.
   */
  static ControllerProcess start(KubernetesClient admin, String namespace, String deployment, String serviceAccount,
                                 String podName, Path dir) throws IOException {
    Path jar = Path.of(System.getProperty("queuepilot.repo.root", ".."), "controller", "target",
        "queuepilot-controller.jar");
    assertThat(jar).as("packaged by the controller module (mvn package)").exists();
    Path kubeconfig = dir.resolve(podName + ".kubeconfig.yaml");
    Files.writeString(kubeconfig, tokenOnlyKubeconfig(admin, namespace, serviceAccount));

    Container container = admin.apps().deployments().inNamespace(namespace).withName(deployment).get()
        .getSpec().getTemplate().getSpec().getContainers().get(0);
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toAbsolutePath().toString());
    Map<String, String> env = pb.environment();
    // nothing from the test JVM's environment may carry credentials or configuration in
    env.keySet().removeIf(k -> k.startsWith("KUBE") || k.startsWith("QUEUEPILOT_") || k.startsWith("POD_")
        || k.startsWith("RENDER_") || k.equals("JAVA_TOOL_OPTIONS"));
    for (EnvVar var : container.getEnv()) {
      env.put(var.getName(), value(var, namespace, podName));
    }
    int port = freePort();
    env.put("QUEUEPILOT_HTTP_PORT", String.valueOf(port)); // several processes share one host here
    env.put("QUEUEPILOT_LOG_FORMAT", "text");
    env.put("KUBECONFIG", kubeconfig.toString());
    Path log = dir.resolve(podName + ".log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    return new ControllerProcess(pb.start(), log, port);
  }

  /** GET on the controller's HTTP port: "status body", or "down: reason" while it is not listening. */
  String get(String path) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() + " " + r.body();
    } catch (IOException e) {
      return "down: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  boolean alive() {
    return process.isAlive();
  }

  String log() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static String value(EnvVar var, String namespace, String podName) {
    if (var.getValue() != null) {
      return var.getValue();
    }
    String field = var.getValueFrom() == null || var.getValueFrom().getFieldRef() == null ? null
        : var.getValueFrom().getFieldRef().getFieldPath();
    return switch (field == null ? "" : field) {
      case "metadata.name" -> podName;
      case "metadata.namespace" -> namespace;
      default -> throw new IllegalStateException("controller env " + var.getName()
          + " comes from something this test cannot resolve: " + var.getValueFrom());
    };
  }

  private static String tokenOnlyKubeconfig(KubernetesClient admin, String namespace, String serviceAccount)
      throws IOException {
    TokenRequest issued = admin.serviceAccounts().inNamespace(namespace).withName(serviceAccount)
        .tokenRequest(new TokenRequestBuilder().withNewSpec().withExpirationSeconds(3600L).endSpec().build());
    String token = issued.getStatus().getToken();
    assertThat(token).as("TokenRequest for %s", serviceAccount).isNotBlank();
    Config adminConfig = admin.getConfiguration();
    String ca = adminConfig.getCaCertData() != null ? adminConfig.getCaCertData()
        : Base64.getEncoder().encodeToString(Files.readAllBytes(Path.of(adminConfig.getCaCertFile())));
    return """
        apiVersion: v1
        kind: Config
        clusters:
          - name: cluster
            cluster:
              server: %s
              certificate-authority-data: %s
        users:
          - name: %s
            user:
              token: %s
        contexts:
          - name: controller
            context: {cluster: cluster, user: %s, namespace: %s}
        current-context: controller
        """.formatted(adminConfig.getMasterUrl(), ca, serviceAccount, token, serviceAccount, namespace);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
