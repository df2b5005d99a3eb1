package io.queuepilot.reliability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A loopback HTTP server speaking OpenAI's chat-completions wire format
 * ({@code POST /v1/chat/completions}, JSON body, {@code x-ratelimit-*} headers, error objects)
 * with switchable behaviour: answer, 429 with retry-after, 500, or hang (before the headers or
 * in the middle of the body). Driven through the worker's real openai-java client.
 */
public final class OpenAiFake implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the next requests get. */
  public enum Mode { OK, RATE_LIMITED, SERVER_ERROR, HANG }

  private final HttpServer server;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "openai-fake");
    t.setDaemon(true);
    return t;
  });
  private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.OK);
  private final AtomicReference<CountDownLatch> hangRelease = new AtomicReference<>(new CountDownLatch(1));
  private final AtomicInteger ok = new AtomicInteger();
  private final AtomicInteger limited = new AtomicInteger();
  private final AtomicInteger errors = new AtomicInteger();
  private final AtomicInteger hung = new AtomicInteger();
  private final AtomicInteger bad = new AtomicInteger();

  private OpenAiFake() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 100);
    server.setExecutor(pool);
    server.createContext("/v1/chat/completions", this::handle);
  }

  public static OpenAiFake start() {
    try {
      OpenAiFake f = new OpenAiFake();
      f.server.start();
      return f;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The base URL for OPENAI_BASE_URL. */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  public void mode(Mode m) {
    Mode before = mode.getAndSet(m);
    if (before == Mode.HANG && m != Mode.HANG) {
      hangRelease.getAndSet(new CountDownLatch(1)).countDown(); // hung requests end (their clients gave up long ago)
    }
  }

  public int ok() {
    return ok.get();
  }

  public int rateLimited() {
    return limited.get();
  }

  public int serverErrors() {
    return errors.get();
  }

  public int hung() {
    return hung.get();
  }

  /** Requests that were not valid chat-completions requests (must stay 0). */
  public int malformedRequests() {
    return bad.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      if (!"POST".equals(ex.getRequestMethod()) || !validRequest(body, ex.getRequestHeaders().getFirst("Authorization"))) {
        bad.incrementAndGet();
        error(ex, 400, "invalid_request_error", "malformed chat-completions request", null);
        return;
      }
      switch (mode.get()) {
        case OK -> answer(ex);
        case RATE_LIMITED -> {
          limited.incrementAndGet();
          ex.getResponseHeaders().add("retry-after", "1");
          ex.getResponseHeaders().add("x-ratelimit-limit-requests", "500");
          ex.getResponseHeaders().add("x-ratelimit-remaining-requests", "0");
          ex.getResponseHeaders().add("x-ratelimit-reset-requests", "1s");
          error(ex, 429, "requests", "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500, Used 500.",
              "rate_limit_exceeded");
        }
        case SERVER_ERROR -> {
          errors.incrementAndGet();
          error(ex, 500, "server_error", "The server had an error while processing your request. Sorry about that!", null);
        }
        case HANG -> {
          int n = hung.incrementAndGet();
          CountDownLatch release = hangRelease.get();
          if (n % 2 == 0) {
            // headers and half a body, then nothing
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            out.write("{\"id\":\"chatcmpl-hang\",\"object\":\"chat.completion\",\"choices\":[".getBytes(StandardCharsets.UTF_8));
            out.flush();
          }
          release.await(10, TimeUnit.MINUTES);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // the client hung up (its timeout) — expected for hangs
    }
  }

  private static boolean validRequest(byte[] body, String auth) {
    try {
      var n = JSON.readTree(body);
      return auth != null && auth.startsWith("Bearer ") && n.path("model").isTextual() && n.path("messages").isArray()
          && n.path("messages").size() >= 2 && "json_schema".equals(n.path("response_format").path("type").asText());
    } catch (IOException e) {
      return false;
    }
  }

  private void answer(HttpExchange ex) throws IOException {
    ObjectNode content = JSON.createObjectNode();
    ArrayNode events = content.putArray("events");
    events.addObject().put("event_type", "medication").put("name", "Metformin").putNull("code").putNull("code_system")
        .put("value", "500").put("unit", "mg").putNull("event_date").put("confidence", 0.92).put("source_page", 1);
    events.addObject().put("event_type", "allergy").put("name", "Penicillin").putNull("code").putNull("code_system")
        .putNull("value").putNull("unit").putNull("event_date").put("confidence", 0.88).putNull("source_page");
    ObjectNode resp = JSON.createObjectNode();
    resp.put("id", "chatcmpl-" + ok.incrementAndGet());
    resp.put("object", "chat.completion");
    resp.put("created", System.currentTimeMillis() / 1000);
    resp.put("model", "gpt-4o-mini-2024-07-18");
    ObjectNode choice = resp.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("message").put("role", "assistant").put("content", content.toString()).putNull("refusal");
    choice.putNull("logprobs");
    choice.put("finish_reason", "stop");
    resp.putObject("usage").put("prompt_tokens", 420).put("completion_tokens", 80).put("total_tokens", 500);
    resp.put("system_fingerprint", "fp_fake");
    ex.getResponseHeaders().add("x-ratelimit-limit-requests", "500");
    ex.getResponseHeaders().add("x-ratelimit-remaining-requests", "499");
    ex.getResponseHeaders().add("x-ratelimit-reset-requests", "120ms");
    ex.getResponseHeaders().add("x-ratelimit-limit-tokens", "2000000");
    ex.getResponseHeaders().add("x-ratelimit-remaining-tokens", "1999000");
    ex.getResponseHeaders().add("x-ratelimit-reset-tokens", "30ms");
    send(ex, 200, resp.toString());
  }

  private static void error(HttpExchange ex, int status, String type, String message, String code) throws IOException {
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
    send(ex, status, e.toString());
  }

  private static void send(HttpExchange ex, int status, String json) throws IOException {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
  }

  @Override
  public void close() {
    mode(Mode.OK);
    server.stop(0);
    pool.shutdownNow();
  }
}
