package io.queuepilot.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
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
 * auth, and Render's rate limits as its API reference documents them: GETs and writes are
 * limited separately per API key ("All other GET" {@value #READS_PER_MINUTE} / minute, "All other
 * POST / PATCH / DELETE" {@value #WRITES_PER_MINUTE} / minute, in fixed one-minute windows here),
 * every answer carries {@code Ratelimit-Limit}, {@code Ratelimit-Remaining} and
 * {@code Ratelimit-Reset} — "time at which the current rate limit window resets in UTC Epoch
 * Seconds" ({@link #resetAsDelta} switches to the seconds-from-now form Render's own example
 * shows) — and a request over the limit is answered 429 with Render's error body
 * {@code {"id": ..., "message": "rate limit exceeded"}}.
 */
public final class FakeRender implements AutoCloseable {

  /** Render's documented limit for GETs per minute (the stricter of the values its docs have shown). */
  public static final int READS_PER_MINUTE = 100;
  /** Render's documented limit for other POST/PATCH/DELETE calls per minute. */
  public static final int WRITES_PER_MINUTE = 30;

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
  private final java.time.Clock clock;
  private final Window reads = new Window(READS_PER_MINUTE);
  private final Window writes = new Window(WRITES_PER_MINUTE);
  private final AtomicInteger tooManyRequests = new AtomicInteger();
  private volatile boolean resetAsDelta;

  /** One rate-limit bucket: a fixed one-minute window opened by its first request. */
  private final class Window {
    private final int limit;
    private java.time.Instant start;
    private int used;

    Window(int limit) {
      this.limit = limit;
    }

    /** Counts a request; false when it is over the limit. Sets the Ratelimit-* headers either way. */
    synchronized boolean admit(HttpExchange ex) {
      java.time.Instant now = clock.instant();
      if (start == null || !now.isBefore(start.plusSeconds(60))) {
        start = now;
        used = 0;
      }
      boolean ok = used < limit;
      if (ok) used++;
      java.time.Instant reset = start.plusSeconds(60);
      ex.getResponseHeaders().set("Ratelimit-Limit", String.valueOf(limit));
      ex.getResponseHeaders().set("Ratelimit-Remaining", String.valueOf(limit - used));
      ex.getResponseHeaders().set("Ratelimit-Reset", resetAsDelta
          ? String.valueOf(Math.max(0, java.time.Duration.between(now, reset).toSeconds()))
          : String.valueOf(reset.getEpochSecond()));
      return ok;
    }
  }

  /** A fake on the system clock. */
  public FakeRender() throws IOException {
    this(java.time.Clock.systemUTC());
  }

  /** A fake whose rate-limit windows run on {@code clock} (the client's clock in a test). */
  public FakeRender(java.time.Clock clock) throws IOException {
    this.clock = clock;
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

  /** The GETs so far. */
  public long readCalls() {
    return requests.stream().filter(r -> r.method().equals("GET")).count();
  }

  /** Requests answered 429 so far. */
  public int tooManyRequests() {
    return tooManyRequests.get();
  }

  /** {@code Ratelimit-Reset} as seconds from now instead of Render's documented epoch seconds. */
  public void resetAsDelta(boolean delta) {
    resetAsDelta = delta;
  }

  /**
   * Answers the next {@code calls} scale calls with 429, {@code Ratelimit-Remaining: 0} and a
   * reset {@code resetSeconds} from now (epoch seconds, or the delta with {@link #resetAsDelta}).
   */
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
      if (!reads.admit(ex)) {
        tooManyRequests.incrementAndGet();
        send(ex, 429, RATE_LIMITED);
        return;
      }
      send(ex, 200, """
          {"id":"%s","name":"worker","type":"background_worker","suspended":"not_suspended",
           "serviceDetails":{"env":"docker","plan":"standard","numInstances":%d,
             "autoscaling":{"enabled":%b,"min":1,"max":5,"criteria":{"cpu":{"enabled":true,"percentage":70}}}}}
          """.formatted(parts[0], s.numInstances, s.autoscaling));
      return;
    }
    if (ex.getRequestMethod().equals("POST") && parts.length == 2 && parts[1].equals("scale")) {
      if (rateLimitNextScales.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        java.time.Instant now = clock.instant();
        ex.getResponseHeaders().set("Ratelimit-Limit", String.valueOf(WRITES_PER_MINUTE));
        ex.getResponseHeaders().set("Ratelimit-Remaining", "0");
        ex.getResponseHeaders().set("Ratelimit-Reset", resetAsDelta ? String.valueOf(rateLimitResetSeconds)
            : String.valueOf(now.plusSeconds(rateLimitResetSeconds).getEpochSecond()));
        tooManyRequests.incrementAndGet();
        send(ex, 429, RATE_LIMITED);
        return;
      }
      if (!writes.admit(ex)) {
        tooManyRequests.incrementAndGet();
        send(ex, 429, RATE_LIMITED);
        return;
      }
      JsonNode n = JSON.readTree(body);
      if (!n.path("numInstances").isInt()) {
        send(ex, 400, "{\"id\":\"bad-request\",\"message\":\"numInstances must be an integer\"}");
        return;
      }
      s.numInstances = n.path("numInstances").asInt();
      ex.sendResponseHeaders(202, -1);
      ex.close();
      return;
    }
    send(ex, 405, "{\"message\":\"method not allowed\"}");
  }

  /** Render's error body for a 429 (its error object: id and message). */
  private static final String RATE_LIMITED = "{\"id\":\"rate-limit-exceeded\",\"message\":\"rate limit exceeded\"}";

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    LoopbackHttp.sendJson(ex, status, body);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
