package io.queuepilot.testkit;

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
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Supabase Storage's HTTP API as a real server on loopback: GET /storage/v1/bucket/{id},
 * GET /storage/v1/object/authenticated/{bucket}/{path}, POST /storage/v1/object/sign/{bucket}/{path}
 * and GET of the signed URL; service-key auth (Authorization: Bearer + apikey); missing objects
 * answered as Storage does (400 with statusCode "404"). Large objects are generated while
 * streaming, never held in memory. Objects are {@link #put} one by one, or served from a local
 * directory ({@link #serveDirectory}: {@code root/<bucket>/<path>}, nothing outside it). The one
 * Storage fake of the project (worker and reliability tests).
 */
public final class FakeStorage implements AutoCloseable {

  /** Content of an object: a size and a generator of bytes at an offset. */
  public interface Content {
    long size();

    void writeTo(OutputStream out) throws IOException;
  }

  private record Obj(String contentType, Content content) {}

  private final HttpServer server;
  private final java.util.concurrent.ExecutorService executor =
      Executors.newFixedThreadPool(8, r -> Thread.ofPlatform().daemon().unstarted(r));
  private final String serviceKey;
  private final Map<String, Boolean> buckets = new ConcurrentHashMap<>();
  private final Map<String, Obj> objects = new ConcurrentHashMap<>();
  private final Map<String, String> signedTokens = new ConcurrentHashMap<>();
  private final AtomicInteger downloads = new AtomicInteger();
  private final AtomicInteger unauthorized = new AtomicInteger();
  private volatile Path root;

  public FakeStorage(String serviceKey) throws IOException {
    this.serviceKey = serviceKey;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
    server.createContext("/storage/v1/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Objects served (authenticated and signed downloads). */
  public int downloads() {
    return downloads.get();
  }

  /** Requests refused for a missing or wrong service key (must stay 0 for a well-configured worker). */
  public int unauthorized() {
    return unauthorized.get();
  }

  /** Serves every object not {@link #put} from {@code root/<bucket>/<path>} (bucket directories are buckets). */
  public FakeStorage serveDirectory(Path root) {
    this.root = root.toAbsolutePath().normalize();
    return this;
  }

  public FakeStorage bucket(String name, boolean isPublic) {
    buckets.put(name, isPublic);
    return this;
  }

  public void put(String bucket, String path, String contentType, byte[] bytes) {
    put(bucket, path, contentType, new Content() {
      @Override
      public long size() {
        return bytes.length;
      }

      @Override
      public void writeTo(OutputStream out) throws IOException {
        out.write(bytes);
      }
    });
  }

  public void put(String bucket, String path, String contentType, Content content) {
    objects.put(bucket + "/" + path, new Obj(contentType, content));
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String raw = ex.getRequestURI().getRawPath().substring("/storage/v1/".length());
      String path = URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
      if (path.startsWith("object/sign/") && "GET".equals(ex.getRequestMethod())) {
        String key = path.substring("object/sign/".length());
        String query = ex.getRequestURI().getQuery();
        if (query == null || !query.startsWith("token=") || !key.equals(signedTokens.get(query.substring(6)))) {
          json(ex, 400, "{\"statusCode\":\"400\",\"error\":\"InvalidJWT\",\"message\":\"invalid signature\"}");
          return;
        }
        download(ex, key);
        return;
      }
      if (!("Bearer " + serviceKey).equals(ex.getRequestHeaders().getFirst("Authorization"))
          || !serviceKey.equals(ex.getRequestHeaders().getFirst("apikey"))) {
        unauthorized.incrementAndGet();
        json(ex, 403, "{\"statusCode\":\"403\",\"error\":\"Unauthorized\",\"message\":\"invalid signature\"}");
        return;
      }
      if (path.startsWith("bucket/")) {
        String name = path.substring("bucket/".length());
        Boolean isPublic = buckets.get(name);
        if (isPublic == null && root != null && !name.contains("/") && Files.isDirectory(root.resolve(name))) {
          isPublic = false;
        }
        if (isPublic == null) {
          json(ex, 400, "{\"statusCode\":\"404\",\"error\":\"Bucket not found\",\"message\":\"Bucket not found\"}");
          return;
        }
        json(ex, 200, "{\"id\":\"" + name + "\",\"name\":\"" + name + "\",\"owner\":\"\",\"public\":" + isPublic
            + ",\"file_size_limit\":null,\"allowed_mime_types\":null,\"created_at\":\"2026-01-01T00:00:00.000Z\","
            + "\"updated_at\":\"2026-01-01T00:00:00.000Z\"}");
        return;
      }
      if (path.startsWith("object/authenticated/")) {
        download(ex, path.substring("object/authenticated/".length()));
        return;
      }
      if (path.startsWith("object/sign/") && "POST".equals(ex.getRequestMethod())) {
        String key = path.substring("object/sign/".length());
        ex.getRequestBody().readAllBytes();
        if (object(key) == null) {
          json(ex, 400, "{\"statusCode\":\"404\",\"error\":\"not_found\",\"message\":\"Object not found\"}");
          return;
        }
        String token = UUID.randomUUID().toString();
        signedTokens.put(token, key);
        String encoded = java.util.Arrays.stream(key.split("/"))
            .map(seg -> java.net.URLEncoder.encode(seg, StandardCharsets.UTF_8).replace("+", "%20"))
            .collect(java.util.stream.Collectors.joining("/"));
        json(ex, 200, "{\"signedURL\":\"/object/sign/" + encoded + "?token=" + token + "\"}");
        return;
      }
      json(ex, 404, "{\"statusCode\":\"404\",\"error\":\"not_found\",\"message\":\"route not found\"}");
    }
  }

  private void download(HttpExchange ex, String key) throws IOException {
    Obj o = object(key);
    if (o == null) {
      json(ex, 400, "{\"statusCode\":\"404\",\"error\":\"not_found\",\"message\":\"Object not found\"}");
      return;
    }
    downloads.incrementAndGet();
    ex.getResponseHeaders().set("Content-Type", o.contentType());
    long size = o.content().size();
    ex.sendResponseHeaders(200, size == 0 ? -1 : size);
    try (OutputStream out = ex.getResponseBody()) {
      o.content().writeTo(out);
    } catch (IOException e) {
      // client hung up (e.g. it stopped at its size cap)
    }
  }

  /** The object at {@code bucket/path}: put, or a regular file under the served directory (never outside it). */
  private Obj object(String key) {
    Obj o = objects.get(key);
    Path dir = root;
    if (o != null || dir == null) {
      return o;
    }
    Path file = dir.resolve(key).normalize();
    if (!file.startsWith(dir) || !Files.isRegularFile(file)) {
      return null;
    }
    return new Obj("application/octet-stream", new Content() {
      @Override
      public long size() {
        try {
          return Files.size(file);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }

      @Override
      public void writeTo(OutputStream out) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
          in.transferTo(out);
        }
      }
    });
  }

  private static void json(HttpExchange ex, int status, String body) throws IOException {
    LoopbackHttp.sendJson(ex, status, body);
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
