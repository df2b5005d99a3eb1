package io.queuepilot.worker;

import io.queuepilot.queue.QueueConfig;
import io.queuepilot.queue.QueueDefaults;
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
 * The worker's one typed configuration: every key, its default and meaning, read once from the
 * environment and validated at start-up. A bad value fails fast with an error naming the key.
 * This is the only place in the worker that reads the environment.
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
    Duration staleRequeueInterval,
    Duration heartbeatTimeout,
    long heapPerJobBytes,
    double heapFraction,
    String tokenBudgetName,
    long tokensPerMinute,
    int requestsPerMinute,
    int budgetWindowSeconds,
    Duration rateLimitDefaultDelay) {

  /** Where log lines go and in which shape. */
  public enum LogFormat { TEXT, JSON }

  /** Which processor turns documents into clinical events. */
  public enum ProcessorKind { LOCAL, OPENAI }

  /** Which wire format the model endpoint speaks. */
  public enum OpenAiEndpoint { OPENAI, COMPATIBLE, AZURE }

  /** Where the documents are read from. */
  public enum StoreKind { LOCAL, SUPABASE }

  /** One documented key: name, default (null = required or absent) and a one-line meaning. */
  public record Key(String name, String defaultValue, String description) {}

  /** Every key the worker reads, in documentation order (docs/worker.md mirrors this list). */
  public static final List<Key> KEYS =
      List.of(
          new Key("QUEUEPILOT_DB_URL", null, "JDBC URL of the queue database (required)."),
          new Key("QUEUEPILOT_DB_USER", null, "Database login, a member of queue_worker (optional if in the URL)."),
          new Key("QUEUEPILOT_DB_PASSWORD", null, "Password of QUEUEPILOT_DB_USER (optional if in the URL)."),
          new Key("QUEUEPILOT_DB_LISTEN_URL", null,
              "Direct (session) JDBC URL for LISTEN/NOTIFY; unset: the main URL, or polling only behind a transaction pooler."),
          new Key("QUEUEPILOT_DB_PREPARED_STATEMENTS", "true",
              "Server-side prepared statements; false behind Supabase's transaction pooler (port 6543)."),
          new Key("QUEUEPILOT_DB_TRANSACTION_POOLER", "auto",
              "auto: probe at start-up whether the main URL is a transaction pooler (any port); true / false: say so and skip the probe."),
          new Key("QUEUEPILOT_DB_POOL_SIZE", "concurrency + 3", "Maximum JDBC connections in the worker's pool (1..200)."),
          new Key("QUEUEPILOT_HTTP_BIND_ADDRESS", "0.0.0.0",
              "Address the /healthz, /readyz and /metrics server binds to (127.0.0.1 = this host only)."),
          new Key("QUEUEPILOT_HTTP_PORT", "8080", "Port of /healthz, /readyz and /metrics (0 = any free port)."),
          new Key("QUEUEPILOT_LOG_FORMAT", "text", "Log format: text or json (one JSON object per line)."),
          new Key("QUEUEPILOT_WORKER_ID", "POD_NAME, else RENDER_INSTANCE_ID, else hostname-pid",
              "Identity written into claimed jobs' worker_id."),
          new Key("QUEUEPILOT_CONCURRENCY", "4", "Maximum jobs processed at once by this worker (1..256)."),
          new Key("QUEUEPILOT_JOB_TYPES", "document_extraction", "Comma-separated job types this worker claims."),
          new Key("QUEUEPILOT_LANES", "(empty)", "Comma-separated lanes this worker claims; empty = every lane."),
          new Key("QUEUEPILOT_PROCESSOR", "local", "Processor: local (no network, rule-based) or openai."),
          new Key("OPENAI_API_KEY", null,
              "API key (required when QUEUEPILOT_PROCESSOR=openai); for azure the Azure OpenAI resource key (sent as api-key)."),
          new Key("QUEUEPILOT_OPENAI_ENDPOINT", "openai",
              "Wire format of OPENAI_BASE_URL: openai, compatible (any OpenAI-compatible server) or azure (Azure OpenAI)."),
          new Key("OPENAI_BASE_URL", "https://api.openai.com/v1",
              "API base URL; for azure the resource endpoint, e.g. https://NAME.openai.azure.com."),
          new Key("QUEUEPILOT_OPENAI_MODEL", "gpt-4o-mini",
              "Chat model used for extraction (vision and json_schema); on Azure the model behind the deployment (decides parameters and token rules)."),
          new Key("QUEUEPILOT_AZURE_DEPLOYMENT", null, "Azure OpenAI deployment name (required when QUEUEPILOT_OPENAI_ENDPOINT=azure)."),
          new Key("QUEUEPILOT_AZURE_API_VERSION", "2024-10-21", "Azure OpenAI api-version query parameter."),
          new Key("QUEUEPILOT_OPENAI_TIMEOUT_SECONDS", "60", "Timeout of one OpenAI request."),
          new Key("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS", "2000",
              "max_completion_tokens of one call; an answer cut at it splits the call or raises it up to the model's maximum."),
          new Key("QUEUEPILOT_OPENAI_MAX_PAGE_IMAGES", "4", "Page images per model call (scanned pages, TIFF pages, photos)."),
          new Key("QUEUEPILOT_OPENAI_MAX_CALL_CHARS", "100000", "Text characters per model call; longer documents take more calls."),
          new Key("QUEUEPILOT_OPENAI_MAX_CALLS_PER_DOCUMENT", "40",
              "Most model calls for one document; pages beyond are recorded as unread (partial extraction)."),
          new Key("QUEUEPILOT_OPENAI_MAX_IMAGE_BYTES", "20971520", "Largest uploaded image file (bytes); larger is a permanent error."),
          new Key("QUEUEPILOT_QUOTA_BLOCK_SECONDS", "900",
              "After insufficient_quota: how long the shared budget blocks every replica (at most 3600)."),
          new Key("QUEUEPILOT_STORE", "local", "Document store: local (a directory) or supabase (Storage over HTTP)."),
          new Key("QUEUEPILOT_STORE_DIR", "./data/documents", "Root directory of the local store; storage_path is resolved under it."),
          new Key("SUPABASE_URL", null, "Supabase project URL (required when QUEUEPILOT_STORE=supabase)."),
          new Key("SUPABASE_SERVICE_ROLE_KEY", null, "Supabase service-role key (required when QUEUEPILOT_STORE=supabase)."),
          new Key("QUEUEPILOT_STORAGE_BUCKET", "medical-docs", "Bucket checked at start-up (must be private); jobs name their own bucket."),
          new Key("QUEUEPILOT_STORAGE_SIGNED_URLS", "false", "Download through a short-lived signed URL instead of the authenticated endpoint."),
          new Key("QUEUEPILOT_MAX_DOCUMENT_BYTES", "536870912", "Largest document downloaded (bytes); larger is a permanent error."),
          new Key("QUEUEPILOT_TEMP_DIR", "java.io.tmpdir", "Directory for downloaded temp files (always deleted after the job)."),
          new Key("QUEUEPILOT_MAX_TEXT_CHARS", "200000",
              "Extracted text stored per document (characters); the model reads all of it, a cut is recorded (text_truncated)."),
          new Key("QUEUEPILOT_MAX_EVENTS", "500", "Most clinical events written back per document."),
          new Key("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "5", "Heartbeat period of each in-flight job (decimals allowed)."),
          new Key("QUEUEPILOT_MAX_RUNTIME_SECONDS", "600", "A job running longer is cancelled and failed as retryable."),
          new Key("QUEUEPILOT_GRACE_PERIOD_SECONDS", "25", "On SIGTERM: time in-flight jobs get to finish before they are released."),
          new Key("QUEUEPILOT_POLL_INTERVAL_SECONDS", "5", "Claim poll period when no notification arrives."),
          new Key("QUEUEPILOT_STALE_REQUEUE_INTERVAL_SECONDS", "0",
              "How often this worker runs requeue_stale_jobs (0 = never; the controller does it)."),
          new Key("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS", "" + QueueDefaults.HEARTBEAT_TIMEOUT_SECONDS, "Heartbeat age after which requeue_stale_jobs takes a job back."),
          new Key("QUEUEPILOT_HEAP_PER_JOB_MB", "64", "Heap one job may need; caps concurrency at heap budget / this."),
          new Key("QUEUEPILOT_HEAP_FRACTION", "0.6", "Share of -Xmx the jobs may use together (0.05..0.95)."),
          new Key("QUEUEPILOT_TOKEN_BUDGET", "openai", "Name of the shared token budget row (token_budget.name)."),
          new Key("QUEUEPILOT_TOKENS_PER_MINUTE", "0",
              "If > 0, this worker sets the shared budget's tokens per window (a minute by default) at start-up; 0 = use the stored row as is."),
          new Key("QUEUEPILOT_REQUESTS_PER_MINUTE", "0", "If > 0, the shared budget's requests per window (with the key above)."),
          new Key("QUEUEPILOT_BUDGET_WINDOW_SECONDS", "60", "Sliding window of the shared budget (seconds)."),
          new Key("QUEUEPILOT_RATE_LIMIT_DEFAULT_DELAY_SECONDS", "10",
              "Release delay after a 429 that carries no retry-after / reset header."));

  private static final Pattern JOB_NAME = Pattern.compile("[a-z][a-z0-9_]{0,62}");
  private static final Pattern TEMPLATE = Pattern.compile("\\$\\(|\\$\\{|\\{\\{");

  /** Reads and validates the process environment. */
  public static WorkerConfig fromEnvironment() {
    return from(System.getenv());
  }

  /** Reads and validates {@code env}; throws {@link ConfigException} naming the first bad key. */
  public static WorkerConfig from(Map<String, String> env) {
    Reader r = new Reader(env);
    int concurrency = r.intIn("QUEUEPILOT_CONCURRENCY", 4, 1, 256);
    ProcessorKind processor = r.oneOf("QUEUEPILOT_PROCESSOR", ProcessorKind.LOCAL, ProcessorKind.class);
    StoreKind store = r.oneOf("QUEUEPILOT_STORE", StoreKind.LOCAL, StoreKind.class);
    Optional<String> apiKey = r.optional("OPENAI_API_KEY");
    if (processor == ProcessorKind.OPENAI && apiKey.isEmpty()) {
      throw new ConfigException("OPENAI_API_KEY", "is required when QUEUEPILOT_PROCESSOR=openai");
    }
    OpenAiEndpoint endpoint = r.oneOf("QUEUEPILOT_OPENAI_ENDPOINT", OpenAiEndpoint.OPENAI, OpenAiEndpoint.class);
    Optional<String> azureDeployment = r.optional("QUEUEPILOT_AZURE_DEPLOYMENT");
    if (processor == ProcessorKind.OPENAI && endpoint == OpenAiEndpoint.AZURE && azureDeployment.isEmpty()) {
      throw new ConfigException("QUEUEPILOT_AZURE_DEPLOYMENT", "is required when QUEUEPILOT_OPENAI_ENDPOINT=azure");
    }
    String model = r.string("QUEUEPILOT_OPENAI_MODEL", "gpt-4o-mini");
    int maxOutput = r.intIn("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS", 2000, 16, 100_000);
    int modelMax = io.queuepilot.worker.process.ModelCapabilities.of(model).maxOutputTokens();
    if (processor == ProcessorKind.OPENAI && maxOutput > modelMax) {
      throw new ConfigException("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS",
          "is " + maxOutput + ", above what " + model + " can return (" + modelMax + ")");
    }
    Optional<String> supabaseUrl = r.optional("SUPABASE_URL").map(u -> r.httpUrl("SUPABASE_URL", u));
    Optional<String> serviceKey = r.optional("SUPABASE_SERVICE_ROLE_KEY");
    if (store == StoreKind.SUPABASE) {
      if (supabaseUrl.isEmpty()) {
        throw new ConfigException("SUPABASE_URL", "is required when QUEUEPILOT_STORE=supabase");
      }
      if (serviceKey.isEmpty()) {
        throw new ConfigException("SUPABASE_SERVICE_ROLE_KEY", "is required when QUEUEPILOT_STORE=supabase");
      }
    }
    QueueConfig database;
    try {
      database = QueueConfig.from(env);
      if (r.optional(QueueConfig.DB_POOL_SIZE).isEmpty()) {
        // one connection per job in flight plus claim, heartbeat and health checks
        database = database.withPoolSize(Math.min(200, concurrency + 3));
      }
    } catch (ConfigException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      // QueueConfig's messages start with the key they are about
      String msg = String.valueOf(e.getMessage());
      int colon = msg.indexOf(':');
      throw new ConfigException(colon > 0 ? msg.substring(0, colon) : "QUEUEPILOT_DB_URL",
          colon > 0 ? msg.substring(colon + 1).trim() : msg);
    }
    return new WorkerConfig(
        database,
        r.bindAddress("QUEUEPILOT_HTTP_BIND_ADDRESS", "0.0.0.0"),
        r.intIn("QUEUEPILOT_HTTP_PORT", 8080, 0, 65535),
        r.oneOf("QUEUEPILOT_LOG_FORMAT", LogFormat.TEXT, LogFormat.class),
        workerId(r),
        concurrency,
        r.names("QUEUEPILOT_JOB_TYPES", List.of("document_extraction"), false),
        r.names("QUEUEPILOT_LANES", List.of(), true),
        processor,
        apiKey,
        endpoint,
        r.httpUrl("OPENAI_BASE_URL", r.string("OPENAI_BASE_URL", "https://api.openai.com/v1")),
        model,
        azureDeployment,
        r.string("QUEUEPILOT_AZURE_API_VERSION", "2024-10-21"),
        r.seconds("QUEUEPILOT_OPENAI_TIMEOUT_SECONDS", "60", false),
        maxOutput,
        r.intIn("QUEUEPILOT_OPENAI_MAX_PAGE_IMAGES", 4, 1, 50),
        r.intIn("QUEUEPILOT_OPENAI_MAX_CALL_CHARS", 100_000, 1_000, 2_000_000),
        r.intIn("QUEUEPILOT_OPENAI_MAX_CALLS_PER_DOCUMENT", 40, 1, 10_000),
        r.longIn("QUEUEPILOT_OPENAI_MAX_IMAGE_BYTES", 20L << 20, 1024, 100L << 20),
        r.seconds("QUEUEPILOT_QUOTA_BLOCK_SECONDS", "900", false),
        store,
        r.path("QUEUEPILOT_STORE_DIR", "./data/documents"),
        supabaseUrl,
        serviceKey,
        r.string("QUEUEPILOT_STORAGE_BUCKET", "medical-docs"),
        r.bool("QUEUEPILOT_STORAGE_SIGNED_URLS", false),
        r.longIn("QUEUEPILOT_MAX_DOCUMENT_BYTES", 512L << 20, 1, 1L << 40),
        r.path("QUEUEPILOT_TEMP_DIR", System.getProperty("java.io.tmpdir")),
        r.intIn("QUEUEPILOT_MAX_TEXT_CHARS", 200_000, 100, 50_000_000),
        r.intIn("QUEUEPILOT_MAX_EVENTS", 500, 1, 100_000),
        r.seconds("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "5", false),
        r.seconds("QUEUEPILOT_MAX_RUNTIME_SECONDS", "600", false),
        r.seconds("QUEUEPILOT_GRACE_PERIOD_SECONDS", "25", true),
        r.seconds("QUEUEPILOT_POLL_INTERVAL_SECONDS", "5", false),
        r.seconds("QUEUEPILOT_STALE_REQUEUE_INTERVAL_SECONDS", "0", true),
        r.seconds("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS", "" + QueueDefaults.HEARTBEAT_TIMEOUT_SECONDS, false),
        r.longIn("QUEUEPILOT_HEAP_PER_JOB_MB", 64, 1, 1 << 20) << 20,
        r.doubleIn("QUEUEPILOT_HEAP_FRACTION", 0.6, 0.05, 0.95),
        r.string("QUEUEPILOT_TOKEN_BUDGET", "openai"),
        r.longIn("QUEUEPILOT_TOKENS_PER_MINUTE", 0, 0, Long.MAX_VALUE / 4),
        r.intIn("QUEUEPILOT_REQUESTS_PER_MINUTE", 0, 0, Integer.MAX_VALUE / 4),
        r.intIn("QUEUEPILOT_BUDGET_WINDOW_SECONDS", 60, 1, 3600),
        r.seconds("QUEUEPILOT_RATE_LIMIT_DEFAULT_DELAY_SECONDS", "10", false))
        .checked();
  }

  private WorkerConfig checked() {
    if (quotaBlock.compareTo(Duration.ofHours(1)) > 0) {
      throw new ConfigException("QUEUEPILOT_QUOTA_BLOCK_SECONDS", "must be at most 3600 (the shared budget's longest block)");
    }
    if (heartbeatInterval.compareTo(heartbeatTimeout) >= 0) {
      throw new ConfigException(
          "QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS",
          "must be shorter than QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS (" + heartbeatTimeout.toMillis() / 1000.0 + ")");
    }
    return this;
  }

  private static String workerId(Reader r) {
    Optional<String> explicit = r.optional("QUEUEPILOT_WORKER_ID");
    if (explicit.isPresent()) {
      return r.workerIdValue("QUEUEPILOT_WORKER_ID", explicit.get());
    }
    for (String key : List.of("POD_NAME", "RENDER_INSTANCE_ID")) {
      Optional<String> v = r.optional(key);
      if (v.isPresent()) {
        return r.workerIdValue(key, v.get());
      }
    }
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = r.optional("HOSTNAME").orElse("worker");
    }
    return host + "-" + ProcessHandle.current().pid();
  }

  /** A configuration error naming the key. */
  public static final class ConfigException extends IllegalArgumentException {
    private final String key;

    public ConfigException(String key, String problem) {
      super(key + " " + problem);
      this.key = key;
    }

    public String key() {
      return key;
    }
  }

  /** Parses values of one environment map; each method names its key in errors. */
  private static final class Reader {
    private final Map<String, String> env;

    Reader(Map<String, String> env) {
      this.env = env;
    }

    Optional<String> optional(String key) {
      String v = env.get(key);
      return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
    }

    String required(String key) {
      return optional(key).orElseThrow(() -> new ConfigException(key, "is required but not set"));
    }

    String string(String key, String def) {
      return optional(key).orElse(def);
    }

    boolean bool(String key, boolean def) {
      Optional<String> v = optional(key);
      if (v.isEmpty()) {
        return def;
      }
      return switch (v.get().toLowerCase(Locale.ROOT)) {
        case "true", "1", "yes" -> true;
        case "false", "0", "no" -> false;
        default -> throw new ConfigException(key, "must be true or false, got '" + v.get() + "'");
      };
    }

    long longIn(String key, long def, long min, long max) {
      Optional<String> v = optional(key);
      long value;
      try {
        value = v.isEmpty() ? def : Long.parseLong(v.get());
      } catch (NumberFormatException e) {
        throw new ConfigException(key, "must be an integer, got '" + v.get() + "'");
      }
      if (value < min || value > max) {
        throw new ConfigException(key, "must be between " + min + " and " + max + ", got " + value);
      }
      return value;
    }

    int intIn(String key, int def, int min, int max) {
      return (int) longIn(key, def, min, max);
    }

    double doubleIn(String key, double def, double min, double max) {
      Optional<String> v = optional(key);
      double value;
      try {
        value = v.isEmpty() ? def : Double.parseDouble(v.get());
      } catch (NumberFormatException e) {
        throw new ConfigException(key, "must be a number, got '" + v.get() + "'");
      }
      if (!(value >= min && value <= max)) {
        throw new ConfigException(key, "must be between " + min + " and " + max + ", got " + value);
      }
      return value;
    }

    Duration seconds(String key, String def, boolean zeroAllowed) {
      String raw = string(key, def);
      double s;
      try {
        s = Double.parseDouble(raw);
      } catch (NumberFormatException e) {
        throw new ConfigException(key, "must be a number of seconds, got '" + raw + "'");
      }
      if (!(s >= 0) || (!zeroAllowed && s == 0) || s > 7 * 24 * 3600) {
        throw new ConfigException(key, "must be " + (zeroAllowed ? ">= 0" : "> 0") + " seconds (at most a week), got '" + raw + "'");
      }
      return Duration.ofMillis(Math.round(s * 1000));
    }

    <E extends Enum<E>> E oneOf(String key, E def, Class<E> type) {
      Optional<String> v = optional(key);
      if (v.isEmpty()) {
        return def;
      }
      try {
        return Enum.valueOf(type, v.get().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        List<String> allowed = new ArrayList<>();
        for (E c : type.getEnumConstants()) {
          allowed.add(c.name().toLowerCase(Locale.ROOT));
        }
        throw new ConfigException(key, "must be one of " + allowed + ", got '" + v.get() + "'");
      }
    }

    List<String> names(String key, List<String> def, boolean emptyAllowed) {
      Optional<String> v = optional(key);
      if (v.isEmpty()) {
        return def;
      }
      List<String> out =
          Arrays.stream(v.get().split(",")).map(String::trim).filter(s -> !s.isEmpty()).distinct().toList();
      if (out.isEmpty() && !emptyAllowed) {
        throw new ConfigException(key, "must name at least one value");
      }
      for (String s : out) {
        if (!JOB_NAME.matcher(s).matches()) {
          throw new ConfigException(key, "has an invalid name '" + s + "' (lower-case letters, digits, _)");
        }
      }
      return out;
    }

    Path path(String key, String def) {
      try {
        return Path.of(string(key, def)).toAbsolutePath().normalize();
      } catch (RuntimeException e) {
        throw new ConfigException(key, "is not a valid path: " + e.getMessage());
      }
    }

    String httpUrl(String key, String value) {
      try {
        URI u = URI.create(value);
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
          throw new ConfigException(key, "must be an http(s) URL, got '" + value + "'");
        }
      } catch (IllegalArgumentException e) {
        if (e instanceof ConfigException ce) {
          throw ce;
        }
        throw new ConfigException(key, "is not a valid URL: '" + value + "'");
      }
      return value.endsWith("/") ? value.substring(0, value.length() - 1) : value;
    }

    /** A literal IP address (v4 or v6) to bind to; host names are refused (no DNS at start-up). */
    String bindAddress(String key, String def) {
      String v = string(key, def);
      if (!v.matches("[0-9.]+|[0-9a-fA-F:]+")) {
        throw new ConfigException(key, "must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got '" + v + "'");
      }
      try {
        InetAddress.getByName(v);
      } catch (UnknownHostException e) {
        throw new ConfigException(key, "is not a valid IP address: '" + v + "'");
      }
      return v;
    }

    String workerIdValue(String key, String value) {
      if (TEMPLATE.matcher(value).find()) {
        throw new ConfigException(key, "looks like an unexpanded template ('" + value + "'); set it from the downward API / platform");
      }
      if (value.length() > 200) {
        throw new ConfigException(key, "is longer than 200 characters");
      }
      return value;
    }
  }
}
