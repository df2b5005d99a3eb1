package io.queuepilot.reliability;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback Supabase Storage speaking the two endpoints the worker uses — {@code GET
 * /storage/v1/bucket/{bucket}} and {@code GET /storage/v1/object/authenticated/{bucket}/{path}}
 * with the service key — serving the files of a local directory. With it the worker downloads
 * every document to a temp file, so the "no file left in temp directories" invariant has files
 * to look for.
 */
public final class StorageFake implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "storage-fake");
    t.setDaemon(true);
    return t;
  });
  private final Path root;
  private final String serviceKey;
  private final AtomicInteger downloads = new AtomicInteger();
  private final AtomicInteger refused = new AtomicInteger();

  private StorageFake(Path root, String serviceKey) throws IOException {
    this.root = root;
    this.serviceKey = serviceKey;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 100);
    server.setExecutor(pool);
    server.createContext("/storage/v1/", this::handle);
  }

  /** Serves {@code root/<bucket>/<path>} to callers presenting {@code serviceKey}. */
  public static StorageFake start(Path root, String serviceKey) {
    try {
      StorageFake f = new StorageFake(root, serviceKey);
      f.server.start();
      return f;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SUPABASE_URL for the worker. */
  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public int downloads() {
    return downloads.get();
  }

  /** Requests without the service key (must stay 0). */
  public int refused() {
    return refused.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      if (!("Bearer " + serviceKey).equals(auth) || !serviceKey.equals(ex.getRequestHeaders().getFirst("apikey"))) {
        refused.incrementAndGet();
        json(ex, 400, "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"invalid signature\"}");
        return;
      }
      String p = ex.getRequestURI().getRawPath();
      if (p.startsWith("/storage/v1/bucket/")) {
        String bucket = URLDecoder.decode(p.substring("/storage/v1/bucket/".length()), StandardCharsets.UTF_8);
        json(ex, 200, "{\"id\":\"" + bucket + "\",\"name\":\"" + bucket + "\",\"owner\":\"\",\"public\":false,"
            + "\"file_size_limit\":null,\"allowed_mime_types\":null}");
        return;
      }
      String prefix = "/storage/v1/object/authenticated/";
      if (!p.startsWith(prefix) || !"GET".equals(ex.getRequestMethod())) {
        json(ex, 400, "{\"statusCode\":\"400\",\"error\":\"invalid_request\",\"message\":\"unsupported\"}");
        return;
      }
      Path file = root;
      for (String seg : p.substring(prefix.length()).split("/")) {
        file = file.resolve(URLDecoder.decode(seg, StandardCharsets.UTF_8));
      }
      file = file.normalize();
      if (!file.startsWith(root) || !Files.isRegularFile(file)) {
        json(ex, 400, "{\"statusCode\":\"404\",\"error\":\"not_found\",\"message\":\"Object not found\"}");
        return;
      }
      downloads.incrementAndGet();
      ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
      ex.sendResponseHeaders(200, Files.size(file));
      try (InputStream in = Files.newInputStream(file); OutputStream out = ex.getResponseBody()) {
        in.transferTo(out);
      }
    } catch (IOException e) {
      // the worker hung up (cancelled job): nothing to do
    }
  }

  private static void json(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
