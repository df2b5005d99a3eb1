package io.queuepilot.queue.budget;

import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.sql.Jdbc;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The shared budget in PostgreSQL (sql/V020__token_budget.sql): {@code reserve_tokens},
 * {@code settle_tokens} and {@code block_token_budget} over one token_budget row, so every
 * replica draws from the same sliding window. A failed call throws {@link JobQueueException}
 * naming the function and the budget, with the SQLSTATE ({@code 22023}: a call larger than the
 * budget allows per window).
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

  private final Jdbc jdbc;
  private final String name;
  private final int maxCallSeconds;

  /**
   * @param maxCallSeconds how long an unsettled reservation may stay in flight (the model call
   *     timeout); it counts against the window until settled or this long plus the window
   */
  public PostgresTokenBudget(DataSource dataSource, String name, int maxCallSeconds) {
    this.jdbc = new Jdbc(dataSource);
    this.name = name;
    this.maxCallSeconds = maxCallSeconds;
  }

  /** Creates or updates the budget row (tokens and requests per window). */
  public void configure(long tokensPerWindow, int requestsPerWindow, int windowSeconds) {
    jdbc.update("configure_token_budget(" + name + ")", CONFIGURE, name, tokensPerWindow, requestsPerWindow,
        windowSeconds);
  }

  /** Whether the budget row exists. */
  public boolean exists() {
    return jdbc.queryOne("token_budget_exists(" + name + ")", EXISTS, rs -> rs.getBoolean(1), name);
  }

  @Override
  public Reservation reserve(long tokens, int requests, UUID jobId) {
    return jdbc.queryOne("reserve_tokens(" + name + ")", RESERVE,
        rs -> rs.getBoolean(1)
            ? new Reservation.Granted(rs.getObject(2, UUID.class), tokens)
            : new Reservation.Denied(Duration.ofMillis(rs.getLong(3))),
        name, tokens, requests, jobId, maxCallSeconds);
  }

  @Override
  public void settle(Reservation.Granted reservation, long tokensUsed) {
    jdbc.update("settle_tokens(" + name + ")", SETTLE, reservation.id(), tokensUsed);
  }

  @Override
  public void block(Duration duration, String reason) {
    jdbc.update("block_token_budget(" + name + ")", BLOCK, name, Math.max(1, duration.toMillis()), reason);
  }

  /** The reason of a block in force (sql/V060's token_budget_blocked_reason), e.g. insufficient_quota. */
  @Override
  public Optional<String> blockedReason() {
    return jdbc.queryOptional("token_budget_blocked_reason(" + name + ")", BLOCKED_REASON, rs -> rs.getString(1), name);
  }
}
