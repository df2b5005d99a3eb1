package io.queuepilot.controller;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/** The controller's HTTP face: {@code /healthz}, {@code /readyz} and Prometheus {@code /metrics}. */
public final class HttpEndpoints implements AutoCloseable {

  private final HttpServer server;

  public HttpEndpoints(String bindAddress, int port, PrometheusMeterRegistry registry, BooleanSupplier healthy,
      BooleanSupplier ready)
      throws IOException {
    server = HttpServer.create(new InetSocketAddress(java.net.InetAddress.getByName(bindAddress), port), 0);
    server.createContext("/healthz", ex -> respond(ex, healthy.getAsBoolean() ? 200 : 503,
        healthy.getAsBoolean() ? "ok\n" : "unhealthy\n", "text/plain"));
    server.createContext("/readyz", ex -> respond(ex, ready.getAsBoolean() ? 200 : 503,
        ready.getAsBoolean() ? "ready\n" : "not ready\n", "text/plain"));
    server.createContext("/metrics", ex -> respond(ex, 200, registry.scrape(), "text/plain; version=0.0.4; charset=utf-8"));
    server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "queuepilot-http");
      t.setDaemon(true);
      return t;
    }));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange ex, int status, String body, String type) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
