package io.queuepilot.controller.render;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP server speaking the slice of Render's REST API the controller uses:
 * {@code GET /v1/services/{id}} (service with serviceDetails.numInstances and
 * serviceDetails.autoscaling) and {@code POST /v1/services/{id}/scale} (202 Accepted), Bearer
 * auth, {@code Ratelimit-*} headers, and 429 with {@code Ratelimit-Reset} on demand.
 */
final class FakeRenderServer implements AutoCloseable {

  static final String API_KEY = "rnd_test_key";
  /** The key the fake accepts now; rotate it to see how the controller meets a refused key. */
  volatile String acceptedKey = API_KEY;
  private static final ObjectMapper JSON = new ObjectMapper();

  record Request(String method, String path, String authorization, String body) {}

  static final class Service {
    volatile int numInstances;
    volatile boolean autoscaling;

    Service(int numInstances, boolean autoscaling) {
      this.numInstances = numInstances;
      this.autoscaling = autoscaling;
    }
  }

  private final HttpServer server;
  final Map<String, Service> services = new ConcurrentHashMap<>();
  final List<Request> requests = new CopyOnWriteArrayList<>();
  /** Seconds to announce in Ratelimit-Reset on the next N scale calls answered with 429. */
  final AtomicInteger rateLimitNextScales = new AtomicInteger();
  volatile int rateLimitResetSeconds = 30;

  FakeRenderServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/services/", this::handle);
    server.start();
  }

  URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  long scaleCalls() {
    return requests.stream().filter(r -> r.method().equals("POST")).count();
  }

  private void handle(HttpExchange ex) throws IOException {
    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    String path = ex.getRequestURI().getPath();
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    requests.add(new Request(ex.getRequestMethod(), path, auth, body));
    if (!("Bearer " + acceptedKey).equals(auth)) {
      send(ex, 401, "{\"id\":\"unauthorized\",\"message\":\"unauthorized\"}");
      return;
    }
    String[] parts = path.substring("/v1/services/".length()).split("/");
    Service s = services.get(parts[0]);
    if (s == null) {
      send(ex, 404, "{\"id\":\"not-found\",\"message\":\"service not found\"}");
      return;
    }
    if (ex.getRequestMethod().equals("GET") && parts.length == 1) {
      send(ex, 200, """
          {"id":"%s","name":"worker","type":"background_worker","suspended":"not_suspended",
           "serviceDetails":{"env":"docker","plan":"standard","numInstances":%d,
             "autoscaling":{"enabled":%b,"min":1,"max":5,"criteria":{"cpu":{"enabled":true,"percentage":70}}}}}
          """.formatted(parts[0], s.numInstances, s.autoscaling));
      return;
    }
    if (ex.getRequestMethod().equals("POST") && parts.length == 2 && parts[1].equals("scale")) {
      ex.getResponseHeaders().set("Ratelimit-Limit", "30");
      if (rateLimitNextScales.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        ex.getResponseHeaders().set("Ratelimit-Remaining", "0");
        ex.getResponseHeaders().set("Ratelimit-Reset", String.valueOf(rateLimitResetSeconds));
        send(ex, 429, "{\"id\":\"rate-limited\",\"message\":\"rate limit exceeded\"}");
        return;
      }
      JsonNode n = JSON.readTree(body);
      if (!n.path("numInstances").isInt()) {
        send(ex, 400, "{\"id\":\"bad-request\",\"message\":\"numInstances must be an integer\"}");
        return;
      }
      s.numInstances = n.path("numInstances").asInt();
      ex.getResponseHeaders().set("Ratelimit-Remaining", "29");
      ex.getResponseHeaders().set("Ratelimit-Reset", "60");
      ex.sendResponseHeaders(202, -1);
      ex.close();
      return;
    }
    send(ex, 405, "{\"message\":\"method not allowed\"}");
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
