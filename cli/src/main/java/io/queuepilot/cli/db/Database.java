package io.queuepilot.cli.db;

import io.queuepilot.cli.CliConfig.DbSettings;
import io.queuepilot.cli.CliException;
import io.queuepilot.cli.ExitCode;
import io.queuepilot.queue.sql.ConnectionSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Opens connections for one CLI command from {@link DbSettings} and turns connection failures
 * into {@link ExitCode#DATABASE_UNREACHABLE} with a message naming the URL (never the password).
 */
public final class Database extends ConnectionSource {

  private final DbSettings settings;

  public Database(DbSettings settings) {
    this.settings = settings.validated();
  }

  public DbSettings settings() {
    return settings;
  }

  @Override
  public Connection getConnection() {
    Properties props = new Properties();
    if (settings.user() != null) {
      props.setProperty("user", settings.user());
    }
    if (settings.password() != null) {
      props.setProperty("password", settings.password());
    }
    props.setProperty("connectTimeout", Integer.toString(settings.connectTimeoutSeconds()));
    props.setProperty("loginTimeout", Integer.toString(settings.connectTimeoutSeconds()));
    props.setProperty("ApplicationName", "queuepilot-cli");
    // Never named server-side statements: a CLI command runs a few statements, and the URL may
    // be a transaction pooler on any port, where they would land on another client's backend.
    props.setProperty("prepareThreshold", "0");
    try {
      return DriverManager.getConnection(settings.url(), props);
    } catch (SQLException e) {
      throw unreachable(e);
    }
  }

  /** Whether {@code e} means the server cannot be reached or refused us (not a query error). */
  public static boolean isConnectionFailure(SQLException e) {
    String state = e.getSQLState();
    return state != null
        && (state.startsWith("08") // connection exception
            || state.startsWith("28") // invalid authorization
            || state.equals("3D000") // database does not exist
            || state.equals("57P03")); // cannot connect now (starting up)
  }

  /** The first line of the failure, naming the host when it does not resolve. */
  public static String why(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.UnknownHostException u) {
        return "unknown host '" + u.getMessage().split(":")[0].trim() + "' (the name does not resolve)";
      }
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
  }

  private CliException unreachable(SQLException e) {
    String why = why(e);
    String what = e.getSQLState() != null && e.getSQLState().startsWith("28")
        ? "database refused the login"
        : "database unreachable";
    return new CliException(
        ExitCode.DATABASE_UNREACHABLE,
        what + " at " + settings.redactedUrl()
            + (settings.user() != null ? " as " + settings.user() : "") + ": " + why,
        e);
  }

  /** Maps an SQL failure while running a command: connection problems to exit code 3, the rest to 4. */
  public CliException failure(String doing, SQLException e) {
    if (isConnectionFailure(e)) {
      return unreachable(e);
    }
    return new CliException(ExitCode.FAILURE, doing + " failed: " + e.getMessage(), e);
  }

  @Override
  public int getLoginTimeout() {
    return settings.connectTimeoutSeconds();
  }
}
