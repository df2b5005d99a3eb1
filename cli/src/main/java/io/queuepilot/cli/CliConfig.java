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
    QUEUEPILOT_DB_URL(null, "JDBC URL of the queue database (jdbc:postgresql://host:port/db); --db-url overrides"),
    QUEUEPILOT_DB_USER(null, "database user (service role or the owner for migrate); --db-user overrides"),
    QUEUEPILOT_DB_PASSWORD(null, "database password; --db-password overrides"),
    QUEUEPILOT_DB_PREPARED_STATEMENTS("true", "false behind a transaction pooler (Supabase port 6543)"),
    QUEUEPILOT_DB_CONNECT_TIMEOUT_SECONDS("5", "seconds to wait for the database before exiting with code 3"),
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

  /** The database settings, options first, then the environment. */
  public DbSettings database(String urlOption, String userOption, String passwordOption) {
    return new DbSettings(
        first(urlOption, values.get(Key.QUEUEPILOT_DB_URL)),
        first(userOption, values.get(Key.QUEUEPILOT_DB_USER)),
        first(passwordOption, values.get(Key.QUEUEPILOT_DB_PASSWORD)),
        preparedStatements(),
        connectTimeoutSeconds());
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
        throw CliException.usage("no database given: pass --db-url or set " + Key.QUEUEPILOT_DB_URL);
      }
      if (!url.startsWith("jdbc:postgresql:")) {
        throw CliException.usage(
            "--db-url / " + Key.QUEUEPILOT_DB_URL + " must be a JDBC URL starting with jdbc:postgresql:, was '"
                + url + "'");
      }
      return this;
    }

    /** The URL without credentials, for messages. */
    public String redactedUrl() {
      return url == null ? "(none)" : url.replaceAll("password=[^&]*", "password=***");
    }
  }
}
