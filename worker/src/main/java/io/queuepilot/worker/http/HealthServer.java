package io.queuepilot.worker.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code /healthz} (the process is alive), {@code /readyz} (ready to take work: database reachable
 * and not draining) and {@code /metrics} (Prometheus text format) on one small HTTP server.
 */
public final class HealthServer implements AutoCloseable {

  /** Readiness answer: ready or not, and why. */
  public record Readiness(boolean ready, String detail) {}

  private final HttpServer server;

  /** Binds to {@code bindAddress} (an IP literal, e.g. 0.0.0.0 or 127.0.0.1) and {@code port}. */
  public HealthServer(String bindAddress, int port, PrometheusMeterRegistry registry, Supplier<Readiness> readiness)
      throws IOException {
    server = HttpServer.create(new InetSocketAddress(java.net.InetAddress.getByName(bindAddress), port), 16);
    server.createContext("/healthz", ex -> respond(ex, 200, "text/plain", "ok\n"));
    server.createContext("/readyz", ex -> {
      Readiness r;
      try {
        r = readiness.get();
      } catch (RuntimeException e) {
        r = new Readiness(false, "readiness check failed: " + e.getMessage());
      }
      respond(ex, r.ready() ? 200 : 503, "text/plain", r.detail() + "\n");
    });
    server.createContext("/metrics", ex ->
        respond(ex, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
    server.setExecutor(Executors.newFixedThreadPool(2, r -> Thread.ofPlatform().daemon().name("qp-http").unstarted(r)));
    server.start();
  }

  /** The address actually bound. */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
