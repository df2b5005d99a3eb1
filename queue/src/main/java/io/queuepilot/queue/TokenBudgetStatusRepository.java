package io.queuepilot.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Reads the shared token budget the workers reserve from, through {@code token_budget_status}
 * (sql/V020; executable by {@code queue_worker} and {@code queue_controller}): the one source of
 * the budget's numbers for the controller's replica cap.
 */
public final class TokenBudgetStatusRepository {

  private static final String STATUS =
      """
      SELECT tokens_per_window, requests_per_window, window_seconds, tokens_in_window, requests_in_window,
             in_flight, blocked_until
        FROM public.token_budget_status(?)
      """;

  /** One {@code token_budget_status} row: limits, live reservations, calls in flight, a block in force (or null). */
  public record Row(
      String name,
      long tokensPerWindow,
      long requestsPerWindow,
      int windowSeconds,
      long tokensInWindow,
      long requestsInWindow,
      long inFlight,
      Instant blockedUntil) {}

  private final DataSource dataSource;

  public TokenBudgetStatusRepository(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** The budget called {@code name}; empty when no such budget row exists. */
  public Optional<Row> status(String name) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(STATUS)) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) return Optional.empty();
        Timestamp blocked = rs.getTimestamp(7);
        return Optional.of(new Row(name, rs.getLong(1), rs.getLong(2), rs.getInt(3), rs.getLong(4), rs.getLong(5),
            rs.getLong(6), blocked == null ? null : blocked.toInstant()));
      }
    } catch (SQLException e) {
      throw new JobQueueException("token_budget_status(" + name + ")", e);
    }
  }
}
