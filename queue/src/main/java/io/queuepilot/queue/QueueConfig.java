package io.queuepilot.queue;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Typed, validated database settings of a QueuePilot process (worker or controller), read once
 * at start-up from the environment map the process's own configuration class passes in.
 *
 * <p>Keys (a one-line description each in {@link #KEYS}); a bad value fails fast with an
 * {@link IllegalArgumentException} naming the key.
 *
 * @param url JDBC URL of the database (direct connection or Supabase's pooler)
 * @param user database user, or null when the URL carries it
 * @param password database password, or null when the URL carries it
 * @param poolSize maximum connections in the HikariCP pool
 * @param preparedStatements false disables server-side prepared statements ({@code
 *     prepareThreshold=0}) for transaction poolers (Supabase port 6543, PgBouncer transaction mode)
 * @param listenUrl explicit direct-connection JDBC URL for LISTEN, or null
 * @param transactionPooler whether the main URL goes through a transaction pooler: {@code AUTO}
 *     until {@link QueueDataSources#resolvePooler} has probed it, then {@code YES} or {@code NO}
 */
public record QueueConfig(
    String url,
    String user,
    String password,
    int poolSize,
    boolean preparedStatements,
    String listenUrl,
    TransactionPooler transactionPooler) {

  /** Whether a transaction pooler sits between this process and PostgreSQL. */
  public enum TransactionPooler {
    /** Probe at start-up ({@link TransactionPoolerProbe}), on any port. */
    AUTO,
    /** A transaction pooler: no server-side prepared statements, no LISTEN on the main URL. */
    YES,
    /** A direct connection or a session pooler: never probe. */
    NO
  }

  public static final String DB_URL = "QUEUEPILOT_DB_URL";
  public static final String DB_USER = "QUEUEPILOT_DB_USER";
  public static final String DB_PASSWORD = "QUEUEPILOT_DB_PASSWORD";
  public static final String DB_POOL_SIZE = "QUEUEPILOT_DB_POOL_SIZE";
  public static final String DB_PREPARED_STATEMENTS = "QUEUEPILOT_DB_PREPARED_STATEMENTS";
  public static final String DB_LISTEN_URL = "QUEUEPILOT_DB_LISTEN_URL";
  public static final String DB_TRANSACTION_POOLER = "QUEUEPILOT_DB_TRANSACTION_POOLER";

  public static final int DEFAULT_POOL_SIZE = 10;
  public static final boolean DEFAULT_PREPARED_STATEMENTS = true;
  /** The port of Supabase's transaction-mode pooler (Supavisor); LISTEN does not work through it. */
  public static final int SUPABASE_TRANSACTION_POOLER_PORT = 6543;

  /** Every key with its one-line description (for docs and --help output). */
  public static final Map<String, String> KEYS = keys();

  private static Map<String, String> keys() {
    Map<String, String> k = new LinkedHashMap<>();
    k.put(DB_URL, "JDBC URL of the database, jdbc:postgresql://host:port/db (required)");
    k.put(DB_USER, "database user (a LOGIN member of queue_worker or queue_controller); optional if in the URL");
    k.put(DB_PASSWORD, "database password; optional if in the URL");
    k.put(DB_POOL_SIZE, "maximum pooled connections, 1..200 (default " + DEFAULT_POOL_SIZE + ")");
    k.put(DB_PREPARED_STATEMENTS,
        "true|false (default true); false behind a transaction pooler such as Supabase port 6543");
    k.put(DB_LISTEN_URL,
        "JDBC URL of a direct (non-pooled) connection for LISTEN; when unset the main URL is used"
            + " unless it is a transaction pooler, in which case workers only poll");
    k.put(DB_TRANSACTION_POOLER,
        "auto|true|false (default auto: probed at start-up on any port); true = the main URL is a transaction"
            + " pooler (no prepared statements, no LISTEN on it), false = direct or session pooler, never probed");
    return java.util.Collections.unmodifiableMap(k);
  }

  /** Settings whose pooler is still to be probed ({@link TransactionPooler#AUTO}). */
  public QueueConfig(String url, String user, String password, int poolSize, boolean preparedStatements,
      String listenUrl) {
    this(url, user, password, poolSize, preparedStatements, listenUrl, TransactionPooler.AUTO);
  }

  public QueueConfig {
    java.util.Objects.requireNonNull(transactionPooler, "transactionPooler");
    url = requireJdbcUrl(DB_URL, url);
    if (listenUrl != null) {
      listenUrl = requireJdbcUrl(DB_LISTEN_URL, listenUrl);
    }
    if (poolSize < 1 || poolSize > 200) {
      throw new IllegalArgumentException(DB_POOL_SIZE + ": must be between 1 and 200, got " + poolSize);
    }
  }

  /** Reads the keys from {@code env} (normally the process environment, passed in by its config class). */
  public static QueueConfig from(Map<String, String> env) {
    return new QueueConfig(
        required(env, DB_URL),
        optional(env, DB_USER),
        optional(env, DB_PASSWORD),
        parseInt(env, DB_POOL_SIZE, DEFAULT_POOL_SIZE),
        parseBoolean(env, DB_PREPARED_STATEMENTS, DEFAULT_PREPARED_STATEMENTS),
        optional(env, DB_LISTEN_URL),
        parsePooler(env));
  }

  /** The same settings with the pooler question answered ({@code YES} or {@code NO}). */
  public QueueConfig withTransactionPooler(TransactionPooler answer) {
    return new QueueConfig(url, user, password, poolSize, preparedStatements, listenUrl, answer);
  }

  /** The same settings with another pool size. */
  public QueueConfig withPoolSize(int size) {
    return new QueueConfig(url, user, password, size, preparedStatements, listenUrl, transactionPooler);
  }

  /**
   * Whether the driver may create named server-side prepared statements: not when they are
   * switched off, and never through a transaction pooler (the next transaction may run on a
   * backend that lacks them: {@code prepared statement "S_1" does not exist}).
   */
  public boolean serverPreparedStatements() {
    return preparedStatements && !mainUrlIsTransactionPooler();
  }

  /**
   * Whether the main URL goes through a transaction pooler: configured or probed so, prepared
   * statements are switched off (the switch exists for exactly that case), or the port is
   * Supabase's transaction pooler port.
   */
  public boolean mainUrlIsTransactionPooler() {
    return switch (transactionPooler) {
      case YES -> true;
      case NO -> false;
      case AUTO -> !preparedStatements || port(url) == SUPABASE_TRANSACTION_POOLER_PORT;
    };
  }

  /**
   * The URL to LISTEN on: the explicit listen URL, else the main URL when it is a direct
   * connection; empty when only a transaction pooler is configured (then: polling only).
   */
  public Optional<String> effectiveListenUrl() {
    if (listenUrl != null) {
      return Optional.of(listenUrl);
    }
    return mainUrlIsTransactionPooler() ? Optional.empty() : Optional.of(url);
  }

  @Override
  public String toString() {
    return "QueueConfig[url=" + url + ", user=" + user + ", password=" + (password == null ? "null" : "***")
        + ", poolSize=" + poolSize + ", preparedStatements=" + preparedStatements
        + ", listenUrl=" + listenUrl + ", transactionPooler=" + transactionPooler + "]";
  }

  private static String requireJdbcUrl(String key, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(key + ": required, e.g. jdbc:postgresql://localhost:5432/postgres");
    }
    if (!value.startsWith("jdbc:postgresql://")) {
      throw new IllegalArgumentException(key + ": must start with jdbc:postgresql://, got '" + redact(value) + "'");
    }
    port(value); // validates host:port
    return value;
  }

  private static int port(String jdbcUrl) {
    try {
      URI uri = new URI(jdbcUrl.substring("jdbc:".length()));
      if (uri.getHost() == null) {
        // multi-host URLs are not parsed by URI; treat them as direct connections on 5432
        return 5432;
      }
      return uri.getPort() == -1 ? 5432 : uri.getPort();
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a valid JDBC URL: '" + redact(jdbcUrl) + "': " + e.getReason(), e);
    }
  }

  private static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&]*", "$1***");
  }

  private static String required(Map<String, String> env, String key) {
    String v = optional(env, key);
    if (v == null) {
      throw new IllegalArgumentException(key + ": required, e.g. jdbc:postgresql://localhost:5432/postgres");
    }
    return v;
  }

  private static String optional(Map<String, String> env, String key) {
    String v = env.get(key);
    return v == null || v.isBlank() ? null : v.trim();
  }

  private static int parseInt(Map<String, String> env, String key, int dflt) {
    String v = optional(env, key);
    if (v == null) {
      return dflt;
    }
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": must be an integer, got '" + v + "'", e);
    }
  }

  private static TransactionPooler parsePooler(Map<String, String> env) {
    String v = optional(env, DB_TRANSACTION_POOLER);
    if (v == null) {
      return TransactionPooler.AUTO;
    }
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "auto" -> TransactionPooler.AUTO;
      case "true" -> TransactionPooler.YES;
      case "false" -> TransactionPooler.NO;
      default -> throw new IllegalArgumentException(DB_TRANSACTION_POOLER + ": must be auto, true or false, got '" + v + "'");
    };
  }

  private static boolean parseBoolean(Map<String, String> env, String key, boolean dflt) {
    String v = optional(env, key);
    if (v == null) {
      return dflt;
    }
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(key + ": must be true or false, got '" + v + "'");
    };
  }
}
