package io.queuepilot.testkit;

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
public final class FakeRender implements AutoCloseable {

  /** The key the fake accepts until {@link #acceptKey} rotates it. */
  public static final String API_KEY = "rnd_test_key";

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One request as the fake saw it. */
  public record Request(String method, String path, String authorization, String body) {}

  /** One Render service: its instance count and whether Render's own autoscaling is on. */
  public static final class Service {
    private volatile int numInstances;
    private volatile boolean autoscaling;

    Service(int numInstances, boolean autoscaling) {
      this.numInstances = numInstances;
      this.autoscaling = autoscaling;
    }

    public int numInstances() {
      return numInstances;
    }

    public boolean autoscaling() {
      return autoscaling;
    }
  }

  private final HttpServer server;
  private final Map<String, Service> services = new ConcurrentHashMap<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  /** Scale calls still to be answered with 429. */
  private final AtomicInteger rateLimitNextScales = new AtomicInteger();
  private volatile int rateLimitResetSeconds = 30;
  private volatile String acceptedKey = API_KEY;

  public FakeRender() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v1/services/", this::handle);
    server.start();
  }

  /** The base URL for RENDER_API_URL. */
  public URI baseUrl() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  /** Creates (or replaces) service {@code id}. */
  public Service service(String id, int numInstances, boolean autoscaling) {
    Service s = new Service(numInstances, autoscaling);
    services.put(id, s);
    return s;
  }

  /** Service {@code id}'s instance count now. */
  public int numInstances(String id) {
    Service s = services.get(id);
    if (s == null) {
      throw new IllegalArgumentException("no service " + id);
    }
    return s.numInstances;
  }

  /** Every request so far, in order. */
  public List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The scale calls (POSTs) so far. */
  public long scaleCalls() {
    return requests.stream().filter(r -> r.method().equals("POST")).count();
  }

  /** The key accepted from now on; any other is answered 401 (a revoked or rotated key). */
  public void acceptKey(String key) {
    acceptedKey = key;
  }

  /** Answers the next {@code calls} scale calls with 429 and {@code Ratelimit-Reset: resetSeconds}. */
  public void rateLimitNextScales(int calls, int resetSeconds) {
    rateLimitResetSeconds = resetSeconds;
    rateLimitNextScales.set(calls);
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
