package io.queuepilot.controller;

import io.queuepilot.queue.QueueConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The controller process's one configuration: read once from the environment at start-up,
 * validated; each key declares its name, default and description once ({@link Key}). Fails
 * fast naming the bad key. The only place the controller reads environment variables.
 */
public record ControllerConfig(
    Mode mode,
    Path renderConfig,
    String renderApiKey,
    URI renderApiUrl,
    String podNamespace,
    String podName,
    List<String> watchNamespaces,
    boolean leaderElection,
    String httpBindAddress,
    int httpPort,
    String logFormat,
    QueueConfig database) {

  public enum Mode { KUBERNETES, RENDER }

  /**
   * One configuration key: its name, its default (null: none, or one computed from other keys,
   * which {@code defaultNote} then describes) and what it means, declared once; the parsing in
   * {@link #from} reads values only through {@link #read}.
   */
  public record Key(String name, String defaultValue, String defaultNote, String meaning) {
    /** The value of this key in {@code env}, trimmed, or the default when unset or blank. */
    public String read(Map<String, String> env) {
      String v = blankToNull(env.get(name));
      return v == null ? defaultValue : v.trim();
    }

    /** The one-line description shown in docs and start-up errors, ending with the default. */
    public String description() {
      String d = defaultValue != null ? defaultValue : defaultNote;
      return d == null ? meaning : meaning + "; default " + d;
    }

    IllegalArgumentException bad(String why) {
      return new IllegalArgumentException(name + ": " + why);
    }
  }

  public static final String DEFAULT_RENDER_API_URL = "https://api.render.com";
  public static final int DEFAULT_HTTP_PORT = 8081;
  public static final String DEFAULT_HTTP_BIND_ADDRESS = "0.0.0.0";

  public static final Key MODE_KEY = new Key("QUEUEPILOT_CONTROLLER_MODE", "kubernetes", null,
      "kubernetes (reconcile QueueScaler resources) | render (standalone, one Render service)");
  public static final Key RENDER_CONFIG_KEY = new Key("QUEUEPILOT_RENDER_CONFIG", null, null,
      "render mode: path of the YAML file with a QueueScaler spec (required in render mode)");
  public static final Key RENDER_API_KEY_KEY = new Key("RENDER_API_KEY", null, null,
      "render mode: Render API key, sent as Bearer token (required in render mode)");
  public static final Key RENDER_API_URL_KEY = new Key("RENDER_API_URL", DEFAULT_RENDER_API_URL, null,
      "Render API base URL");
  public static final Key POD_NAMESPACE_KEY = new Key("POD_NAMESPACE", null, null,
      "kubernetes mode: namespace of the leader-election Lease and default watched namespace");
  public static final Key POD_NAME_KEY = new Key("POD_NAME", null, "the host name",
      "kubernetes mode: leader-election identity");
  public static final Key WATCH_NAMESPACES_KEY = new Key("QUEUEPILOT_WATCH_NAMESPACES", null,
      "POD_NAMESPACE, or all when unset", "kubernetes mode: comma-separated namespaces to watch");
  public static final Key LEADER_ELECTION_KEY = new Key("QUEUEPILOT_LEADER_ELECTION", "true", null,
      "kubernetes mode: true|false, elect one active replica with a Lease (only the leader scales and rescues stale jobs)");
  public static final Key HTTP_PORT_KEY = new Key("QUEUEPILOT_HTTP_PORT", String.valueOf(DEFAULT_HTTP_PORT), null,
      "port of /healthz, /readyz and /metrics");
  public static final Key HTTP_BIND_ADDRESS_KEY = new Key("QUEUEPILOT_HTTP_BIND_ADDRESS", DEFAULT_HTTP_BIND_ADDRESS, null,
      "IP address the /healthz, /readyz and /metrics server binds to (127.0.0.1 = this host only)");
  public static final Key LOG_FORMAT_KEY = new Key("QUEUEPILOT_LOG_FORMAT", "text", null, "text | json");

  /** Every key of the controller itself, in documentation order. */
  public static final List<Key> OWN_KEYS = List.of(MODE_KEY, RENDER_CONFIG_KEY, RENDER_API_KEY_KEY, RENDER_API_URL_KEY,
      POD_NAMESPACE_KEY, POD_NAME_KEY, WATCH_NAMESPACES_KEY, LEADER_ELECTION_KEY, HTTP_PORT_KEY, HTTP_BIND_ADDRESS_KEY,
      LOG_FORMAT_KEY);

  public static final String MODE = MODE_KEY.name();
  public static final String RENDER_CONFIG = RENDER_CONFIG_KEY.name();
  public static final String RENDER_API_KEY = RENDER_API_KEY_KEY.name();
  public static final String RENDER_API_URL = RENDER_API_URL_KEY.name();
  public static final String POD_NAMESPACE = POD_NAMESPACE_KEY.name();
  public static final String POD_NAME = POD_NAME_KEY.name();
  public static final String WATCH_NAMESPACES = WATCH_NAMESPACES_KEY.name();
  public static final String LEADER_ELECTION = LEADER_ELECTION_KEY.name();
  public static final String HTTP_PORT = HTTP_PORT_KEY.name();
  public static final String HTTP_BIND_ADDRESS = HTTP_BIND_ADDRESS_KEY.name();
  public static final String LOG_FORMAT = LOG_FORMAT_KEY.name();

  /** Every key with its one-line description (docs/controller.md and start-up errors). */
  public static final Map<String, String> KEYS = keys();

  private static Map<String, String> keys() {
    Map<String, String> k = new LinkedHashMap<>();
    OWN_KEYS.forEach(key -> k.put(key.name(), key.description()));
    QueueConfig.KEYS.forEach((key, d) -> k.put(key, "render mode: " + d));
    return Collections.unmodifiableMap(k);
  }

  /** Reads and validates the configuration from {@code env} (System.getenv() in production). */
  public static ControllerConfig from(Map<String, String> env) {
    Mode mode = switch (MODE_KEY.read(env).toLowerCase(java.util.Locale.ROOT)) {
      case "kubernetes" -> Mode.KUBERNETES;
      case "render" -> Mode.RENDER;
      default -> throw MODE_KEY.bad("must be kubernetes or render, got '" + env.get(MODE) + "'");
    };
    URI renderUrl;
    try {
      renderUrl = URI.create(RENDER_API_URL_KEY.read(env));
      if (renderUrl.getScheme() == null || !renderUrl.getScheme().startsWith("http")) throw new IllegalArgumentException("not http(s)");
    } catch (IllegalArgumentException e) {
      throw RENDER_API_URL_KEY.bad("must be an http(s) URL, got '" + env.get(RENDER_API_URL) + "'");
    }
    int port;
    try {
      port = Integer.parseInt(HTTP_PORT_KEY.read(env));
      if (port < 0 || port > 65535) throw new NumberFormatException();
    } catch (NumberFormatException e) {
      throw HTTP_PORT_KEY.bad("must be a port number 0..65535, got '" + env.get(HTTP_PORT) + "'");
    }
    String bindAddress = HTTP_BIND_ADDRESS_KEY.read(env);
    if (!bindAddress.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      throw HTTP_BIND_ADDRESS_KEY.bad("must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got '" + bindAddress + "'");
    }
    try {
      java.net.InetAddress.getByName(bindAddress);
    } catch (java.net.UnknownHostException e) {
      throw HTTP_BIND_ADDRESS_KEY.bad("is not a valid IP address: '" + bindAddress + "'");
    }
    String leader = LEADER_ELECTION_KEY.read(env).toLowerCase(java.util.Locale.ROOT);
    if (!leader.equals("true") && !leader.equals("false")) throw LEADER_ELECTION_KEY.bad("must be true or false, got '" + leader + "'");
    String logFormat = LOG_FORMAT_KEY.read(env).toLowerCase(java.util.Locale.ROOT);
    if (!logFormat.equals("text") && !logFormat.equals("json")) throw LOG_FORMAT_KEY.bad("must be text or json, got '" + logFormat + "'");
    String podNamespace = POD_NAMESPACE_KEY.read(env);
    String podName = Optional.ofNullable(POD_NAME_KEY.read(env)).orElseGet(ControllerConfig::hostName);
    String watchList = WATCH_NAMESPACES_KEY.read(env);
    List<String> watch = watchList != null
        ? Arrays.stream(watchList.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()
        : podNamespace != null ? List.of(podNamespace) : List.of();

    Path renderConfig = null;
    String renderKey = null;
    QueueConfig db = null;
    if (mode == Mode.RENDER) {
      String path = RENDER_CONFIG_KEY.read(env);
      if (path == null) throw RENDER_CONFIG_KEY.bad("is required in render mode");
      renderConfig = Path.of(path);
      if (!Files.isReadable(renderConfig)) throw RENDER_CONFIG_KEY.bad("file " + path + " is not readable");
      renderKey = RENDER_API_KEY_KEY.read(env);
      if (renderKey == null) throw RENDER_API_KEY_KEY.bad("is required in render mode");
      try {
        db = QueueConfig.from(env);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("render mode database: " + e.getMessage(), e);
      }
    } else if (leader.equals("true") && podNamespace == null) {
      throw POD_NAMESPACE_KEY.bad("is required when " + LEADER_ELECTION + "=true (the Lease lives there); "
          + "set it or set " + LEADER_ELECTION + "=false");
    }
    return new ControllerConfig(mode, renderConfig, renderKey, renderUrl, podNamespace, podName, watch,
        leader.equals("true"), bindAddress, port, logFormat, db);
  }

  @Override
  public String toString() {
    return "ControllerConfig[mode=" + mode + ", renderConfig=" + renderConfig + ", renderApiKey="
        + (renderApiKey == null ? "null" : "***") + ", renderApiUrl=" + renderApiUrl + ", podNamespace=" + podNamespace
        + ", podName=" + podName + ", watchNamespaces=" + (watchNamespaces.isEmpty() ? "all" : watchNamespaces)
        + ", leaderElection=" + leaderElection + ", httpBindAddress=" + httpBindAddress + ", httpPort=" + httpPort + ", logFormat=" + logFormat
        + ", database=" + database + "]";
  }

  private static String blankToNull(String v) {
    return v == null || v.isBlank() ? null : v;
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "queuepilot-controller-" + ProcessHandle.current().pid();
    }
  }
}
