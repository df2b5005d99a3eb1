package io.queuepilot.worker;

import io.queuepilot.queue.QueueConfig;
import io.queuepilot.worker.process.OpenAiProcessor;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The worker's one typed configuration: every key is declared once (name, default, parser,
 * description; the loop's defaults come from {@link WorkerDefaults}), read once from the
 * environment and validated at start-up. Bad values fail fast with one error naming every bad
 * key. This is the only place in the worker that reads the environment.
 */
public record WorkerConfig(
    QueueConfig database,
    String httpBindAddress,
    int httpPort,
    LogFormat logFormat,
    String workerId,
    int concurrency,
    List<String> jobTypes,
    List<String> lanes,
    ProcessorKind processor,
    Optional<String> openAiApiKey,
    OpenAiEndpoint openAiEndpoint,
    String openAiBaseUrl,
    String openAiModel,
    Optional<String> azureDeployment,
    String azureApiVersion,
    Duration openAiTimeout,
    int openAiMaxOutputTokens,
    int openAiMaxPageImages,
    int openAiMaxCallChars,
    int openAiMaxCallsPerDocument,
    long openAiMaxImageBytes,
    Duration quotaBlock,
    StoreKind store,
    Path storeDir,
    Optional<String> supabaseUrl,
    Optional<String> supabaseServiceRoleKey,
    String storageBucket,
    boolean storageSignedUrls,
    long maxDocumentBytes,
    Path tempDir,
    int maxTextChars,
    int maxEvents,
    Duration heartbeatInterval,
    Duration maxRuntime,
    Duration gracePeriod,
    Duration pollInterval,
    Duration heartbeatTimeout,
    long heapPerJobBytes,
    double heapFraction,
    String tokenBudgetName,
    long tokensPerMinute,
    int requestsPerMinute,
    int budgetWindowSeconds,
    Duration rateLimitDefaultDelay,
    int localQueueSize,
    Duration localQueueTtl,
    JitPolicy jitPolicy) {

  /** Where log lines go and in which shape. */
  public enum LogFormat { TEXT, JSON }

  /** Which processor turns documents into clinical events. */
  public enum ProcessorKind { LOCAL, OPENAI }

  /** Which wire format the model endpoint speaks. */
  public enum OpenAiEndpoint { OPENAI, COMPATIBLE, AZURE }

  /** Where the documents are read from. */
  public enum StoreKind { LOCAL, SUPABASE }

  /** Which hot code HotSpot's C2 compiles in this JVM ({@link JitPolicies}). */
  public enum JitPolicy { PIPELINE, JVM }

  /** One documented key: name, default as documented (null = required or absent) and a one-line meaning. */
  public record Key(String name, String defaultValue, String description) {}

  /**
   * One key, declared once: its name, default, parser and description. {@code parse} turns the
   * trimmed value into the setting or throws a {@link Problem}; an unset key yields {@code def}.
   */
  private record Setting<T>(String name, T def, String shownDefault, String description, Parser<T> parse) {
    Key key() {
      return new Key(name, shownDefault, description);
    }
  }

  @FunctionalInterface
  private interface Parser<T> {
    T parse(String value) throws Problem;
  }

  /** What is wrong with a value, without the key (the reader adds it). */
  private static final class Problem extends Exception {
    Problem(String message) {
      super(message, null, false, false);
    }
  }

  private static final Pattern JOB_NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");
  private static final Pattern TEMPLATE = Pattern.compile("\\$\\(|\\$\\{|\\{\\{");
  private static final List<Setting<?>> SETTINGS = new ArrayList<>();

  private static <T> Setting<T> key(String name, T def, String shownDefault, String description, Parser<T> parse) {
    Setting<T> s = new Setting<>(name, def, shownDefault, description, parse);
    SETTINGS.add(s);
    return s;
  }

  /** A key only documented here and parsed elsewhere (the database keys: {@link QueueConfig}). */
  private static void documented(String name, String shownDefault, String description) {
    key(name, null, shownDefault, description, v -> v);
  }

  static {
    documented(QueueConfig.DB_URL, null, "JDBC URL of the queue database (required).");
    documented(QueueConfig.DB_USER, null, "Database login, a member of queue_worker (optional if in the URL).");
    documented(QueueConfig.DB_PASSWORD, null, "Password of QUEUEPILOT_DB_USER (optional if in the URL).");
    documented(QueueConfig.DB_LISTEN_URL, null,
        "Direct (session) JDBC URL for LISTEN/NOTIFY; unset: the main URL, or polling only behind a transaction pooler.");
    documented(QueueConfig.DB_PREPARED_STATEMENTS, String.valueOf(QueueConfig.DEFAULT_PREPARED_STATEMENTS),
        "Server-side prepared statements; false behind Supabase's transaction pooler (port 6543).");
    documented(QueueConfig.DB_TRANSACTION_POOLER, "auto",
        "auto: probe at start-up whether the main URL is a transaction pooler (any port); true / false: say so and skip the probe.");
    documented(QueueConfig.DB_POOL_SIZE, "concurrency + 3", "Maximum JDBC connections in the worker's pool (1..200).");
  }

  private static final Setting<String> HTTP_BIND_ADDRESS = key("QUEUEPILOT_HTTP_BIND_ADDRESS", "0.0.0.0", "0.0.0.0",
      "Address the /healthz, /readyz and /metrics server binds to (127.0.0.1 = this host only).", WorkerConfig::bindAddress);
  private static final Setting<Integer> HTTP_PORT = intKey("QUEUEPILOT_HTTP_PORT", 8080, 0, 65535,
      "Port of /healthz, /readyz and /metrics (0 = any free port).");
  private static final Setting<LogFormat> LOG_FORMAT = enumKey("QUEUEPILOT_LOG_FORMAT", LogFormat.TEXT, LogFormat.class,
      "Log format: text or json (one JSON object per line).");
  private static final Setting<String> WORKER_ID = key("QUEUEPILOT_WORKER_ID", null,
      "POD_NAME, else RENDER_INSTANCE_ID, else hostname-pid", "Identity written into claimed jobs' worker_id.",
      WorkerConfig::workerIdValue);
  private static final Setting<Integer> CONCURRENCY = intKey("QUEUEPILOT_CONCURRENCY", WorkerDefaults.CONCURRENCY, 1, 256,
      "Maximum jobs processed at once by this worker (1..256).");
  private static final Setting<List<String>> JOB_TYPES = key("QUEUEPILOT_JOB_TYPES", WorkerDefaults.JOB_TYPES,
      String.join(",", WorkerDefaults.JOB_TYPES), "Comma-separated job types this worker claims.", v -> names(v, false));
  private static final Setting<List<String>> LANES = key("QUEUEPILOT_LANES", WorkerDefaults.LANES, "(empty)",
      "Comma-separated lanes this worker claims; empty = every lane.", v -> names(v, true));
  private static final Setting<ProcessorKind> PROCESSOR = enumKey("QUEUEPILOT_PROCESSOR", ProcessorKind.LOCAL,
      ProcessorKind.class, "Processor: local (no network, rule-based) or openai.");
  private static final Setting<String> OPENAI_API_KEY = key("OPENAI_API_KEY", null, null,
      "API key (required when QUEUEPILOT_PROCESSOR=openai); for azure the Azure OpenAI resource key (sent as api-key).", v -> v);
  private static final Setting<OpenAiEndpoint> OPENAI_ENDPOINT = enumKey("QUEUEPILOT_OPENAI_ENDPOINT", OpenAiEndpoint.OPENAI,
      OpenAiEndpoint.class,
      "Wire format of OPENAI_BASE_URL: openai, compatible (any OpenAI-compatible server) or azure (Azure OpenAI).");
  private static final Setting<String> OPENAI_BASE_URL = key("OPENAI_BASE_URL", "https://api.openai.com/v1",
      "https://api.openai.com/v1", "API base URL; for azure the resource endpoint, e.g. https://NAME.openai.azure.com.",
      WorkerConfig::httpUrl);
  private static final Setting<String> OPENAI_MODEL = stringKey("QUEUEPILOT_OPENAI_MODEL", "gpt-4o-mini",
      "Chat model used for extraction (vision and json_schema); on Azure the model behind the deployment (decides parameters and token rules).");
  private static final Setting<String> AZURE_DEPLOYMENT = key("QUEUEPILOT_AZURE_DEPLOYMENT", null, null,
      "Azure OpenAI deployment name (required when QUEUEPILOT_OPENAI_ENDPOINT=azure).", v -> v);
  private static final Setting<String> AZURE_API_VERSION = stringKey("QUEUEPILOT_AZURE_API_VERSION", "2024-10-21",
      "Azure OpenAI api-version query parameter.");
  private static final Setting<Duration> OPENAI_TIMEOUT = secondsKey("QUEUEPILOT_OPENAI_TIMEOUT_SECONDS",
      Duration.ofSeconds(60), false, "Timeout of one OpenAI request.");
  private static final Setting<Integer> OPENAI_MAX_OUTPUT_TOKENS = intKey("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS", 2000, 16,
      100_000, "max_completion_tokens of one call; an answer cut at it splits the call or raises it up to the model's maximum.");
  private static final Setting<Integer> OPENAI_MAX_PAGE_IMAGES = intKey("QUEUEPILOT_OPENAI_MAX_PAGE_IMAGES", 4, 1, 50,
      "Page images per model call (scanned pages, TIFF pages, photos).");
  private static final Setting<Integer> OPENAI_MAX_CALL_CHARS = intKey("QUEUEPILOT_OPENAI_MAX_CALL_CHARS", 100_000, 1_000,
      2_000_000, "Text characters per model call; longer documents take more calls.");
  private static final Setting<Integer> OPENAI_MAX_CALLS = intKey("QUEUEPILOT_OPENAI_MAX_CALLS_PER_DOCUMENT", 40, 1, 10_000,
      "Most model calls for one document; pages beyond are recorded as unread (partial extraction).");
  private static final Setting<Long> OPENAI_MAX_IMAGE_BYTES = longKey("QUEUEPILOT_OPENAI_MAX_IMAGE_BYTES", 20L << 20, 1024,
      100L << 20, "Largest uploaded image file (bytes); larger is a permanent error.");
  private static final Setting<Duration> QUOTA_BLOCK = secondsKey("QUEUEPILOT_QUOTA_BLOCK_SECONDS", Duration.ofSeconds(900),
      false, "After insufficient_quota: how long the shared budget blocks every replica (at most 3600).");
  private static final Setting<StoreKind> STORE = enumKey("QUEUEPILOT_STORE", StoreKind.LOCAL, StoreKind.class,
      "Document store: local (a directory) or supabase (Storage over HTTP).");
  private static final Setting<Path> STORE_DIR = pathKey("QUEUEPILOT_STORE_DIR", "./data/documents", "./data/documents",
      "Root directory of the local store; storage_path is resolved under it.");
  private static final Setting<String> SUPABASE_URL = key("SUPABASE_URL", null, null,
      "Supabase project URL (required when QUEUEPILOT_STORE=supabase).", WorkerConfig::httpUrl);
  private static final Setting<String> SUPABASE_SERVICE_ROLE_KEY = key("SUPABASE_SERVICE_ROLE_KEY", null, null,
      "Supabase service-role key (required when QUEUEPILOT_STORE=supabase).", v -> v);
  private static final Setting<String> STORAGE_BUCKET = stringKey("QUEUEPILOT_STORAGE_BUCKET", "medical-docs",
      "Bucket checked at start-up (must be private); jobs name their own bucket.");
  private static final Setting<Boolean> STORAGE_SIGNED_URLS = key("QUEUEPILOT_STORAGE_SIGNED_URLS", false, "false",
      "Download through a short-lived signed URL instead of the authenticated endpoint.", WorkerConfig::bool);
  private static final Setting<Long> MAX_DOCUMENT_BYTES = longKey("QUEUEPILOT_MAX_DOCUMENT_BYTES", 512L << 20, 1, 1L << 40,
      "Largest document downloaded (bytes); larger is a permanent error.");
  private static final Setting<Path> TEMP_DIR = pathKey("QUEUEPILOT_TEMP_DIR", System.getProperty("java.io.tmpdir"),
      "java.io.tmpdir", "Directory for downloaded temp files (always deleted after the job).");
  private static final Setting<Integer> MAX_TEXT_CHARS = intKey("QUEUEPILOT_MAX_TEXT_CHARS", 200_000, 100, 50_000_000,
      "Extracted text stored per document (characters); the model reads all of it, a cut is recorded (text_truncated).");
  private static final Setting<Integer> MAX_EVENTS = intKey("QUEUEPILOT_MAX_EVENTS", 500, 1, 100_000,
      "Most clinical events written back per document.");
  private static final Setting<Duration> HEARTBEAT_INTERVAL = secondsKey("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS",
      WorkerDefaults.HEARTBEAT_INTERVAL, false,
      "Heartbeat period; every lease the worker holds is extended in one statement per period (decimals allowed).");
  private static final Setting<Duration> MAX_RUNTIME = secondsKey("QUEUEPILOT_MAX_RUNTIME_SECONDS",
      WorkerDefaults.MAX_RUNTIME, false, "A job running longer is cancelled and failed as retryable.");
  private static final Setting<Duration> GRACE_PERIOD = secondsKey("QUEUEPILOT_GRACE_PERIOD_SECONDS",
      WorkerDefaults.GRACE_PERIOD, true, "On SIGTERM: time in-flight jobs get to finish before they are released.");
  private static final Setting<Duration> POLL_INTERVAL = secondsKey("QUEUEPILOT_POLL_INTERVAL_SECONDS",
      WorkerDefaults.POLL_INTERVAL, false, "Claim poll period when no notification arrives.");
  private static final Setting<Duration> HEARTBEAT_TIMEOUT = secondsKey("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS",
      WorkerDefaults.HEARTBEAT_TIMEOUT, false,
      "The stale-job rescuer's timeout (the controller's); the heartbeat interval must stay below it.");
  private static final Setting<Integer> LOCAL_QUEUE_SIZE = intKey("QUEUEPILOT_LOCAL_QUEUE_SIZE",
      WorkerDefaults.LOCAL_QUEUE_SIZE, 0, 10_000,
      "Claim ahead: jobs kept claimed and waiting beyond the running ones (0 = claim only up to free capacity).");
  private static final Setting<Duration> LOCAL_QUEUE_TTL = secondsKey("QUEUEPILOT_LOCAL_QUEUE_TTL_SECONDS",
      WorkerDefaults.LOCAL_QUEUE_TTL, false, "A claimed-ahead job not started within this goes back to the queue.");
  private static final Setting<JitPolicy> JIT_POLICY = enumKey("QUEUEPILOT_JIT_POLICY", JitPolicy.JVM, JitPolicy.class,
      "jvm: HotSpot's default tiers; pipeline: C2 compiles only the document pipeline (PDF, images, JSON, TLS), the queue runtime runs C1 code.");
  private static final Setting<Long> HEAP_PER_JOB_MB = longKey("QUEUEPILOT_HEAP_PER_JOB_MB",
      WorkerDefaults.HEAP_PER_JOB_BYTES >> 20, 1, 1 << 20, "Heap one job may need; caps concurrency at heap budget / this.");
  private static final Setting<Double> HEAP_FRACTION = key("QUEUEPILOT_HEAP_FRACTION", WorkerDefaults.HEAP_FRACTION,
      String.valueOf(WorkerDefaults.HEAP_FRACTION), "Share of -Xmx the jobs may use together (0.05..0.95).",
      v -> doubleIn(v, 0.05, 0.95));
  private static final Setting<String> TOKEN_BUDGET = stringKey("QUEUEPILOT_TOKEN_BUDGET", "openai",
      "Name of the shared token budget row (token_budget.name).");
  private static final Setting<Long> TOKENS_PER_MINUTE = longKey("QUEUEPILOT_TOKENS_PER_MINUTE", 0L, 0, Long.MAX_VALUE / 4,
      "If > 0, this worker sets the shared budget's tokens per window (a minute by default) at start-up; 0 = use the stored row as is.");
  private static final Setting<Integer> REQUESTS_PER_MINUTE = intKey("QUEUEPILOT_REQUESTS_PER_MINUTE", 0, 0,
      Integer.MAX_VALUE / 4, "If > 0, the shared budget's requests per window (with the key above).");
  private static final Setting<Integer> BUDGET_WINDOW_SECONDS = intKey("QUEUEPILOT_BUDGET_WINDOW_SECONDS", 60, 1, 3600,
      "Sliding window of the shared budget (seconds).");
  private static final Setting<Duration> RATE_LIMIT_DEFAULT_DELAY = secondsKey("QUEUEPILOT_RATE_LIMIT_DEFAULT_DELAY_SECONDS",
      WorkerDefaults.RATE_LIMIT_DEFAULT_DELAY, false, "Release delay after a 429 that carries no retry-after / reset header.");

  /** Every key the worker reads, in documentation order (docs/worker.md mirrors this list). */
  public static final List<Key> KEYS = SETTINGS.stream().map(Setting::key).toList();

  /** The openai processor's limits these settings give (WorkerApp builds the processor with them). */
  public OpenAiProcessor.Settings openAiProcessorSettings() {
    return new OpenAiProcessor.Settings(openAiModel, openAiMaxCallChars, openAiMaxPageImages, openAiMaxOutputTokens,
        openAiMaxCallsPerDocument, maxTextChars, openAiMaxImageBytes, rateLimitDefaultDelay, quotaBlock);
  }

  /** Reads and validates the process environment. */
  public static WorkerConfig fromEnvironment() {
    return from(System.getenv());
  }

  /**
   * Reads and validates {@code env}; throws {@link ConfigException} naming every bad key (the
   * first one is {@link ConfigException#key()}).
   */
  public static WorkerConfig from(Map<String, String> env) {
    Reader r = new Reader(env);
    int concurrency = r.get(CONCURRENCY);
    ProcessorKind processor = r.get(PROCESSOR);
    StoreKind store = r.get(STORE);
    Optional<String> apiKey = Optional.ofNullable(r.get(OPENAI_API_KEY));
    if (processor == ProcessorKind.OPENAI && apiKey.isEmpty()) {
      r.error(OPENAI_API_KEY.name(), "is required when QUEUEPILOT_PROCESSOR=openai");
    }
    OpenAiEndpoint endpoint = r.get(OPENAI_ENDPOINT);
    Optional<String> azureDeployment = Optional.ofNullable(r.get(AZURE_DEPLOYMENT));
    if (processor == ProcessorKind.OPENAI && endpoint == OpenAiEndpoint.AZURE && azureDeployment.isEmpty()) {
      r.error(AZURE_DEPLOYMENT.name(), "is required when QUEUEPILOT_OPENAI_ENDPOINT=azure");
    }
    String model = r.get(OPENAI_MODEL);
    int maxOutput = r.get(OPENAI_MAX_OUTPUT_TOKENS);
    int modelMax = io.queuepilot.worker.process.ModelCapabilities.of(model).maxOutputTokens();
    if (processor == ProcessorKind.OPENAI && maxOutput > modelMax) {
      r.error(OPENAI_MAX_OUTPUT_TOKENS.name(), "is " + maxOutput + ", above what " + model + " can return (" + modelMax + ")");
    }
    Optional<String> supabaseUrl = Optional.ofNullable(r.get(SUPABASE_URL));
    Optional<String> serviceKey = Optional.ofNullable(r.get(SUPABASE_SERVICE_ROLE_KEY));
    if (store == StoreKind.SUPABASE && supabaseUrl.isEmpty()) {
      r.error(SUPABASE_URL.name(), "is required when QUEUEPILOT_STORE=supabase");
    }
    if (store == StoreKind.SUPABASE && serviceKey.isEmpty()) {
      r.error(SUPABASE_SERVICE_ROLE_KEY.name(), "is required when QUEUEPILOT_STORE=supabase");
    }
    QueueConfig database = database(r, env, concurrency);
    Duration quotaBlock = r.get(QUOTA_BLOCK);
    if (quotaBlock.compareTo(Duration.ofHours(1)) > 0) {
      r.error(QUOTA_BLOCK.name(), "must be at most 3600 (the shared budget's longest block)");
    }
    Duration heartbeatInterval = r.get(HEARTBEAT_INTERVAL);
    Duration heartbeatTimeout = r.get(HEARTBEAT_TIMEOUT);
    if (heartbeatInterval.compareTo(heartbeatTimeout) >= 0) {
      r.error(HEARTBEAT_INTERVAL.name(),
          "must be shorter than QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS (" + heartbeatTimeout.toMillis() / 1000.0 + ")");
    }
    WorkerConfig config = new WorkerConfig(
        database,
        r.get(HTTP_BIND_ADDRESS),
        r.get(HTTP_PORT),
        r.get(LOG_FORMAT),
        workerId(r),
        concurrency,
        r.get(JOB_TYPES),
        r.get(LANES),
        processor,
        apiKey,
        endpoint,
        r.get(OPENAI_BASE_URL),
        model,
        azureDeployment,
        r.get(AZURE_API_VERSION),
        r.get(OPENAI_TIMEOUT),
        maxOutput,
        r.get(OPENAI_MAX_PAGE_IMAGES),
        r.get(OPENAI_MAX_CALL_CHARS),
        r.get(OPENAI_MAX_CALLS),
        r.get(OPENAI_MAX_IMAGE_BYTES),
        quotaBlock,
        store,
        r.get(STORE_DIR),
        supabaseUrl,
        serviceKey,
        r.get(STORAGE_BUCKET),
        r.get(STORAGE_SIGNED_URLS),
        r.get(MAX_DOCUMENT_BYTES),
        r.get(TEMP_DIR),
        r.get(MAX_TEXT_CHARS),
        r.get(MAX_EVENTS),
        heartbeatInterval,
        r.get(MAX_RUNTIME),
        r.get(GRACE_PERIOD),
        r.get(POLL_INTERVAL),
        heartbeatTimeout,
        r.get(HEAP_PER_JOB_MB) << 20,
        r.get(HEAP_FRACTION),
        r.get(TOKEN_BUDGET),
        r.get(TOKENS_PER_MINUTE),
        r.get(REQUESTS_PER_MINUTE),
        r.get(BUDGET_WINDOW_SECONDS),
        r.get(RATE_LIMIT_DEFAULT_DELAY),
        r.get(LOCAL_QUEUE_SIZE),
        r.get(LOCAL_QUEUE_TTL),
        r.get(JIT_POLICY));
    r.throwIfAnyError();
    return config;
  }

  private static QueueConfig database(Reader r, Map<String, String> env, int concurrency) {
    try {
      QueueConfig database = QueueConfig.from(env);
      if (r.raw(QueueConfig.DB_POOL_SIZE).isEmpty()) {
        // one connection per job in flight plus claim, settle, heartbeat and health checks
        database = database.withPoolSize(Math.min(200, concurrency + 3));
      }
      return database;
    } catch (IllegalArgumentException e) {
      // QueueConfig's messages start with the key they are about
      String msg = String.valueOf(e.getMessage());
      int colon = msg.indexOf(':');
      r.error(colon > 0 ? msg.substring(0, colon) : QueueConfig.DB_URL, colon > 0 ? msg.substring(colon + 1).trim() : msg);
      return null;
    }
  }

  private static String workerId(Reader r) {
    String explicit = r.get(WORKER_ID);
    if (explicit != null) {
      return explicit;
    }
    for (String key : List.of("POD_NAME", "RENDER_INSTANCE_ID")) {
      Optional<String> v = r.raw(key);
      if (v.isPresent()) {
        try {
          return workerIdValue(v.get());
        } catch (Problem p) {
          r.error(key, p.getMessage());
          return null;
        }
      }
    }
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = r.raw("HOSTNAME").orElse("worker");
    }
    return host + "-" + ProcessHandle.current().pid();
  }

  /** A configuration error naming the (first) bad key; the message lists every bad key. */
  public static final class ConfigException extends IllegalArgumentException {
    private final String key;

    public ConfigException(String key, String problem) {
      super(key + " " + problem);
      this.key = key;
    }

    private ConfigException(String key, List<String> problems) {
      super(String.join("; ", problems));
      this.key = key;
    }

    public String key() {
      return key;
    }
  }

  /** Reads keys of one environment map, collecting every error (each naming its key). */
  private static final class Reader {
    private final Map<String, String> env;
    private final List<String> problems = new ArrayList<>();
    private String firstBadKey;

    Reader(Map<String, String> env) {
      this.env = env;
    }

    Optional<String> raw(String key) {
      String v = env.get(key);
      return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
    }

    <T> T get(Setting<T> s) {
      Optional<String> v = raw(s.name());
      if (v.isEmpty()) {
        return s.def();
      }
      try {
        return s.parse().parse(v.get());
      } catch (Problem p) {
        error(s.name(), p.getMessage());
        return s.def();
      }
    }

    void error(String key, String problem) {
      if (firstBadKey == null) {
        firstBadKey = key;
      }
      problems.add(key + " " + problem);
    }

    void throwIfAnyError() {
      if (!problems.isEmpty()) {
        throw new ConfigException(firstBadKey, problems);
      }
    }
  }

  private static Setting<String> stringKey(String name, String def, String description) {
    return key(name, def, def, description, v -> v);
  }

  private static Setting<Long> longKey(String name, long def, long min, long max, String description) {
    return key(name, def, String.valueOf(def), description, v -> longIn(v, min, max));
  }

  private static Setting<Integer> intKey(String name, int def, int min, int max, String description) {
    return key(name, def, String.valueOf(def), description, v -> (int) longIn(v, min, max));
  }

  private static <E extends Enum<E>> Setting<E> enumKey(String name, E def, Class<E> type, String description) {
    return key(name, def, def.name().toLowerCase(Locale.ROOT), description, v -> oneOf(v, type));
  }

  private static Setting<Duration> secondsKey(String name, Duration def, boolean zeroAllowed, String description) {
    long ms = def.toMillis();
    String shown = ms % 1000 == 0 ? String.valueOf(ms / 1000) : String.valueOf(ms / 1000.0);
    return key(name, def, shown, description, v -> seconds(v, zeroAllowed));
  }

  private static Setting<Path> pathKey(String name, String def, String shownDefault, String description) {
    return key(name, Path.of(def).toAbsolutePath().normalize(), shownDefault, description, WorkerConfig::path);
  }

  private static boolean bool(String v) throws Problem {
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "true", "1", "yes" -> true;
      case "false", "0", "no" -> false;
      default -> throw new Problem("must be true or false, got '" + v + "'");
    };
  }

  private static long longIn(String v, long min, long max) throws Problem {
    long value;
    try {
      value = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new Problem("must be an integer, got '" + v + "'");
    }
    if (value < min || value > max) {
      throw new Problem("must be between " + min + " and " + max + ", got " + value);
    }
    return value;
  }

  private static double doubleIn(String v, double min, double max) throws Problem {
    double value;
    try {
      value = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new Problem("must be a number, got '" + v + "'");
    }
    if (!(value >= min && value <= max)) {
      throw new Problem("must be between " + min + " and " + max + ", got " + value);
    }
    return value;
  }

  private static Duration seconds(String raw, boolean zeroAllowed) throws Problem {
    double s;
    try {
      s = Double.parseDouble(raw);
    } catch (NumberFormatException e) {
      throw new Problem("must be a number of seconds, got '" + raw + "'");
    }
    if (!(s >= 0) || (!zeroAllowed && s == 0) || s > 7 * 24 * 3600) {
      throw new Problem("must be " + (zeroAllowed ? ">= 0" : "> 0") + " seconds (at most a week), got '" + raw + "'");
    }
    return Duration.ofMillis(Math.round(s * 1000));
  }

  private static <E extends Enum<E>> E oneOf(String v, Class<E> type) throws Problem {
    try {
      return Enum.valueOf(type, v.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      List<String> allowed = new ArrayList<>();
      for (E c : type.getEnumConstants()) {
        allowed.add(c.name().toLowerCase(Locale.ROOT));
      }
      throw new Problem("must be one of " + allowed + ", got '" + v + "'");
    }
  }

  private static List<String> names(String v, boolean emptyAllowed) throws Problem {
    List<String> out = Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).distinct().toList();
    if (out.isEmpty() && !emptyAllowed) {
      throw new Problem("must name at least one value");
    }
    for (String s : out) {
      if (!JOB_NAME.matcher(s).matches()) {
        throw new Problem("has an invalid name '" + s + "' (lower-case letters, digits, _)");
      }
    }
    return out;
  }

  private static Path path(String v) throws Problem {
    try {
      return Path.of(v).toAbsolutePath().normalize();
    } catch (RuntimeException e) {
      throw new Problem("is not a valid path: " + e.getMessage());
    }
  }

  private static String httpUrl(String value) throws Problem {
    URI u;
    try {
      u = URI.create(value);
    } catch (IllegalArgumentException e) {
      throw new Problem("is not a valid URL: '" + value + "'");
    }
    if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
      throw new Problem("must be an http(s) URL, got '" + value + "'");
    }
    return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
  }

  /** A literal IP address (v4 or v6) to bind to; host names are refused (no DNS at start-up). */
  private static String bindAddress(String v) throws Problem {
    if (!v.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      throw new Problem("must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got '" + v + "'");
    }
    try {
      InetAddress.getByName(v);
    } catch (UnknownHostException e) {
      throw new Problem("is not a valid IP address: '" + v + "'");
    }
    return v;
  }

  private static String workerIdValue(String value) throws Problem {
    if (TEMPLATE.matcher(value).find()) {
      throw new Problem("looks like an unexpanded template ('" + value + "'); set it from the downward API / platform");
    }
    if (value.length() > 200) {
      throw new Problem("is longer than 200 characters");
    }
    return value;
  }
}
