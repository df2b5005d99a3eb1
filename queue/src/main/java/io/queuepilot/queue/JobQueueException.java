package io.queuepilot.queue;

import java.sql.SQLException;

/**
 * A queue function failed (database unreachable, bad argument, illegal transition). Carries the
 * SQLSTATE so callers can tell a retryable outage from a rejected request.
 */
public final class JobQueueException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** SQLSTATE raised by update_job_status for an illegal transition. */
  public static final String ILLEGAL_TRANSITION = "55000";
  /** SQLSTATE raised by the queue functions for a bad argument. */
  public static final String INVALID_ARGUMENT = "22023";
  /** SQLSTATE raised when a job does not exist. */
  public static final String NOT_FOUND = "P0002";

  private final String sqlState;

  public JobQueueException(String operation, SQLException cause) {
    super(operation + " failed: " + cause.getMessage() + " (SQLSTATE " + cause.getSQLState() + ")", cause);
    this.sqlState = cause.getSQLState();
  }

  public String sqlState() {
    return sqlState;
  }

  /** The database rejected a status change that the transition table does not allow. */
  public boolean isIllegalTransition() {
    return ILLEGAL_TRANSITION.equals(sqlState);
  }

  /** The database rejected an argument (payload too large, bad priority, ...). */
  public boolean isInvalidArgument() {
    return INVALID_ARGUMENT.equals(sqlState) || "54000".equals(sqlState);
  }

  /** Connection-level failure (class 08) or a server shutdown (57P): worth retrying later. */
  public boolean isTransient() {
    return sqlState != null && (sqlState.startsWith("08") || sqlState.startsWith("57P") || "40001".equals(sqlState)
        || "40P01".equals(sqlState));
  }
}
