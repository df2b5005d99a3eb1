package io.queuepilot.controller.db;

/** The database a scaler names cannot be used (Secret missing, key missing, pool not startable). */
public class DatabaseConfigException extends Exception {
  public DatabaseConfigException(String message) {
    super(message);
  }

  public DatabaseConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
