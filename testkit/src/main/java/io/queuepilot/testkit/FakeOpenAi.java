package io.queuepilot.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * OpenAI's chat-completions API as a real HTTP server on loopback, speaking its wire format and
 * its documented failure modes, written from OpenAI's documentation rather than from the client:
 * <ul>
 *   <li>endpoints: {@code POST /v1/chat/completions} with {@code Authorization: Bearer},
 *       Azure OpenAI's {@code POST /openai/deployments/{deployment}/chat/completions?api-version=…}
 *       with the {@code api-key} header, and {@code GET /v1/models/{model}};</li>
 *   <li>errors as {@code {"error":{"message","type","param","code"}}}: 401 {@code invalid_api_key},
 *       403 {@code unsupported_country_region_territory}, 429 {@code rate_limit_exceeded} with
 *       {@code x-ratelimit-*} headers vs 429 {@code insufficient_quota} (type and code
 *       insufficient_quota, no rate-limit reset), 400 {@code unsupported_value} for
 *       {@code temperature} and {@code unsupported_parameter} for {@code max_tokens} on reasoning
 *       models (o1, o3, o4, gpt-5), 404 {@code model_not_found}, 500 {@code server_error};</li>
 *   <li>answers with {@code finish_reason} {@code stop}, {@code length} (the content cut at
 *       {@code max_completion_tokens}, so the JSON is incomplete, exactly as OpenAI returns it) and
 *       {@code content_filter}, and a {@code refusal};</li>
 *   <li>usage billed by OpenAI's published rules: text at ~4 characters (UTF-8 bytes) per token,
 *       3 tokens per message plus 3 priming the reply, the json_schema counted as prompt; images
 *       at detail high by the model's rule from the image's real pixel size (OpenAI "Images and
 *       vision" guide, "Calculating costs": 512 px tiles after fitting 2048 x 2048 and a 768 px
 *       shortest side, base + tile tokens per model — gpt-4o-mini 2833 + 5667, gpt-4o / gpt-4.1
 *       85 + 170, o1 / o3 75 + 150, gpt-5 70 + 140; 32 px patches capped at 1536 times 1.62 /
 *       2.46 / 1.72 for gpt-4.1-mini / gpt-4.1-nano / o4-mini; detail low: base only).</li>
 * </ul>
 * The "model" is deterministic: in the text and in what scanned pages carry ({@link PageInk}) each
 * line "- NAME DOSE mg" is a medication, "BP S/D" an observation, "Condition: NAME since DATE" a
 * condition with a (partial) date; source_page is the "=== Page N ===" heading they stand under.
 * Markers force outcomes: "#INVALID_JSON", "#MISSING_FIELDS", "#BAD_EVENTS" (adds invalid events),
 * "#CONTENT_FILTER", "#REFUSE", "#HOLD:key" (first request held until released).
 *
 * <p>Switchable for whole phases ({@link #mode}): every request answered normally, 429
 * rate_limit_exceeded, 500, or left hanging (every other one after the headers and half a body),
 * as the reliability scenarios need; shares of 429s and 500s at random ({@link #failures}) and a
 * latency range ({@link #latency}, answered without holding a thread) for the worker tests and
 * the benchmarks; {@link #maxTokensInWindow} tells what OpenAI's limiter counted in any window.
 * The one OpenAI fake of the project (worker, cli, reliability tests and bench).
 */
public final class FakeOpenAi implements AutoCloseable {

  /** What the fake did with one request. */
  public enum Outcome { OK, RATE_LIMITED, SERVER_ERROR, INVALID_JSON, MISSING_FIELDS, LENGTH, CONTENT_FILTER, REFUSED,
    QUOTA, UNAUTHORIZED, FORBIDDEN, BAD_REQUEST }

  /** What every request gets for a while (on top of the account state and the markers). */
  public enum Mode { NORMAL, RATE_LIMITED, SERVER_ERROR, HANG }

  /** The account's state, as OpenAI would judge every request. */
  public enum Account { OK, INSUFFICIENT_QUOTA, KEY_REVOKED, FORBIDDEN }

  /**
   * One request as the fake saw it. rateLimitTokens is what OpenAI's limiter counts for it
   * (prompt tokens + max_completion_tokens); billedTokens what usage reports (prompt +
   * completion); arrivedNanos is System.nanoTime() on arrival.
   */
  public record Call(long arrivedNanos, String docKey, Outcome outcome, long rateLimitTokens, int images,
                     JsonNode request, String path, String model, long promptTokens, long completionTokens,
                     long imageTokens, String finishReason, List<Integer> pages) {
    public long billedTokens() {
      return promptTokens + completionTokens;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern MED = Pattern.compile("^- (.+?) (\\d+) mg$", Pattern.MULTILINE);
  private static final Pattern BP = Pattern.compile("BP (\\d{2,3}/\\d{2,3})");
  private static final Pattern CONDITION = Pattern.compile("^Condition: (.+?) since (\\d{4}(?:-\\d{2}){0,2})$", Pattern.MULTILINE);
  private static final Pattern PAGE = Pattern.compile("^=== Page (\\d+) ===", Pattern.MULTILINE);
  private static final Pattern DOC = Pattern.compile("DOC-ID: (\\S+)");
  private static final Pattern HOLD = Pattern.compile("#HOLD:(\\S+)");
  private static final Pattern AZURE = Pattern.compile("^/openai/deployments/([^/]+)/chat/completions$");
  private static final Pattern MODELS = Pattern.compile("^/v1/models/([^/]+)$");

  private final HttpServer server;
  private final java.util.concurrent.ExecutorService executor =
      Executors.newFixedThreadPool(4, r -> Thread.ofPlatform().daemon().unstarted(r));
  private final ScheduledExecutorService scheduler =
      Executors.newScheduledThreadPool(2, r -> Thread.ofPlatform().daemon().unstarted(r));
  private final Random random;
  private final List<Call> calls = new ArrayList<>();
  private final Map<String, CompletableFuture<Void>> holds = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Void>> held = new ConcurrentHashMap<>();
  private volatile int minLatencyMs;
  private volatile int maxLatencyMs;
  private volatile double rateLimitShare;
  private volatile double serverErrorShare;
  private volatile int resetMillis = 100;
  private volatile Account account = Account.OK;
  private volatile String azureDeployment;
  private volatile String azureModel = "gpt-4o-mini";
  private final List<String> modelLookups = new ArrayList<>();
  private final String apiKey;
  private volatile Mode mode = Mode.NORMAL;
  private volatile Integer retryAfterSeconds;
  private final List<HttpExchange> hanging = new ArrayList<>();
  private final java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger rateLimited = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger serverErrorCount = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger hung = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicInteger malformed = new java.util.concurrent.atomic.AtomicInteger();

  public FakeOpenAi(String apiKey, long seed) throws IOException {
    this.apiKey = apiKey;
    this.random = new Random(seed);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
    server.createContext("/", this::route);
    server.setExecutor(executor);
    server.start();
  }

  /** Base URL for OPENAI_BASE_URL (OpenAI and OpenAI-compatible wire format). */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  /** The resource endpoint for QUEUEPILOT_OPENAI_ENDPOINT=azure. */
  public String azureEndpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Serves Azure's deployment path for {@code deployment}, backed by {@code model}. */
  public FakeOpenAi azureDeployment(String deployment, String model) {
    this.azureDeployment = deployment;
    this.azureModel = model;
    return this;
  }

  public FakeOpenAi latency(int minMs, int maxMs) {
    this.minLatencyMs = minMs;
    this.maxLatencyMs = maxMs;
    return this;
  }

  /** Share of requests answered 429 rate_limit_exceeded (with reset headers) and 5xx. */
  public FakeOpenAi failures(double rateLimited, double serverErrors) {
    this.rateLimitShare = rateLimited;
    this.serverErrorShare = serverErrors;
    return this;
  }

  /** The wait a 429 announces in {@code x-ratelimit-reset-requests} (and the message). */
  public FakeOpenAi resetMillis(int ms) {
    this.resetMillis = ms;
    return this;
  }

  /** Also sends {@code retry-after: seconds} with every 429 rate_limit_exceeded (null: none, the default). */
  public FakeOpenAi retryAfterSeconds(Integer seconds) {
    this.retryAfterSeconds = seconds;
    return this;
  }

  /** From now on every request gets {@code m}; leaving HANG ends the hung requests (their clients gave up). */
  public FakeOpenAi mode(Mode m) {
    Mode before = mode;
    mode = m;
    if (before == Mode.HANG && m != Mode.HANG) {
      List<HttpExchange> release;
      synchronized (hanging) {
        release = new ArrayList<>(hanging);
        hanging.clear();
      }
      release.forEach(HttpExchange::close);
    }
    return this;
  }

  /** Requests answered 200 with a completion. */
  public int ok() {
    return answered.get();
  }

  /** Requests answered 429 rate_limit_exceeded. */
  public int rateLimited() {
    return rateLimited.get();
  }

  /** Requests answered 500. */
  public int serverErrors() {
    return serverErrorCount.get();
  }

  /** Requests left hanging in {@link Mode#HANG}. */
  public int hung() {
    return hung.get();
  }

  /** Requests that were not valid chat-completions requests (bad JSON, no strict json_schema, too few messages, unknown route). */
  public int malformedRequests() {
    return malformed.get();
  }

  /** The most tokens OpenAI's limiter (prompt + max_completion_tokens) counted in any window of {@code windowNanos}. */
  public long maxTokensInWindow(long windowNanos) {
    List<Call> sorted = calls();
    sorted.sort((a, b) -> Long.compare(a.arrivedNanos(), b.arrivedNanos()));
    long best = 0;
    long sum = 0;
    int from = 0;
    for (Call c : sorted) {
      sum += c.rateLimitTokens();
      while (c.arrivedNanos() - sorted.get(from).arrivedNanos() >= windowNanos) {
        sum -= sorted.get(from).rateLimitTokens();
        from++;
      }
      best = Math.max(best, sum);
    }
    return best;
  }

  /** From now on every request is judged against this account state. */
  public FakeOpenAi account(Account state) {
    this.account = state;
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

  /** Models looked up through GET /v1/models/{model}. */
  public synchronized List<String> modelLookups() {
    return new ArrayList<>(modelLookups);
  }

  /** 5xx answers given to requests about docKey. */
  public synchronized long serverErrors(String docKey) {
    return calls.stream().filter(c -> docKey.equals(c.docKey()) && c.outcome() == Outcome.SERVER_ERROR).count();
  }

  private void route(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    Matcher models = MODELS.matcher(path);
    if ("GET".equals(ex.getRequestMethod()) && models.matches()) {
      models(ex, models.group(1));
      return;
    }
    Matcher azure = AZURE.matcher(path);
    if ("POST".equals(ex.getRequestMethod()) && "/v1/chat/completions".equals(path)) {
      handle(ex, null);
    } else if ("POST".equals(ex.getRequestMethod()) && azure.matches() && azureDeployment != null) {
      handle(ex, azure.group(1));
    } else {
      malformed.incrementAndGet();
      respond(ex, 404, error("Invalid URL (" + ex.getRequestMethod() + " " + path + ")", "invalid_request_error", null, null),
          Map.of());
    }
  }

  private boolean authorized(HttpExchange ex, boolean azure) {
    return azure ? apiKey.equals(ex.getRequestHeaders().getFirst("api-key"))
        : ("Bearer " + apiKey).equals(ex.getRequestHeaders().getFirst("Authorization"));
  }

  private void models(HttpExchange ex, String model) throws IOException {
    synchronized (this) {
      modelLookups.add(model);
    }
    if (!authorized(ex, false) || account == Account.KEY_REVOKED) {
      respond(ex, 401, invalidKey(), Map.of());
    } else if (!known(model)) {
      respond(ex, 404, error("The model `" + model + "` does not exist or you do not have access to it.",
          "invalid_request_error", null, "model_not_found"), Map.of());
    } else {
      ObjectNode m = JSON.createObjectNode();
      m.put("id", model);
      m.put("object", "model");
      m.put("created", 1721172741);
      m.put("owned_by", "system");
      respond(ex, 200, m.toString(), Map.of());
    }
  }

  private static boolean known(String model) {
    return model.matches("^(gpt-4o|gpt-4o-mini|gpt-4\\.1|gpt-4\\.1-mini|gpt-4\\.1-nano|o1|o3|o4-mini|gpt-5|gpt-5-mini)([-.].*)?$");
  }

  private static boolean reasoning(String model) {
    return model.matches("^(o1|o3|o4|gpt-5)([-.].*)?$");
  }

  private static String invalidKey() {
    return error("Incorrect API key provided: sk-te****. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error", null, "invalid_api_key");
  }

  private void handle(HttpExchange ex, String deployment) throws IOException {
    long arrived = System.nanoTime();
    boolean azure = deployment != null;
    JsonNode req;
    try {
      req = JSON.readTree(ex.getRequestBody());
    } catch (IOException e) {
      malformed.incrementAndGet();
      respond(ex, 400, error("We could not parse the JSON body of your request.", "invalid_request_error", null, null), Map.of());
      return;
    }
    if (azure && ex.getRequestURI().getQuery() == null || azure && !ex.getRequestURI().getQuery().contains("api-version=")) {
      respond(ex, 404, "{\"error\":{\"code\":\"404\",\"message\":\"Resource not found\"}}", Map.of());
      return;
    }
    if (!authorized(ex, azure)) {
      record(arrived, req, ex, Outcome.UNAUTHORIZED, 0, 0, 0, 0, null, List.of());
      respond(ex, 401, azure
          ? "{\"error\":{\"code\":\"401\",\"message\":\"Access denied due to invalid subscription key or wrong API endpoint.\"}}"
          : invalidKey(), Map.of());
      return;
    }
    String model = azure ? azureModel : req.path("model").asText();
    switch (account) {
      case KEY_REVOKED -> {
        record(arrived, req, ex, Outcome.UNAUTHORIZED, 0, 0, 0, 0, null, List.of());
        respond(ex, 401, invalidKey(), Map.of());
        return;
      }
      case FORBIDDEN -> {
        record(arrived, req, ex, Outcome.FORBIDDEN, 0, 0, 0, 0, null, List.of());
        respond(ex, 403, error("Country, region, or territory not supported", "request_forbidden", null,
            "unsupported_country_region_territory"), Map.of());
        return;
      }
      case INSUFFICIENT_QUOTA -> {
        record(arrived, req, ex, Outcome.QUOTA, 0, 0, 0, 0, null, List.of());
        // OpenAI's billing 429: no rate-limit reset would help
        respond(ex, 429, error("You exceeded your current quota, please check your plan and billing details. For more "
            + "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            "insufficient_quota", null, "insufficient_quota"), Map.of());
        return;
      }
      default -> { }
    }
    if (reasoning(model) && req.has("temperature") && req.get("temperature").asDouble() != 1.0) {
      record(arrived, req, ex, Outcome.BAD_REQUEST, 0, 0, 0, 0, null, List.of());
      respond(ex, 400, error("Unsupported value: 'temperature' does not support " + req.get("temperature").asText()
          + " with this model. Only the default (1) value is supported.", "invalid_request_error", "temperature",
          "unsupported_value"), Map.of());
      return;
    }
    if (reasoning(model) && req.has("max_tokens")) {
      record(arrived, req, ex, Outcome.BAD_REQUEST, 0, 0, 0, 0, null, List.of());
      respond(ex, 400, error("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
          + "'max_completion_tokens' instead.", "invalid_request_error", "max_tokens", "unsupported_parameter"), Map.of());
      return;
    }
    JsonNode format = req.path("response_format");
    if (!"json_schema".equals(format.path("type").asText()) || !format.path("json_schema").path("strict").asBoolean()
        || !format.path("json_schema").path("schema").isObject() || req.path("messages").size() < 2) {
      malformed.incrementAndGet();
      respond(ex, 400, error("response_format json_schema (strict) is required by this fake", "invalid_request_error",
          "response_format", null), Map.of());
      return;
    }
    StringBuilder text = new StringBuilder();
    StringBuilder seen = new StringBuilder();
    int images = 0;
    long imageTokens = 0;
    int messages = 0;
    for (JsonNode m : req.path("messages")) {
      messages++;
      JsonNode content = m.path("content");
      if (content.isTextual()) {
        text.append(content.asText()).append('\n');
      } else {
        int imageNo = 0;
        for (JsonNode part : content) {
          if ("text".equals(part.path("type").asText())) {
            text.append(part.path("text").asText()).append('\n');
          } else if ("image_url".equals(part.path("type").asText())) {
            String url = part.path("image_url").path("url").asText();
            String detail = part.path("image_url").path("detail").asText("auto");
            Optional<BufferedImage> img = decode(url);
            if (img.isEmpty()) {
              respond(ex, 400, error("You uploaded an unsupported image. Please make sure your image is valid.",
                  "invalid_request_error", null, "invalid_image_format"), Map.of());
              return;
            }
            images++;
            imageNo++;
            imageTokens += imageTokens(model, img.get().getWidth(), img.get().getHeight(), detail);
            String ink = PageInk.read(img.get()).orElse("");
            seen.append("\n@@IMAGE ").append(imageNo).append("\n").append(ink).append('\n');
          }
        }
      }
    }
    String body = text.toString();
    String schema = format.path("json_schema").path("schema").toString();
    long promptTokens = tokens(body) + tokens(schema) + 3L * messages + 3 + imageTokens;
    long maxOut = req.path("max_completion_tokens").asLong(4096);
    Matcher dm = DOC.matcher(body);
    String docKey = dm.find() ? dm.group(1) : "";
    String visible = withImagePages(body, seen.toString());
    Outcome outcome;
    synchronized (this) {
      double roll = random.nextDouble();
      if (body.contains("#INVALID_JSON")) {
        outcome = Outcome.INVALID_JSON;
      } else if (body.contains("#MISSING_FIELDS")) {
        outcome = Outcome.MISSING_FIELDS;
      } else if (visible.contains("#CONTENT_FILTER")) {
        outcome = Outcome.CONTENT_FILTER;
      } else if (visible.contains("#REFUSE")) {
        outcome = Outcome.REFUSED;
      } else if (mode == Mode.RATE_LIMITED || roll < rateLimitShare) {
        outcome = Outcome.RATE_LIMITED;
      } else if (mode == Mode.SERVER_ERROR || roll < rateLimitShare + serverErrorShare) {
        outcome = Outcome.SERVER_ERROR;
      } else {
        outcome = Outcome.OK;
      }
    }
    int latency = maxLatencyMs <= minLatencyMs ? minLatencyMs : minLatencyMs + randomInt(maxLatencyMs - minLatencyMs);
    final int imageCount = images;
    final long imageTok = imageTokens;
    Runnable answer = () -> answer(ex, arrived, outcome, req, model, visible, docKey, promptTokens, maxOut, imageCount, imageTok);
    if (mode == Mode.HANG) {
      hang(ex);
      return;
    }
    Matcher hm = HOLD.matcher(body);
    if (hm.find() && !heldRequest(hm.group(1)).isDone()) {
      String key = hm.group(1);
      heldRequest(key).complete(null);
      holds.computeIfAbsent(key, k -> new CompletableFuture<>()).thenRunAsync(answer, scheduler);
    } else {
      scheduler.schedule(answer, latency, TimeUnit.MILLISECONDS);
    }
  }

  /** Leaves the request unanswered: every other one gets the headers and half a body first. */
  private void hang(HttpExchange ex) throws IOException {
    if (hung.incrementAndGet() % 2 == 0) {
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, 0);
      OutputStream out = ex.getResponseBody();
      out.write("{\"id\":\"chatcmpl-hang\",\"object\":\"chat.completion\",\"choices\":[".getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
    synchronized (hanging) {
      hanging.add(ex);
    }
  }

  /** The prompt text with what each image shows put under its page heading "(scanned: image i below)". */
  private static String withImagePages(String body, String seen) {
    String out = body;
    String[] blocks = seen.split("\n@@IMAGE ");
    for (String block : blocks) {
      if (block.isBlank()) {
        continue;
      }
      int nl = block.indexOf('\n');
      String no = block.substring(0, nl).trim();
      String ink = block.substring(nl + 1);
      String heading = "(scanned: image " + no + " below)\n";
      int at = out.indexOf(heading);
      if (at >= 0) {
        out = out.substring(0, at + heading.length()) + ink + out.substring(at + heading.length());
      } else {
        out = out + "\n" + ink; // an image without a page heading (a photo): its page is the only one
      }
    }
    return out;
  }

  /** Text tokens as OpenAI's rule of thumb counts them: ~4 characters (here UTF-8 bytes) per token. */
  static long tokens(String s) {
    return (s.getBytes(StandardCharsets.UTF_8).length + 3) / 4;
  }

  /** Image tokens by OpenAI's published per-model rule (see the class comment). */
  public static long imageTokens(String model, int w, int h, String detail) {
    String m = model.toLowerCase(Locale.ROOT);
    double patchFactor = m.startsWith("gpt-4.1-mini") ? 1.62 : m.startsWith("gpt-4.1-nano") ? 2.46
        : m.startsWith("o4-mini") ? 1.72 : 0;
    if (patchFactor > 0) {
      double pw = Math.ceil(w / 32.0);
      double ph = Math.ceil(h / 32.0);
      double patches = pw * ph;
      if (patches > 1536) {
        double shrink = Math.sqrt(1536.0 * 32 * 32 / ((double) w * h));
        double sw = w * shrink;
        double sh = h * shrink;
        double adjust = Math.floor(sw / 32) / (sw / 32);
        patches = Math.min(1536, Math.ceil(sw * adjust / 32) * Math.ceil(sh * adjust / 32));
      }
      return (long) Math.ceil(patches * patchFactor);
    }
    int base;
    int tile;
    if (m.startsWith("gpt-4o-mini")) {
      base = 2833;
      tile = 5667;
    } else if (m.startsWith("o1") || m.startsWith("o3")) {
      base = 75;
      tile = 150;
    } else if (m.startsWith("gpt-5")) {
      base = 70;
      tile = 140;
    } else {
      base = 85;
      tile = 170;
    }
    if ("low".equals(detail)) {
      return base;
    }
    double sw = w;
    double sh = h;
    if (sw > 2048 || sh > 2048) {
      double s = 2048 / Math.max(sw, sh);
      sw *= s;
      sh *= s;
    }
    if (Math.min(sw, sh) > 768) {
      double s = 768 / Math.min(sw, sh);
      sw *= s;
      sh *= s;
    }
    return base + (long) tile * (long) (Math.ceil(Math.floor(sw) / 512) * Math.ceil(Math.floor(sh) / 512));
  }

  private static Optional<BufferedImage> decode(String url) {
    if (!url.startsWith("data:image/")) {
      return Optional.empty();
    }
    int comma = url.indexOf(',');
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(url.substring(comma + 1));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    String mime = url.substring(5, url.indexOf(';'));
    if (!List.of("image/png", "image/jpeg", "image/webp", "image/gif").contains(mime)) {
      return Optional.empty(); // OpenAI takes PNG, JPEG, WEBP and non-animated GIF only
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        return "image/webp".equals(mime) ? Optional.of(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB)) : Optional.empty();
      }
      ImageReader r = readers.next();
      r.setInput(in);
      return Optional.of(r.read(0));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private synchronized int randomInt(int bound) {
    return random.nextInt(bound + 1);
  }

  private synchronized void record(long arrived, JsonNode req, HttpExchange ex, Outcome outcome, long rateLimitTokens,
      int images, long prompt, long completion, String finish, List<Integer> pages) {
    record(new Call(arrived, docKeyOf(req), outcome, rateLimitTokens, images, req, ex.getRequestURI().toString(),
        req.path("model").asText(), prompt, completion, 0, finish, pages));
  }

  private synchronized void record(Call c) {
    calls.add(c);
  }

  private static String docKeyOf(JsonNode req) {
    Matcher dm = DOC.matcher(req.toString());
    return dm.find() ? dm.group(1) : "";
  }

  private void answer(HttpExchange ex, long arrived, Outcome outcome, JsonNode req, String model, String text,
      String docKey, long promptTokens, long maxOut, int images, long imageTokens) {
    try {
      switch (outcome) {
        case RATE_LIMITED -> {
          rateLimited.incrementAndGet();
          Map<String, String> headers = new java.util.HashMap<>(Map.of("x-ratelimit-limit-requests", "500",
              "x-ratelimit-remaining-requests", "0", "x-ratelimit-reset-requests", resetMillis + "ms",
              "x-ratelimit-limit-tokens", "200000", "x-ratelimit-remaining-tokens", "150000",
              "x-ratelimit-reset-tokens", "6m0s"));
          if (retryAfterSeconds != null) {
            headers.put("retry-after", String.valueOf(retryAfterSeconds));
          }
          record(new Call(arrived, docKey, outcome, 0, images, req, ex.getRequestURI().toString(), model, 0, 0, 0, null, List.of()));
          respond(ex, 429,
              error("Rate limit reached for " + model + " in organization org-fake on requests per min (RPM):"
                  + " Limit 500, Used 500, Requested 1. Please try again in " + resetMillis + "ms.", "requests", null,
                  "rate_limit_exceeded"),
              headers);
        }
        case SERVER_ERROR -> {
          serverErrorCount.incrementAndGet();
          record(new Call(arrived, docKey, outcome, promptTokens + maxOut, images, req, ex.getRequestURI().toString(), model,
              0, 0, 0, null, List.of()));
          respond(ex, 500,
              error("The server had an error while processing your request. Sorry about that!", "server_error", null, null),
              Map.of());
        }
        default -> {
          String content;
          String finish = "stop";
          String refusal = null;
          List<Integer> pages = pages(text);
          switch (outcome) {
            case INVALID_JSON -> content = "{\"events\": [ {\"event_type\": \"medication\", \"name\": ";
            case MISSING_FIELDS -> content = "{\"events\":[{\"event_type\":\"medication\",\"code\":null}]}";
            case CONTENT_FILTER -> {
              content = null;
              finish = "content_filter";
            }
            case REFUSED -> {
              content = null;
              refusal = "I'm sorry, I can't help with that.";
            }
            default -> content = events(text);
          }
          long completion = content == null ? 12 : tokens(content);
          Outcome recorded = outcome;
          if (content != null && completion > maxOut) {
            // OpenAI stops generating at max_completion_tokens: the JSON is cut mid-way
            content = content.substring(0, (int) Math.min(content.length(), maxOut * 4));
            completion = maxOut;
            finish = "length";
            recorded = Outcome.LENGTH;
          }
          record(new Call(arrived, docKey, recorded, promptTokens + maxOut, images, req, ex.getRequestURI().toString(), model,
              promptTokens, completion, imageTokens, finish, pages));
          ObjectNode r = JSON.createObjectNode();
          r.put("id", "chatcmpl-" + UUID.randomUUID());
          r.put("object", "chat.completion");
          r.put("created", System.currentTimeMillis() / 1000);
          r.put("model", model + (model.matches(".*\\d{4}-\\d{2}-\\d{2}$") ? "" : "-2024-07-18"));
          ObjectNode choice = r.putArray("choices").addObject();
          choice.put("index", 0);
          ObjectNode message = choice.putObject("message");
          message.put("role", "assistant");
          if (content == null) {
            message.putNull("content");
          } else {
            message.put("content", content);
          }
          if (refusal == null) {
            message.putNull("refusal");
          } else {
            message.put("refusal", refusal);
          }
          message.putArray("annotations");
          choice.putNull("logprobs");
          choice.put("finish_reason", finish);
          ObjectNode usage = r.putObject("usage");
          usage.put("prompt_tokens", promptTokens);
          usage.put("completion_tokens", completion);
          usage.put("total_tokens", promptTokens + completion);
          ObjectNode details = usage.putObject("prompt_tokens_details");
          details.put("cached_tokens", 0);
          details.put("audio_tokens", 0);
          r.put("service_tier", "default");
          r.put("system_fingerprint", "fp_fake");
          answered.incrementAndGet();
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

  private static List<Integer> pages(String text) {
    List<Integer> out = new ArrayList<>();
    Matcher m = PAGE.matcher(text);
    while (m.find()) {
      int p = Integer.parseInt(m.group(1));
      if (!out.contains(p)) {
        out.add(p);
      }
    }
    return out;
  }

  /** The page heading a position of the text stands under (null before the first). */
  private static Integer pageAt(String text, int pos) {
    Matcher m = PAGE.matcher(text);
    Integer page = null;
    while (m.find() && m.start() <= pos) {
      page = Integer.parseInt(m.group(1));
    }
    return page;
  }

  /** The events a careful model would return for the fake's document format. */
  public static String events(String text) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode events = root.putArray("events");
    Matcher m = MED.matcher(text);
    while (m.find()) {
      ObjectNode e = event(events, "medication", m.group(1), m.group(2), "mg", null, 0.95);
      page(e, text, m.start(), 1);
    }
    Matcher bp = BP.matcher(text);
    while (bp.find()) {
      ObjectNode e = event(events, "observation", "blood pressure", bp.group(1), "mmHg", "2024-05-01", 0.9);
      page(e, text, bp.start(), null);
    }
    Matcher c = CONDITION.matcher(text);
    while (c.find()) {
      ObjectNode e = event(events, "condition", c.group(1), null, null, c.group(2), 0.9);
      page(e, text, c.start(), null);
    }
    if (text.contains("#BAD_EVENTS")) {
      event(events, "diagnosis", "Hypertension", null, null, null, 0.8).putNull("source_page");
      event(events, "condition", "Asthma", null, null, "14/03/2019", 0.9).putNull("source_page");
      event(events, "allergy", "Latex", null, null, null, 1.7).putNull("source_page");
    }
    return root.toString();
  }

  private static ObjectNode event(ArrayNode events, String type, String name, String value, String unit, String date,
      double confidence) {
    ObjectNode e = events.addObject();
    e.put("event_type", type);
    e.put("name", name);
    e.putNull("code");
    e.putNull("code_system");
    if (value == null) {
      e.putNull("value");
    } else {
      e.put("value", value);
    }
    if (unit == null) {
      e.putNull("unit");
    } else {
      e.put("unit", unit);
    }
    if (date == null) {
      e.putNull("event_date");
    } else {
      e.put("event_date", date);
    }
    e.put("confidence", confidence);
    return e;
  }

  private static void page(ObjectNode e, String text, int pos, Integer fallback) {
    Integer p = pageAt(text, pos);
    if (p == null) {
      p = fallback;
    }
    if (p == null) {
      e.putNull("source_page");
    } else {
      e.put("source_page", p);
    }
  }

  private static String error(String message, String type, String param, String code) {
    ObjectNode e = JSON.createObjectNode();
    ObjectNode inner = e.putObject("error");
    inner.put("message", message);
    inner.put("type", type);
    if (param == null) {
      inner.putNull("param");
    } else {
      inner.put("param", param);
    }
    if (code == null) {
      inner.putNull("code");
    } else {
      inner.put("code", code);
    }
    return e.toString();
  }

  private static void respond(HttpExchange ex, int status, String body, Map<String, String> headers) throws IOException {
    ex.getResponseHeaders().set("x-request-id", "req_" + UUID.randomUUID().toString().replace("-", ""));
    headers.forEach((k, v) -> ex.getResponseHeaders().set(k, v));
    LoopbackHttp.sendJson(ex, status, body);
  }

  @Override
  public void close() {
    mode(Mode.NORMAL);
    holds.values().forEach(f -> f.complete(null));
    server.stop(0);
    executor.shutdownNow();
    scheduler.shutdownNow();
  }
}
