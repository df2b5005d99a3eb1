package io.queuepilot.controller.db;

import java.util.Objects;

/**
 * Where and as whom the controller reaches one queue database; {@code listenUrl} is an optional
 * direct (non-pooler) URL for LISTEN. The password never appears in {@link #toString()}.
 */
public record DatabaseCredentials(String url, String username, String password, String listenUrl) {

  public DatabaseCredentials {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(username, "username");
    Objects.requireNonNull(password, "password");
  }

  /** The URL to LISTEN on: the direct one when given, else the main one. */
  public String listenJdbcUrl() {
    return listenUrl == null || listenUrl.isBlank() ? url : listenUrl;
  }

  @Override
  public String toString() {
    return username + "@" + url;
  }
}
