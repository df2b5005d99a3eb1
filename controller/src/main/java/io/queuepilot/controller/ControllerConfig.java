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

/**
 * The controller process's one configuration: read once from the environment at start-up,
 * validated, with named defaults and a one-line description per key. Fails fast naming the
 * bad key. The only place the controller reads environment variables.
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

  public static final String MODE = "QUEUEPILOT_CONTROLLER_MODE";
  public static final String RENDER_CONFIG = "QUEUEPILOT_RENDER_CONFIG";
  public static final String RENDER_API_KEY = "RENDER_API_KEY";
  public static final String RENDER_API_URL = "RENDER_API_URL";
  public static final String POD_NAMESPACE = "POD_NAMESPACE";
  public static final String POD_NAME = "POD_NAME";
  public static final String WATCH_NAMESPACES = "QUEUEPILOT_WATCH_NAMESPACES";
  public static final String LEADER_ELECTION = "QUEUEPILOT_LEADER_ELECTION";
  public static final String HTTP_PORT = "QUEUEPILOT_HTTP_PORT";
  public static final String HTTP_BIND_ADDRESS = "QUEUEPILOT_HTTP_BIND_ADDRESS";
  public static final String LOG_FORMAT = "QUEUEPILOT_LOG_FORMAT";

  public static final String DEFAULT_RENDER_API_URL = "https://api.render.com";
  public static final int DEFAULT_HTTP_PORT = 8081;
  public static final String DEFAULT_HTTP_BIND_ADDRESS = "0.0.0.0";

  /** Every key with its one-line description (docs/controller.md and start-up errors). */
  public static final Map<String, String> KEYS = keys();

  private static Map<String, String> keys() {
    Map<String, String> k = new LinkedHashMap<>();
    k.put(MODE, "kubernetes (reconcile QueueScaler resources) | render (standalone, one Render service); default kubernetes");
    k.put(RENDER_CONFIG, "render mode: path of the YAML file with a QueueScaler spec (required in render mode)");
    k.put(RENDER_API_KEY, "render mode: Render API key, sent as Bearer token (required in render mode)");
    k.put(RENDER_API_URL, "Render API base URL; default " + DEFAULT_RENDER_API_URL);
    k.put(POD_NAMESPACE, "kubernetes mode: namespace of the leader-election Lease and default watched namespace");
    k.put(POD_NAME, "kubernetes mode: leader-election identity; default the host name");
    k.put(WATCH_NAMESPACES, "kubernetes mode: comma-separated namespaces to watch; default POD_NAMESPACE, or all when unset");
    k.put(LEADER_ELECTION, "kubernetes mode: true|false, elect one active replica with a Lease; default true");
    k.put(HTTP_PORT, "port of /healthz, /readyz and /metrics; default " + DEFAULT_HTTP_PORT);
    k.put(HTTP_BIND_ADDRESS, "IP address the /healthz, /readyz and /metrics server binds to (127.0.0.1 = this host only);"
        + " default " + DEFAULT_HTTP_BIND_ADDRESS);
    k.put(LOG_FORMAT, "text | json; default text");
    QueueConfig.KEYS.forEach((key, d) -> k.put(key, "render mode: " + d));
    return Collections.unmodifiableMap(k);
  }

  /** Reads and validates the configuration from {@code env} (System.getenv() in production). */
  public static ControllerConfig from(Map<String, String> env) {
    Mode mode = switch (opt(env, MODE, "kubernetes").toLowerCase(java.util.Locale.ROOT)) {
      case "kubernetes" -> Mode.KUBERNETES;
      case "render" -> Mode.RENDER;
      default -> throw bad(MODE, "must be kubernetes or render, got '" + env.get(MODE) + "'");
    };
    URI renderUrl;
    try {
      renderUrl = URI.create(opt(env, RENDER_API_URL, DEFAULT_RENDER_API_URL));
      if (renderUrl.getScheme() == null || !renderUrl.getScheme().startsWith("http")) throw new IllegalArgumentException("not http(s)");
    } catch (IllegalArgumentException e) {
      throw bad(RENDER_API_URL, "must be an http(s) URL, got '" + env.get(RENDER_API_URL) + "'");
    }
    int port;
    try {
      port = Integer.parseInt(opt(env, HTTP_PORT, String.valueOf(DEFAULT_HTTP_PORT)));
      if (port < 0 || port > 65535) throw new NumberFormatException();
    } catch (NumberFormatException e) {
      throw bad(HTTP_PORT, "must be a port number 0..65535, got '" + env.get(HTTP_PORT) + "'");
    }
    String bindAddress = opt(env, HTTP_BIND_ADDRESS, DEFAULT_HTTP_BIND_ADDRESS);
    if (!bindAddress.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      throw bad(HTTP_BIND_ADDRESS, "must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got '" + bindAddress + "'");
    }
    try {
      java.net.InetAddress.getByName(bindAddress);
    } catch (java.net.UnknownHostException e) {
      throw bad(HTTP_BIND_ADDRESS, "is not a valid IP address: '" + bindAddress + "'");
    }
    String leader = opt(env, LEADER_ELECTION, "true").toLowerCase(java.util.Locale.ROOT);
    if (!leader.equals("true") && !leader.equals("false")) throw bad(LEADER_ELECTION, "must be true or false, got '" + leader + "'");
    String logFormat = opt(env, LOG_FORMAT, "text").toLowerCase(java.util.Locale.ROOT);
    if (!logFormat.equals("text") && !logFormat.equals("json")) throw bad(LOG_FORMAT, "must be text or json, got '" + logFormat + "'");
    String podNamespace = blankToNull(env.get(POD_NAMESPACE));
    String podName = opt(env, POD_NAME, hostName());
    List<String> watch = blankToNull(env.get(WATCH_NAMESPACES)) != null
        ? Arrays.stream(env.get(WATCH_NAMESPACES).split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()
        : podNamespace != null ? List.of(podNamespace) : List.of();

    Path renderConfig = null;
    String renderKey = null;
    QueueConfig db = null;
    if (mode == Mode.RENDER) {
      String path = blankToNull(env.get(RENDER_CONFIG));
      if (path == null) throw bad(RENDER_CONFIG, "is required in render mode");
      renderConfig = Path.of(path);
      if (!Files.isReadable(renderConfig)) throw bad(RENDER_CONFIG, "file " + path + " is not readable");
      renderKey = blankToNull(env.get(RENDER_API_KEY));
      if (renderKey == null) throw bad(RENDER_API_KEY, "is required in render mode");
      try {
        db = QueueConfig.from(env);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("render mode database: " + e.getMessage(), e);
      }
    } else if (leader.equals("true") && podNamespace == null) {
      throw bad(POD_NAMESPACE, "is required when " + LEADER_ELECTION + "=true (the Lease lives there); "
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

  private static String opt(Map<String, String> env, String key, String def) {
    String v = blankToNull(env.get(key));
    return v == null ? def : v.trim();
  }

  private static String blankToNull(String v) {
    return v == null || v.isBlank() ? null : v;
  }

  private static IllegalArgumentException bad(String key, String why) {
    return new IllegalArgumentException(key + ": " + why);
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "queuepilot-controller-" + ProcessHandle.current().pid();
    }
  }
}
