package io.queuepilot.controller.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeRender;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged controller jar (target/queuepilot-controller.jar) as a real process in render
 * mode: environment configuration, YAML spec, real PostgreSQL, the loopback Render API, and
 * its /healthz, /readyz and /metrics endpoints.
 */
class ControllerJarRenderModeIT {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  Process process;
  FakeRender render;

  @AfterEach
  void stop() throws Exception {
    if (process != null) {
      process.destroy();
      process.waitFor();
    }
    if (render != null) render.close();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void scalesARenderServiceFromTheQueueAndServesMetrics(@TempDir Path dir) throws Exception {
    Path jar = Path.of("target", "queuepilot-controller.jar");
    assertThat(jar).as("built by mvn package").exists();
    render = new FakeRender();
    render.service("srv-jar", 1, false);
    pg.loginAs("qp_jar_ctl", "queue_controller");
    JobQueue producer = new PostgresJobQueue(pg.superuser());
    for (int i = 0; i < 24; i++) producer.enqueue(JobQueue.NewJob.of("jar_job", "{}", "jar:" + UUID.randomUUID()));

    Path yaml = Files.writeString(dir.resolve("scaler.yaml"), """
        scaleTargetRef: {kind: RenderService, name: srv-jar}
        jobTypes: [jar_job]
        minReplicas: 1
        maxReplicas: 10
        concurrencyPerReplica: 4
        pollIntervalSeconds: 1
        """);
    int port = freePort();
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString());
    pb.environment().put("QUEUEPILOT_CONTROLLER_MODE", "render");
    pb.environment().put("QUEUEPILOT_RENDER_CONFIG", yaml.toString());
    pb.environment().put("RENDER_API_KEY", FakeRender.API_KEY);
    pb.environment().put("RENDER_API_URL", render.baseUrl().toString());
    pb.environment().put("QUEUEPILOT_DB_URL", pg.jdbcUrl());
    pb.environment().put("QUEUEPILOT_DB_USER", "qp_jar_ctl");
    pb.environment().put("QUEUEPILOT_DB_PASSWORD", "qp_jar_ctl");
    pb.environment().put("QUEUEPILOT_HTTP_PORT", String.valueOf(port));
    pb.redirectErrorStream(true).redirectOutput(dir.resolve("controller.log").toFile());
    process = pb.start();

    HttpClient http = HttpClient.newHttpClient();
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
        http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    await().atMost(Duration.ofSeconds(10)).until(() -> render.numInstances("srv-jar") == 6);

    String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    assertThat(metrics).contains("queuepilot_queue_jobs{namespace=\"render\",queuescaler=\"srv-jar\",state=\"ready\"} 24.0");
    assertThat(metrics).contains("queuepilot_scaler_replicas{kind=\"desired\",namespace=\"render\",queuescaler=\"srv-jar\"} 6.0");
    assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    assertThat(Files.readString(dir.resolve("controller.log"))).contains("scaled render-service/srv-jar from 1 to 6");

    // the key is revoked: /readyz turns 503 until Render accepts the key again
    render.acceptKey("rnd_revoked");
    await().atMost(Duration.ofSeconds(10)).until(() -> readyz(http, port) == 503);
    render.acceptKey(FakeRender.API_KEY);
    await().atMost(Duration.ofSeconds(10)).until(() -> readyz(http, port) == 200);
    assertThat(Files.readString(dir.resolve("controller.log"))).contains("Render refused the API key")
        .contains("HTTP 401 Unauthorized");
  }

  static int readyz(HttpClient http, int port) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void aTypoInTheSpecFileIsOneParagraphAndExitCode2(@TempDir Path dir) throws Exception {
    Path jar = Path.of("target", "queuepilot-controller.jar");
    assertThat(jar).as("built by mvn package").exists();
    Path yaml = Files.writeString(dir.resolve("scaler.yaml"), """
        scaleTargetRef: {kind: RenderService, name: srv-typo}
        jobTypes: [jar_job]
        scaleDown:
          stabilisationWindowSeconds: 60
        """);
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString());
    pb.environment().put("QUEUEPILOT_CONTROLLER_MODE", "render");
    pb.environment().put("QUEUEPILOT_RENDER_CONFIG", yaml.toString());
    pb.environment().put("RENDER_API_KEY", FakeRender.API_KEY);
    pb.environment().put("QUEUEPILOT_DB_URL", pg.jdbcUrl());
    pb.environment().put("QUEUEPILOT_DB_USER", "postgres");
    pb.environment().put("QUEUEPILOT_DB_PASSWORD", "postgres");
    pb.environment().put("QUEUEPILOT_HTTP_PORT", String.valueOf(freePort()));
    pb.redirectErrorStream(true).redirectOutput(dir.resolve("controller.log").toFile());
    Process p = pb.start();
    assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    String out = Files.readString(dir.resolve("controller.log"));
    assertThat(out).contains("queuepilot-controller: bad Render spec file: " + yaml
        + ": unknown key 'spec.scaleDown.stabilisationWindowSeconds' (line 4,")
        .contains("stabilizationWindowSeconds");
    assertThat(out.lines().filter(l -> l.contains("bad Render spec file"))).hasSize(1);
    assertThat(out).doesNotContain("\tat ").doesNotContain("Exception");
  }
}
