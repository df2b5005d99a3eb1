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

  /**
   * Whether LISTEN can work: a listen URL is given, or the main URL is not Supabase's
   * transaction pooler (port 6543), through which a LISTEN would be lost. Without it: polling only.
   */
  public boolean canListen() {
    if (listenUrl != null && !listenUrl.isBlank()) return true;
    return !url.matches("jdbc:postgresql://[^/]*:6543(/.*)?") && !url.contains("prepareThreshold=0");
  }

  @Override
  public String toString() {
    return username + "@" + url;
  }
}
