package io.queuepilot.controller.target;

import io.queuepilot.scaling.ScaleTargetException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The two Render REST calls the controller needs ({@code GET /v1/services/{id}} and
 * {@code POST /v1/services/{id}/scale}) over java.net.http with a Bearer key, inside Render's
 * rate limits, which its API reference sets per API key and separately for GETs ("All other GET",
 * 100–400 / minute) and writes ("All other POST / PATCH / DELETE", 30 / minute):
 * <ul>
 *   <li>a service document read is reused for {@link #READ_CACHE} (the write re-check wants one
 *       at most {@link #FRESH_FOR_WRITE} old), and the client sends at most
 *       {@value #READS_PER_MINUTE} GETs and {@value #WRITES_PER_MINUTE} writes in any minute, so a
 *       NOTIFY burst that runs a cycle every second costs about one GET per five seconds;
 *   <li>a 429 or {@code Ratelimit-Remaining: 0} stops that bucket (reads or writes) until
 *       {@code Retry-After} / {@code Ratelimit-Reset}. Render documents {@code Ratelimit-Reset} as
 *       UTC epoch seconds while its own example shows seconds from now, so a value above
 *       {@value #EPOCH_THRESHOLD} is an epoch, anything smaller a delta; a stop never lasts more
 *       than {@link #LONGEST_STOP} whatever a header says.
 * </ul>
 */
public final class RenderApi {

  /** Render allows 30 scale writes per minute per API key. */
  public static final int WRITES_PER_MINUTE = 30;
  /** GETs per minute the client allows itself: well inside Render's documented GET limit (100 at the strictest). */
  public static final int READS_PER_MINUTE = 60;
  /** How long a service document read from Render is reused. */
  public static final Duration READ_CACHE = Duration.ofSeconds(5);
  /** The pre-write check of Render autoscaling uses a document at most this old. */
  public static final Duration FRESH_FOR_WRITE = Duration.ofSeconds(1);
  /** A {@code Ratelimit-Reset} larger than this is epoch seconds (2001-09-09), smaller is seconds from now. */
  public static final long EPOCH_THRESHOLD = 1_000_000_000L;
  /** The longest the client waits on a rate-limit header (Render's windows are a minute or an hour). */
  public static final Duration LONGEST_STOP = Duration.ofHours(1);

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RenderApi.class);

  private final URI baseUrl;
  private final String apiKey;
  private final HttpClient http;
  private final Clock clock;
  private final WriteRateLimiter writes;
  private final WriteRateLimiter reads;
  private final java.util.Map<String, Cached> services = new java.util.concurrent.ConcurrentHashMap<>();

  private record Cached(Service service, Instant readAt) {}

  public RenderApi(URI baseUrl, String apiKey, Clock clock) {
    if (apiKey == null || apiKey.isBlank()) throw new IllegalArgumentException("Render API key is empty");
    String base = baseUrl.toString();
    this.baseUrl = URI.create(base.endsWith("/") ? base : base + "/");
    this.apiKey = apiKey;
    this.clock = clock;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    this.writes = new WriteRateLimiter(WRITES_PER_MINUTE, Duration.ofMinutes(1), clock);
    this.reads = new WriteRateLimiter(READS_PER_MINUTE, Duration.ofMinutes(1), clock);
  }

  /** What the controller needs to know about a service. */
  public record Service(String id, String name, int numInstances, boolean autoscalingEnabled) {}

  /**
   * The service, from a read at most {@link #READ_CACHE} old; while Render's read limit holds
   * GETs back, the last document read (whatever its age) rather than nothing.
   */
  public Service getService(String serviceId) throws ScaleTargetException {
    return read(serviceId, READ_CACHE, true);
  }

  /** The service from a read at most {@link #FRESH_FOR_WRITE} old (the check right before a write); never stale. */
  public Service freshService(String serviceId) throws ScaleTargetException {
    return read(serviceId, FRESH_FOR_WRITE, false);
  }

  private Service read(String serviceId, Duration maxAge, boolean staleWhileLimited) throws ScaleTargetException {
    Instant now = clock.instant();
    Cached cached = services.get(serviceId);
    if (cached != null && Duration.between(cached.readAt(), now).compareTo(maxAge) < 0) return cached.service();
    Optional<Instant> blocked = reads.blockedUntil();
    if (blocked.isPresent()) {
      if (cached != null && staleWhileLimited) return cached.service();
      throw new ScaleTargetException(ScaleTargetException.Kind.RATE_LIMITED,
          "Render read rate limit: next GET of service " + serviceId + " allowed at " + blocked.get(), blocked.get(), null);
    }
    reads.recordWrite();
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri(serviceId)).GET(), reads);
    if (r.statusCode() == 404) {
      services.remove(serviceId);
      throw new ScaleTargetException(ScaleTargetException.Kind.NOT_FOUND, "Render service " + serviceId + " not found");
    }
    if (r.statusCode() == 429 && cached != null && staleWhileLimited) {
      log.warn("Render answered 429 to GET service {}; using the document read at {}", serviceId, cached.readAt());
      return cached.service();
    }
    check(r, "GET service " + serviceId, reads);
    Service service;
    try {
      JsonNode n = JSON.readTree(r.body());
      JsonNode details = n.path("serviceDetails");
      service = new Service(n.path("id").asText(serviceId), n.path("name").asText(""),
          details.path("numInstances").asInt(1), details.path("autoscaling").path("enabled").asBoolean(false));
    } catch (IOException e) {
      throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
          "Render returned an unreadable service document for " + serviceId + ": " + e.getMessage(), null, e);
    }
    services.put(serviceId, new Cached(service, now));
    return service;
  }

  /** {@code POST /v1/services/{id}/scale}; Render answers 202 Accepted. */
  public void scale(String serviceId, int numInstances) throws ScaleTargetException {
    Optional<Instant> blocked = writes.blockedUntil();
    if (blocked.isPresent()) {
      throw new ScaleTargetException(ScaleTargetException.Kind.RATE_LIMITED,
          "Render write rate limit: next scale call allowed at " + blocked.get(), blocked.get(), null);
    }
    writes.recordWrite();
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri(serviceId + "/scale"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"numInstances\":" + numInstances + "}")), writes);
    if (r.statusCode() == 404) {
      services.remove(serviceId);
      throw new ScaleTargetException(ScaleTargetException.Kind.NOT_FOUND, "Render service " + serviceId + " not found");
    }
    check(r, "scale " + serviceId + " to " + numInstances, writes);
    // Render accepted the count: the next cycle reads it from here instead of asking again.
    services.computeIfPresent(serviceId, (id, c) -> new Cached(
        new Service(c.service().id(), c.service().name(), numInstances, c.service().autoscalingEnabled()), c.readAt()));
  }

  private URI uri(String path) {
    return baseUrl.resolve("v1/services/" + path);
  }

  private HttpResponse<String> send(HttpRequest.Builder b, WriteRateLimiter bucket) throws ScaleTargetException {
    HttpRequest req = b.header("Authorization", "Bearer " + apiKey).header("Accept", "application/json")
        .timeout(Duration.ofSeconds(30)).build();
    HttpResponse<String> r;
    try {
      r = http.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
          req.method() + " " + req.uri() + " failed: " + e, null, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ScaleTargetException(ScaleTargetException.Kind.FAILED, "interrupted calling Render", null, e);
    }
    rateLimitHeaders(r, bucket);
    return r;
  }

  private void rateLimitHeaders(HttpResponse<?> r, WriteRateLimiter bucket) {
    Instant now = clock.instant();
    Optional<Instant> reset = seconds(r, "Ratelimit-Reset").stream().mapToObj(v -> resetInstant(v, now)).findFirst();
    Optional<Instant> retryAfter = retryAfter(r, now);
    OptionalLong remaining = seconds(r, "Ratelimit-Remaining");
    if (r.statusCode() == 429) {
      Instant until = retryAfter.or(() -> reset).orElse(now.plusSeconds(60));
      bucket.blockUntil(latest(until, now.plusSeconds(1)));
    } else if (remaining.isPresent() && remaining.getAsLong() <= 0 && reset.isPresent()) {
      bucket.blockUntil(reset.get());
    }
  }

  /**
   * When Render's window resets: epoch seconds as its reference says, or seconds from now as
   * its example shows (see {@link #EPOCH_THRESHOLD}); never before now nor after {@link #LONGEST_STOP}.
   */
  public static Instant resetInstant(long value, Instant now) {
    Instant at = value > EPOCH_THRESHOLD ? Instant.ofEpochSecond(value) : now.plusSeconds(Math.max(0, value));
    Instant longest = now.plus(LONGEST_STOP);
    if (at.isAfter(longest)) return longest;
    return at.isBefore(now) ? now : at;
  }

  /** {@code Retry-After}: delay-seconds or an HTTP-date (RFC 9110). */
  private static Optional<Instant> retryAfter(HttpResponse<?> r, Instant now) {
    Optional<String> v = r.headers().firstValue("Retry-After").map(String::trim);
    if (v.isEmpty() || v.get().isEmpty()) return Optional.empty();
    try {
      long seconds = Long.parseLong(v.get());
      return Optional.of(now.plusSeconds(Math.min(Math.max(0, seconds), LONGEST_STOP.toSeconds())));
    } catch (NumberFormatException notSeconds) {
      try {
        Instant at = java.time.ZonedDateTime.parse(v.get(), java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        return Optional.of(at.isAfter(now.plus(LONGEST_STOP)) ? now.plus(LONGEST_STOP) : at);
      } catch (java.time.format.DateTimeParseException unreadable) {
        return Optional.empty();
      }
    }
  }

  private static Instant latest(Instant a, Instant b) {
    return a.isAfter(b) ? a : b;
  }

  private static OptionalLong seconds(HttpResponse<?> r, String header) {
    Optional<String> v = r.headers().firstValue(header);
    if (v.isEmpty()) return OptionalLong.empty();
    try {
      return OptionalLong.of(Long.parseLong(v.get().trim()));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  private void check(HttpResponse<String> r, String what, WriteRateLimiter bucket) throws ScaleTargetException {
    int s = r.statusCode();
    if (s >= 200 && s < 300) return;
    if (s == 429) {
      Instant until = bucket.blockedUntil().orElse(clock.instant().plusSeconds(60));
      throw new ScaleTargetException(ScaleTargetException.Kind.RATE_LIMITED,
          "Render rate limit (429: " + renderMessage(r.body()) + ") on " + what + "; retrying after " + until, until, null);
    }
    String message = renderMessage(r.body());
    if (s == 401 || s == 403) {
      throw new ScaleTargetException(ScaleTargetException.Kind.FORBIDDEN, "Render refused the API key on " + what
          + " (HTTP " + s + (s == 401 ? " Unauthorized" : " Forbidden") + ": " + message
          + "); check RENDER_API_KEY / the apiKeySecretRef Secret");
    }
    throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
        "Render " + what + " answered HTTP " + s + ": " + message);
  }

  /** Render's error body is {@code {"id": ..., "message": ...}}: its message, else the body's start. */
  private static String renderMessage(String body) {
    if (body == null || body.isBlank()) return "no message";
    try {
      JsonNode n = JSON.readTree(body);
      if (n.path("message").isTextual() && !n.path("message").asText().isBlank()) return n.path("message").asText();
    } catch (IOException notJson) {
      // fall through to the raw start of the body
    }
    String b = body.strip();
    return b.length() > 200 ? b.substring(0, 200) + "…" : b;
  }
}
