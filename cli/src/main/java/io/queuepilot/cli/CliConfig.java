package io.queuepilot.cli;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The CLI's one typed configuration: read once from the environment at start-up, overridden by
 * command-line options, validated before any command runs. Nothing else in the CLI reads the
 * environment.
 */
public final class CliConfig {

  /** Every environment key the CLI reads, with its default and a one-line description. */
  public enum Key {
    QUEUEPILOT_DB_URL(null, "queue database: JDBC URL (jdbc:postgresql://host:port/db) or libpq URI "
        + "(postgresql://user:password@host:port/db?sslmode=require); --db-url overrides"),
    QUEUEPILOT_DB_USER(null, "database user (service role or the owner for migrate); --db-user overrides"),
    QUEUEPILOT_DB_PASSWORD(null, "database password; --db-password overrides"),
    QUEUEPILOT_DB_PREPARED_STATEMENTS("true", "false behind a transaction pooler (Supabase port 6543)"),
    QUEUEPILOT_DB_CONNECT_TIMEOUT_SECONDS("5", "seconds to wait for the database before exiting with code 3"),
    PGHOST(null, "libpq: database host, used when no URL is given (with PGPORT, PGDATABASE, PGSSLMODE)"),
    PGPORT(null, "libpq: database port (default 5432)"),
    PGDATABASE(null, "libpq: database name (default: the user name)"),
    PGSSLMODE(null, "libpq: sslmode for a URL built from PGHOST"),
    PGUSER(null, "libpq: database user, when neither --db-user, the URL nor QUEUEPILOT_DB_USER names one"),
    PGPASSWORD(null, "libpq: database password, when neither --db-password, the URL nor QUEUEPILOT_DB_PASSWORD gives one"),
    OPENAI_API_KEY(null, "local mode: when set, in-process workers use the openai processor"),
    OPENAI_BASE_URL(null, "local mode: OpenAI-compatible endpoint for the openai processor"),
    QUEUEPILOT_OPENAI_MODEL(null, "local mode: model for the openai processor");

    private final String defaultValue;
    private final String description;

    Key(String defaultValue, String description) {
      this.defaultValue = defaultValue;
      this.description = description;
    }

    public String defaultValue() {
      return defaultValue;
    }

    public String description() {
      return description;
    }
  }

  private final Map<Key, String> values;

  private CliConfig(Map<Key, String> values) {
    this.values = values;
  }

  /** Reads every {@link Key} from {@code env} once; validates the typed ones, naming a bad key. */
  public static CliConfig fromEnvironment(Map<String, String> env) {
    Map<Key, String> values = new LinkedHashMap<>();
    for (Key key : Key.values()) {
      String raw = env.get(key.name());
      values.put(key, raw == null || raw.isBlank() ? key.defaultValue() : raw.trim());
    }
    CliConfig config = new CliConfig(values);
    config.preparedStatements();
    config.connectTimeoutSeconds();
    return config;
  }

  /**
   * The database settings. Precedence, for the URL, the user and the password each: the
   * options (--db-url, --db-user, --db-password), then the credentials inside the URL used, then
   * QUEUEPILOT_DB_*, then libpq's PG* variables (PGHOST/PGPORT/PGDATABASE/PGSSLMODE build a URL
   * only when no URL is given).
   */
  public DbSettings database(String urlOption, String userOption, String passwordOption) {
    String text = first(urlOption, values.get(Key.QUEUEPILOT_DB_URL));
    DatabaseUrl url = text == null ? null
        : DatabaseUrl.parse(text, urlOption != null && !urlOption.isBlank() ? "--db-url" : Key.QUEUEPILOT_DB_URL.name());
    String user = first(userOption, first(url == null ? null : url.user(),
        first(values.get(Key.QUEUEPILOT_DB_USER), values.get(Key.PGUSER))));
    String password = first(passwordOption, first(url == null ? null : url.password(),
        first(values.get(Key.QUEUEPILOT_DB_PASSWORD), values.get(Key.PGPASSWORD))));
    String jdbc = url != null ? url.jdbcUrl()
        : DatabaseUrl.fromLibpqEnvironment(values.get(Key.PGHOST), values.get(Key.PGPORT), values.get(Key.PGDATABASE),
            values.get(Key.PGSSLMODE), user);
    return new DbSettings(jdbc, user, password, preparedStatements(), connectTimeoutSeconds());
  }

  /** Whether QUEUEPILOT_DB_URL is set (PG* alone does not count: see {@link DbOptions#urlGiven()}). */
  public boolean queuepilotDbUrlSet() {
    return values.get(Key.QUEUEPILOT_DB_URL) != null;
  }

  public Optional<String> openAiApiKey() {
    return Optional.ofNullable(values.get(Key.OPENAI_API_KEY));
  }

  public Optional<String> openAiBaseUrl() {
    return Optional.ofNullable(values.get(Key.OPENAI_BASE_URL));
  }

  public Optional<String> openAiModel() {
    return Optional.ofNullable(values.get(Key.QUEUEPILOT_OPENAI_MODEL));
  }

  boolean preparedStatements() {
    String v = values.get(Key.QUEUEPILOT_DB_PREPARED_STATEMENTS).toLowerCase(Locale.ROOT);
    return switch (v) {
      case "true" -> true;
      case "false" -> false;
      default -> throw CliException.usage(
          Key.QUEUEPILOT_DB_PREPARED_STATEMENTS + " must be true or false, was '" + v + "'");
    };
  }

  int connectTimeoutSeconds() {
    String v = values.get(Key.QUEUEPILOT_DB_CONNECT_TIMEOUT_SECONDS);
    try {
      int seconds = Integer.parseInt(v);
      if (seconds < 1) {
        throw new NumberFormatException();
      }
      return seconds;
    } catch (NumberFormatException e) {
      throw CliException.usage(
          Key.QUEUEPILOT_DB_CONNECT_TIMEOUT_SECONDS + " must be a positive whole number of seconds, was '" + v + "'");
    }
  }

  private static String first(String option, String env) {
    return option != null && !option.isBlank() ? option : env;
  }

  /** How to reach the database; {@link #validated()} fails naming the missing or bad setting. */
  public record DbSettings(
      String url, String user, String password, boolean preparedStatements, int connectTimeoutSeconds) {

    public DbSettings validated() {
      if (url == null) {
        throw CliException.usage("no database given: pass --db-url or set " + Key.QUEUEPILOT_DB_URL
            + " (or libpq's PGHOST / PGDATABASE)");
      }
      DatabaseUrl.parse(url, "--db-url / " + Key.QUEUEPILOT_DB_URL);
      return this;
    }

    /** The URL without credentials, for messages. */
    public String redactedUrl() {
      return DatabaseUrl.redact(url);
    }

    @Override
    public String toString() {
      return "DbSettings[" + redactedUrl() + ", user=" + user + ", password=" + (password == null ? "none" : "***")
          + "]";
    }
  }
}
