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
 * {@code POST /v1/services/{id}/scale}) over java.net.http with a Bearer key, honouring
 * Render's 30 writes per minute and its {@code Ratelimit-*} / {@code Retry-After} headers.
 */
public final class RenderApi {

  /** Render allows 30 scale writes per minute per API key. */
  public static final int WRITES_PER_MINUTE = 30;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI baseUrl;
  private final String apiKey;
  private final HttpClient http;
  private final Clock clock;
  private final WriteRateLimiter writes;

  public RenderApi(URI baseUrl, String apiKey, Clock clock) {
    if (apiKey == null || apiKey.isBlank()) throw new IllegalArgumentException("Render API key is empty");
    String base = baseUrl.toString();
    this.baseUrl = URI.create(base.endsWith("/") ? base : base + "/");
    this.apiKey = apiKey;
    this.clock = clock;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    this.writes = new WriteRateLimiter(WRITES_PER_MINUTE, Duration.ofMinutes(1), clock);
  }

  /** What the controller needs to know about a service. */
  public record Service(String id, String name, int numInstances, boolean autoscalingEnabled) {}

  public Service getService(String serviceId) throws ScaleTargetException {
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri(serviceId)).GET(), serviceId);
    if (r.statusCode() == 404) {
      throw new ScaleTargetException(ScaleTargetException.Kind.NOT_FOUND, "Render service " + serviceId + " not found");
    }
    check(r, "GET service " + serviceId);
    try {
      JsonNode n = JSON.readTree(r.body());
      JsonNode details = n.path("serviceDetails");
      return new Service(n.path("id").asText(serviceId), n.path("name").asText(""),
          details.path("numInstances").asInt(1), details.path("autoscaling").path("enabled").asBoolean(false));
    } catch (IOException e) {
      throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
          "Render returned an unreadable service document for " + serviceId + ": " + e.getMessage(), null, e);
    }
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
        .POST(HttpRequest.BodyPublishers.ofString("{\"numInstances\":" + numInstances + "}")), serviceId);
    if (r.statusCode() == 404) {
      throw new ScaleTargetException(ScaleTargetException.Kind.NOT_FOUND, "Render service " + serviceId + " not found");
    }
    check(r, "scale " + serviceId + " to " + numInstances);
  }

  private URI uri(String path) {
    return baseUrl.resolve("v1/services/" + path);
  }

  private HttpResponse<String> send(HttpRequest.Builder b, String serviceId) throws ScaleTargetException {
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
    rateLimitHeaders(r);
    return r;
  }

  private void rateLimitHeaders(HttpResponse<?> r) {
    OptionalLong reset = seconds(r, "Ratelimit-Reset");
    OptionalLong retryAfter = seconds(r, "Retry-After");
    OptionalLong remaining = seconds(r, "Ratelimit-Remaining");
    Instant now = clock.instant();
    if (r.statusCode() == 429) {
      long wait = retryAfter.isPresent() ? retryAfter.getAsLong() : reset.isPresent() ? reset.getAsLong() : 60;
      writes.blockUntil(now.plusSeconds(Math.max(1, wait)));
    } else if (remaining.isPresent() && remaining.getAsLong() <= 0 && reset.isPresent()) {
      writes.blockUntil(now.plusSeconds(reset.getAsLong()));
    }
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

  private void check(HttpResponse<String> r, String what) throws ScaleTargetException {
    int s = r.statusCode();
    if (s >= 200 && s < 300) return;
    if (s == 429) {
      Instant until = writes.blockedUntil().orElse(clock.instant().plusSeconds(60));
      throw new ScaleTargetException(ScaleTargetException.Kind.RATE_LIMITED,
          "Render rate limit (429) on " + what + "; retrying after " + until, until, null);
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
