package io.queuepilot.worker.budget;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The shared budget in PostgreSQL (sql/V020__token_budget.sql): {@code reserve_tokens},
 * {@code settle_tokens} and {@code block_token_budget} over one token_budget row, so every
 * replica draws from the same sliding window.
 */
public final class PostgresTokenBudget implements TokenBudget {

  private static final String CONFIGURE =
      "SELECT public.configure_token_budget(?, ?, ?, ?)";
  private static final String EXISTS =
      "SELECT public.token_budget_exists(?)";
  private static final String RESERVE =
      """
      SELECT granted, reservation_id, retry_after_ms
        FROM public.reserve_tokens(p_budget => ?, p_tokens => ?, p_requests => ?, p_job_id => ?, p_max_call_seconds => ?)
      """;
  private static final String SETTLE = "SELECT public.settle_tokens(?, ?)";
  private static final String BLOCK = "SELECT public.block_token_budget(?, ?, ?)";
  private static final String BLOCKED_REASON = "SELECT public.token_budget_blocked_reason(?)";

  private final DataSource dataSource;
  private final String name;
  private final int maxCallSeconds;

  /**
   * @param maxCallSeconds how long an unsettled reservation may stay in flight (the model call
   *     timeout); it counts against the window until settled or this long plus the window
   */
  public PostgresTokenBudget(DataSource dataSource, String name, int maxCallSeconds) {
    this.dataSource = dataSource;
    this.name = name;
    this.maxCallSeconds = maxCallSeconds;
  }

  /** Creates or updates the budget row (tokens and requests per window). */
  public void configure(long tokensPerWindow, int requestsPerWindow, int windowSeconds) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(CONFIGURE)) {
      ps.setString(1, name);
      ps.setLong(2, tokensPerWindow);
      ps.setInt(3, requestsPerWindow);
      ps.setInt(4, windowSeconds);
      ps.execute();
    } catch (SQLException e) {
      throw new BudgetException("could not configure token budget " + name, e);
    }
  }

  /** Whether the budget row exists. */
  public boolean exists() {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(EXISTS)) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    } catch (SQLException e) {
      throw new BudgetException("could not read token budget " + name, e);
    }
  }

  @Override
  public Reservation reserve(long tokens, int requests, UUID jobId) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(RESERVE)) {
      ps.setString(1, name);
      ps.setLong(2, tokens);
      ps.setInt(3, requests);
      ps.setObject(4, jobId);
      ps.setInt(5, maxCallSeconds);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (rs.getBoolean(1)) {
          return new Reservation.Granted(rs.getObject(2, UUID.class), tokens);
        }
        return new Reservation.Denied(Duration.ofMillis(rs.getLong(3)));
      }
    } catch (SQLException e) {
      throw new BudgetException("reserve_tokens failed for budget " + name, e);
    }
  }

  @Override
  public void settle(Reservation.Granted reservation, long tokensUsed) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(SETTLE)) {
      ps.setObject(1, reservation.id());
      ps.setLong(2, tokensUsed);
      ps.execute();
    } catch (SQLException e) {
      throw new BudgetException("settle_tokens failed for budget " + name, e);
    }
  }

  @Override
  public void block(Duration duration, String reason) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(BLOCK)) {
      ps.setString(1, name);
      ps.setLong(2, Math.max(1, duration.toMillis()));
      ps.setString(3, reason);
      ps.execute();
    } catch (SQLException e) {
      throw new BudgetException("block_token_budget failed for budget " + name, e);
    }
  }

  /** The reason of a block in force (sql/V060's token_budget_blocked_reason), e.g. insufficient_quota. */
  @Override
  public java.util.Optional<String> blockedReason() {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(BLOCKED_REASON)) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? java.util.Optional.ofNullable(rs.getString(1)) : java.util.Optional.empty();
      }
    } catch (SQLException e) {
      throw new BudgetException("token_budget_blocked_reason failed for budget " + name, e);
    }
  }

  /** A budget call failed at the database. */
  public static final class BudgetException extends RuntimeException {
    public BudgetException(String message, SQLException cause) {
      super(message, cause);
    }
  }
}
