package io.queuepilot.worker.fakes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAI's chat-completions endpoint as a real HTTP server on loopback, speaking its wire format:
 * request with messages / content parts / response_format json_schema, response with choices,
 * usage and x-ratelimit-* headers; 429s with reset headers and 5xx on demand; answers after a
 * latency without blocking a thread. Answers are deterministic from the document text: each
 * line "- NAME DOSE mg" becomes a medication, "BP S/D" an observation. Markers in the text force
 * outcomes: "#INVALID_JSON", "#MISSING_FIELDS", "#HOLD:key" (first request held until released).
 */
public final class FakeOpenAi implements AutoCloseable {

  /** What the fake did with one request. */
  public enum Outcome { OK, RATE_LIMITED, SERVER_ERROR, INVALID_JSON, MISSING_FIELDS }

  /**
   * One request as the fake saw it. rateLimitTokens is what OpenAI's limiter counts for it
   * (prompt tokens + max_completion_tokens); arrivedNanos is System.nanoTime() on arrival.
   */
  public record Call(long arrivedNanos, String docKey, Outcome outcome, long rateLimitTokens, int images,
                     JsonNode request) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern MED = Pattern.compile("^- (.+?) (\\d+) mg$", Pattern.MULTILINE);
  private static final Pattern BP = Pattern.compile("BP (\\d{2,3}/\\d{2,3})");
  private static final Pattern DOC = Pattern.compile("DOC-ID: (\\S+)");
  private static final Pattern HOLD = Pattern.compile("#HOLD:(\\S+)");

  private final HttpServer server;
  private final java.util.concurrent.ExecutorService executor =
      Executors.newFixedThreadPool(4, r -> Thread.ofPlatform().daemon().unstarted(r));
  private final ScheduledExecutorService scheduler =
      Executors.newScheduledThreadPool(2, r -> Thread.ofPlatform().daemon().unstarted(r));
  private final Random random;
  private final List<Call> calls = new ArrayList<>();
  private final Map<String, CompletableFuture<Void>> holds = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Void>> held = new ConcurrentHashMap<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile int minLatencyMs;
  private volatile int maxLatencyMs;
  private volatile double rateLimitShare;
  private volatile double serverErrorShare;
  private volatile int resetMillis = 100;
  private final String apiKey;

  public FakeOpenAi(String apiKey, long seed) throws IOException {
    this.apiKey = apiKey;
    this.random = new Random(seed);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
    server.createContext("/v1/chat/completions", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  /** Base URL for OPENAI_BASE_URL. */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  public FakeOpenAi latency(int minMs, int maxMs) {
    this.minLatencyMs = minMs;
    this.maxLatencyMs = maxMs;
    return this;
  }

  /** Share of requests answered 429 (with reset headers) and 5xx. */
  public FakeOpenAi failures(double rateLimited, double serverErrors) {
    this.rateLimitShare = rateLimited;
    this.serverErrorShare = serverErrors;
    return this;
  }

  public FakeOpenAi resetMillis(int ms) {
    this.resetMillis = ms;
    return this;
  }

  /** Completes when the first request carrying #HOLD:key has arrived (it is held). */
  public CompletableFuture<Void> heldRequest(String key) {
    return held.computeIfAbsent(key, k -> new CompletableFuture<>());
  }

  /** Lets the held request for key answer. */
  public void release(String key) {
    holds.computeIfAbsent(key, k -> new CompletableFuture<>()).complete(null);
  }

  public synchronized List<Call> calls() {
    return new ArrayList<>(calls);
  }

  /** 5xx answers given to requests about docKey. */
  public synchronized long serverErrors(String docKey) {
    return calls.stream().filter(c -> docKey.equals(c.docKey()) && c.outcome() == Outcome.SERVER_ERROR).count();
  }

  private void handle(HttpExchange ex) throws IOException {
    long arrived = System.nanoTime();
    JsonNode req;
    try {
      req = JSON.readTree(ex.getRequestBody());
    } catch (IOException e) {
      respond(ex, 400, error("We could not parse the JSON body of your request.", "invalid_request_error", null), Map.of());
      return;
    }
    if (!("Bearer " + apiKey).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
      respond(ex, 401, error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"), Map.of());
      return;
    }
    JsonNode format = req.path("response_format");
    if (!"json_schema".equals(format.path("type").asText()) || !format.path("json_schema").path("strict").asBoolean()
        || !format.path("json_schema").path("schema").isObject()) {
      respond(ex, 400, error("response_format json_schema (strict) is required by this fake", "invalid_request_error", null),
          Map.of());
      return;
    }
    StringBuilder text = new StringBuilder();
    int images = 0;
    for (JsonNode m : req.path("messages")) {
      JsonNode content = m.path("content");
      if (content.isTextual()) {
        text.append(content.asText()).append('\n');
      } else {
        for (JsonNode part : content) {
          if ("text".equals(part.path("type").asText())) {
            text.append(part.path("text").asText()).append('\n');
          } else if ("image_url".equals(part.path("type").asText())
              && part.path("image_url").path("url").asText().startsWith("data:image/")) {
            images++;
          }
        }
      }
    }
    String body = text.toString();
    long promptTokens = (body.length() + 3) / 4 + 85L * images;
    long maxOut = req.path("max_completion_tokens").asLong(4096);
    Matcher dm = DOC.matcher(body);
    String docKey = dm.find() ? dm.group(1) : "";
    Outcome outcome;
    synchronized (this) {
      double roll = random.nextDouble();
      if (body.contains("#INVALID_JSON")) {
        outcome = Outcome.INVALID_JSON;
      } else if (body.contains("#MISSING_FIELDS")) {
        outcome = Outcome.MISSING_FIELDS;
      } else if (roll < rateLimitShare) {
        outcome = Outcome.RATE_LIMITED;
      } else if (roll < rateLimitShare + serverErrorShare) {
        outcome = Outcome.SERVER_ERROR;
      } else {
        outcome = Outcome.OK;
      }
      calls.add(new Call(arrived, docKey, outcome, outcome == Outcome.RATE_LIMITED ? 0 : promptTokens + maxOut, images, req));
    }
    int latency = maxLatencyMs <= minLatencyMs ? minLatencyMs : minLatencyMs + randomInt(maxLatencyMs - minLatencyMs);
    Runnable answer = () -> answer(ex, outcome, req, body, promptTokens);
    Matcher hm = HOLD.matcher(body);
    if (hm.find() && !heldRequest(hm.group(1)).isDone()) {
      String key = hm.group(1);
      heldRequest(key).complete(null);
      holds.computeIfAbsent(key, k -> new CompletableFuture<>()).thenRunAsync(answer, scheduler);
    } else {
      scheduler.schedule(answer, latency, TimeUnit.MILLISECONDS);
    }
  }

  private synchronized int randomInt(int bound) {
    return random.nextInt(bound + 1);
  }

  private void answer(HttpExchange ex, Outcome outcome, JsonNode req, String text, long promptTokens) {
    try {
      switch (outcome) {
        case RATE_LIMITED -> respond(ex, 429,
            error("Rate limit reached for " + req.path("model").asText() + " in organization org-fake on requests per min (RPM):"
                + " Limit 500, Used 500, Requested 1. Please try again in " + resetMillis + "ms.", "requests", "rate_limit_exceeded"),
            Map.of("x-ratelimit-limit-requests", "500", "x-ratelimit-remaining-requests", "0",
                "x-ratelimit-reset-requests", resetMillis + "ms", "x-ratelimit-limit-tokens", "200000",
                "x-ratelimit-remaining-tokens", "150000", "x-ratelimit-reset-tokens", "6m0s"));
        case SERVER_ERROR -> respond(ex, 500,
            error("The server had an error while processing your request. Sorry about that!", "server_error", null), Map.of());
        default -> {
          String content = switch (outcome) {
            case INVALID_JSON -> "{\"events\": [ {\"event_type\": \"medication\", \"name\": ";
            case MISSING_FIELDS -> "{\"events\":[{\"event_type\":\"medication\",\"code\":null}]}";
            default -> events(text);
          };
          long completion = (content.length() + 3) / 4;
          ObjectNode r = JSON.createObjectNode();
          r.put("id", "chatcmpl-" + UUID.randomUUID());
          r.put("object", "chat.completion");
          r.put("created", System.currentTimeMillis() / 1000);
          r.put("model", req.path("model").asText() + "-2024-07-18");
          ObjectNode choice = r.putArray("choices").addObject();
          choice.put("index", 0);
          ObjectNode message = choice.putObject("message");
          message.put("role", "assistant");
          message.put("content", content);
          message.putNull("refusal");
          message.putArray("annotations");
          choice.putNull("logprobs");
          choice.put("finish_reason", "stop");
          ObjectNode usage = r.putObject("usage");
          usage.put("prompt_tokens", promptTokens);
          usage.put("completion_tokens", completion);
          usage.put("total_tokens", promptTokens + completion);
          r.put("service_tier", "default");
          r.put("system_fingerprint", "fp_fake");
          respond(ex, 200, r.toString(), Map.of("x-ratelimit-limit-requests", "10000",
              "x-ratelimit-remaining-requests", "9999", "x-ratelimit-reset-requests", "6ms",
              "x-ratelimit-limit-tokens", "10000000", "x-ratelimit-remaining-tokens", "9990000",
              "x-ratelimit-reset-tokens", "0s"));
        }
      }
    } catch (IOException e) {
      // the client went away (e.g. a killed worker): nothing to answer
    }
  }

  /** The events a careful model would return for the fake's document format. */
  public static String events(String text) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode events = root.putArray("events");
    Matcher m = MED.matcher(text);
    while (m.find()) {
      ObjectNode e = events.addObject();
      e.put("event_type", "medication");
      e.put("name", m.group(1));
      e.putNull("code");
      e.putNull("code_system");
      e.put("value", m.group(2));
      e.put("unit", "mg");
      e.putNull("event_date");
      e.put("confidence", 0.95);
      e.put("source_page", 1);
    }
    Matcher bp = BP.matcher(text);
    if (bp.find()) {
      ObjectNode e = events.addObject();
      e.put("event_type", "observation");
      e.put("name", "blood pressure");
      e.putNull("code");
      e.putNull("code_system");
      e.put("value", bp.group(1));
      e.put("unit", "mmHg");
      e.put("event_date", "2024-05-01");
      e.put("confidence", 0.9);
      e.putNull("source_page");
    }
    return root.toString();
  }

  private static String error(String message, String type, String code) {
    ObjectNode e = JSON.createObjectNode();
    ObjectNode inner = e.putObject("error");
    inner.put("message", message);
    inner.put("type", type);
    inner.putNull("param");
    if (code == null) {
      inner.putNull("code");
    } else {
      inner.put("code", code);
    }
    return e.toString();
  }

  private static void respond(HttpExchange ex, int status, String body, Map<String, String> headers) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.getResponseHeaders().set("x-request-id", "req_" + UUID.randomUUID().toString().replace("-", ""));
    headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    holds.values().forEach(f -> f.complete(null));
    server.stop(0);
    executor.shutdownNow();
    scheduler.shutdownNow();
  }
}
