package io.queuepilot.worker.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.worker.JobFailure;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Supabase Storage over HTTP with the service-role key: refuses to start when the bucket is
 * public, downloads objects through the authenticated endpoint (or a short-lived signed URL) and
 * streams them to a size-capped temp file.
 */
public final class SupabaseStorageStore implements DocumentStore {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String baseUrl;
  private final String serviceKey;
  private final String bucket;
  private final boolean signedUrls;
  private final TempFiles temp;
  private final HttpClient http;
  private final Duration requestTimeout;

  public SupabaseStorageStore(
      String supabaseUrl, String serviceKey, String bucket, boolean signedUrls, TempFiles temp, Duration requestTimeout) {
    this.baseUrl = supabaseUrl.endsWith("/") ? supabaseUrl.substring(0, supabaseUrl.length() - 1) : supabaseUrl;
    this.serviceKey = serviceKey;
    this.bucket = bucket;
    this.signedUrls = signedUrls;
    this.temp = temp;
    this.requestTimeout = requestTimeout;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NORMAL).build();
  }

  /** GET /storage/v1/bucket/{bucket}: refuses to run against a public bucket or a missing one. */
  @Override
  public void checkReady() throws IOException {
    HttpResponse<String> r = send(get(baseUrl + "/storage/v1/bucket/" + enc(bucket)), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException(
          "Supabase Storage bucket '" + bucket + "' could not be read (HTTP " + r.statusCode() + "): " + abbreviate(r.body()));
    }
    JsonNode b = JSON.readTree(r.body());
    if (!b.has("public")) {
      throw new IOException("Supabase Storage answered for bucket '" + bucket + "' without a 'public' field: " + abbreviate(r.body()));
    }
    if (b.get("public").asBoolean()) {
      throw new IOException(
          "Supabase Storage bucket '" + bucket + "' is PUBLIC: medical documents must live in a private bucket; refusing to start");
    }
  }

  @Override
  public FetchedDocument fetch(DocumentRef ref) throws JobFailure, IOException, InterruptedException {
    String url = signedUrls ? signedUrl(ref) : baseUrl + "/storage/v1/object/authenticated/" + enc(ref.bucket()) + "/" + encPath(ref.path());
    HttpResponse<InputStream> r = http.send(get(url), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = r.body()) {
      if (r.statusCode() == 200) {
        long declared = r.headers().firstValueAsLong("content-length").orElse(-1);
        if (declared > temp.maxBytes()) {
          throw temp.tooLarge(declared);
        }
        return temp.copy(body, r.headers().firstValue("content-type").orElse(null));
      }
      String text = new String(body.readNBytes(4096), StandardCharsets.UTF_8);
      throw failure(r.statusCode(), text, ref);
    }
  }

  private String signedUrl(DocumentRef ref) throws IOException, JobFailure, InterruptedException {
    HttpRequest req =
        authorized(HttpRequest.newBuilder(URI.create(
                baseUrl + "/storage/v1/object/sign/" + enc(ref.bucket()) + "/" + encPath(ref.path()))))
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"expiresIn\":60}"))
            .build();
    HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw failure(r.statusCode(), r.body(), ref);
    }
    JsonNode n = JSON.readTree(r.body());
    String signed = n.path("signedURL").asText(n.path("signedUrl").asText(""));
    if (signed.isEmpty()) {
      throw JobFailure.retryable("storage_error", "signing answered without signedURL: " + abbreviate(r.body()), null);
    }
    return signed.startsWith("http") ? signed : baseUrl + "/storage/v1" + (signed.startsWith("/") ? "" : "/") + signed;
  }

  private JobFailure failure(int status, String body, DocumentRef ref) {
    // Storage reports a missing object as 404, or as 400 with {"statusCode":"404","error":"not_found"}.
    String inner = "";
    try {
      JsonNode n = JSON.readTree(body);
      inner = n.path("statusCode").asText("") + " " + n.path("error").asText("");
    } catch (IOException e) {
      // not JSON: keep the status only
    }
    // Messages end up in logs and in job errors: they name the bucket and Storage's error code,
    // never the patient-chosen path, nor Storage's message (which echoes the key).
    if (status == 404 || inner.contains("404") || inner.contains("not_found")) {
      return JobFailure.permanent(
          "object_not_found", "no object at the job's storage_path in Supabase Storage bucket '" + ref.bucket() + "'",
          Map.of("http_status", status));
    }
    if (status == 413) {
      return temp.tooLarge(temp.maxBytes());
    }
    return JobFailure.retryable(
        "storage_error", "Supabase Storage answered HTTP " + status + " (" + inner.strip() + ") for the job's storage_path",
        null);
  }

  private HttpRequest get(String url) {
    return authorized(HttpRequest.newBuilder(URI.create(url))).GET().build();
  }

  private HttpRequest.Builder authorized(HttpRequest.Builder b) {
    return b.timeout(requestTimeout).header("Authorization", "Bearer " + serviceKey).header("apikey", serviceKey);
  }

  private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) throws IOException {
    try {
      return http.send(req, handler);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while calling Supabase Storage", e);
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String encPath(String path) {
    return Arrays.stream(path.split("/")).map(SupabaseStorageStore::enc).collect(Collectors.joining("/"));
  }

  private static String abbreviate(String s) {
    return s == null ? "" : s.length() > 300 ? s.substring(0, 300) + "…" : s;
  }
}
