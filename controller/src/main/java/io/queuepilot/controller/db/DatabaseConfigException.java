package io.queuepilot.controller.db;

/** The database a scaler names cannot be used (Secret missing or refused, key missing, pool not startable). */
public class DatabaseConfigException extends Exception {

  private final boolean forbidden;

  public DatabaseConfigException(String message) {
    this(message, null, false);
  }

  public DatabaseConfigException(String message, Throwable cause) {
    this(message, cause, false);
  }

  private DatabaseConfigException(String message, Throwable cause, boolean forbidden) {
    super(message, cause);
    this.forbidden = forbidden;
  }

  /** RBAC refused reading the Secret (HTTP 401/403): a permission problem, not a database one. */
  public static DatabaseConfigException forbidden(String message, Throwable cause) {
    return new DatabaseConfigException(message, cause, true);
  }

  public boolean isForbidden() {
    return forbidden;
  }
}
