package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * OpenAI's chat-completions endpoint on loopback for the uploads benchmark: answers every
 * request after a fixed latency (without holding a thread) in the real wire format (choices,
 * usage, x-ratelimit-* headers) with one extracted medication, and records what OpenAI's
 * limiter would count per request (prompt tokens + max_completion_tokens) with its arrival
 * time, so the run can check the tokens-per-minute budget was never exceeded.
 */
final class BenchOpenAi implements AutoCloseable {

  /** One request: arrival (System.nanoTime) and the tokens the limiter counts for it. */
  record Call(long arrivedNanos, long limiterTokens) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EVENTS =
      """
      {"events":[{"event_type":"medication","name":"metformin","code":null,"code_system":null,\
      "value":"500","unit":"mg","event_date":null,"confidence":0.93,"source_page":1}]}""";

  private final HttpServer server;
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
  private final List<Call> calls = new ArrayList<>();
  private final String apiKey;
  private final long latencyMillis;

  BenchOpenAi(String apiKey, long latencyMillis) throws IOException {
    this.apiKey = apiKey;
    this.latencyMillis = latencyMillis;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
    server.createContext("/v1/chat/completions", this::handle);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.start();
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  synchronized List<Call> calls() {
    return new ArrayList<>(calls);
  }

  /** The most tokens the limiter counted in any window of {@code windowNanos} (sliding). */
  long maxTokensInWindow(long windowNanos) {
    List<Call> sorted = calls();
    sorted.sort((a, b) -> Long.compare(a.arrivedNanos(), b.arrivedNanos()));
    long best = 0;
    long sum = 0;
    int from = 0;
    for (Call c : sorted) {
      sum += c.limiterTokens();
      while (c.arrivedNanos() - sorted.get(from).arrivedNanos() >= windowNanos) {
        sum -= sorted.get(from).limiterTokens();
        from++;
      }
      best = Math.max(best, sum);
    }
    return best;
  }

  private void handle(HttpExchange ex) throws IOException {
    long arrived = System.nanoTime();
    JsonNode req;
    try {
      req = JSON.readTree(ex.getRequestBody());
    } catch (IOException e) {
      respond(ex, 400, "{\"error\":{\"message\":\"We could not parse the JSON body of your request.\","
          + "\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}");
      return;
    }
    if (!("Bearer " + apiKey).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
      respond(ex, 401, "{\"error\":{\"message\":\"Incorrect API key provided.\",\"type\":\"invalid_request_error\","
          + "\"param\":null,\"code\":\"invalid_api_key\"}}");
      return;
    }
    long chars = 0;
    for (JsonNode m : req.path("messages")) {
      JsonNode content = m.path("content");
      if (content.isTextual()) {
        chars += content.asText().length();
      } else {
        for (JsonNode part : content) {
          chars += part.path("text").asText("").length();
        }
      }
    }
    long promptTokens = (chars + 3) / 4;
    long maxOut = req.path("max_completion_tokens").asLong(4096);
    synchronized (this) {
      calls.add(new Call(arrived, promptTokens + maxOut));
    }
    scheduler.schedule(() -> answer(ex, req, promptTokens), latencyMillis, TimeUnit.MILLISECONDS);
  }

  private void answer(HttpExchange ex, JsonNode req, long promptTokens) {
    long completion = (EVENTS.length() + 3) / 4;
    ObjectNode r = JSON.createObjectNode();
    r.put("id", "chatcmpl-" + UUID.randomUUID());
    r.put("object", "chat.completion");
    r.put("created", System.currentTimeMillis() / 1000);
    r.put("model", req.path("model").asText() + "-2024-07-18");
    ObjectNode choice = r.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.put("content", EVENTS);
    message.putNull("refusal");
    message.putArray("annotations");
    choice.putNull("logprobs");
    choice.put("finish_reason", "stop");
    ObjectNode usage = r.putObject("usage");
    usage.put("prompt_tokens", promptTokens);
    usage.put("completion_tokens", completion);
    usage.put("total_tokens", promptTokens + completion);
    r.put("service_tier", "default");
    r.put("system_fingerprint", "fp_bench");
    try {
      ex.getResponseHeaders().set("x-ratelimit-limit-requests", "10000");
      ex.getResponseHeaders().set("x-ratelimit-remaining-requests", "9999");
      ex.getResponseHeaders().set("x-ratelimit-reset-requests", "6ms");
      ex.getResponseHeaders().set("x-ratelimit-limit-tokens", "30000000");
      ex.getResponseHeaders().set("x-ratelimit-remaining-tokens", "29990000");
      ex.getResponseHeaders().set("x-ratelimit-reset-tokens", "0s");
      respond(ex, 200, r.toString());
    } catch (IOException e) {
      // the worker went away: nothing to answer
    }
  }

  private static void respond(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.getResponseHeaders().set("x-request-id", "req_" + UUID.randomUUID().toString().replace("-", ""));
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    scheduler.shutdownNow();
  }
}
