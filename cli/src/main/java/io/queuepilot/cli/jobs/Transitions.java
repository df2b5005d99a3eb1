package io.queuepilot.cli.jobs;

import io.queuepilot.cli.CliException;
import io.queuepilot.cli.ExitCode;
import io.queuepilot.cli.db.Database;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.operator.JobRepository;
import java.sql.SQLException;
import java.util.UUID;

/**
 * Operator transitions (retry, dead-letter, cancel) through the SQL functions behind
 * {@link JobQueue}, with the CLI's meaning of their failures: unknown job and illegal transition
 * exit with code 2 and say the job's current status.
 */
public final class Transitions {

  /** What a transition did: the job's status before and after. */
  public record Result(UUID jobId, String action, String from, String to) {}

  private final Database db;
  private final JobQueue queue;
  private final JobRepository jobs;

  public Transitions(Database db, JobQueue queue, JobRepository jobs) {
    this.db = db;
    this.queue = queue;
    this.jobs = jobs;
  }

  /** Runs {@code transition} on job {@code id}, checking first that the job exists. */
  public Result apply(UUID id, String action, Runnable transition) {
    String before = jobs.status(id).orElseThrow(() -> CliException.notFound("job " + id + " not found"));
    try {
      transition.run();
    } catch (RuntimeException e) {
      throw classify(id, action, before, e);
    }
    String after = jobs.status(id).orElse("(deleted)");
    return new Result(id, action, before, after);
  }

  private CliException classify(UUID id, String action, String before, RuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof CliException c) {
        return c;
      }
      if (t instanceof SQLException s) {
        if (Database.isConnectionFailure(s)) {
          return db.failure(action, s);
        }
        String state = s.getSQLState() == null ? "" : s.getSQLState();
        // The SQL functions raise for an unknown job (no_data_found) and for a transition the
        // job's status does not allow (raise_exception / object_not_in_prerequisite_state /
        // invalid_parameter_value / check_violation).
        if (state.equals("P0002") || state.equals("02000")) {
          return CliException.notFound("job " + id + " not found");
        }
        if (state.startsWith("P0") || state.equals("55000") || state.equals("22023") || state.equals("23514")) {
          return new CliException(
              ExitCode.NOT_FOUND_OR_ILLEGAL,
              "cannot " + action + " job " + id + " (status " + before + "): " + firstLine(s.getMessage()),
              s);
        }
        return new CliException(ExitCode.FAILURE, action + " job " + id + " failed: " + firstLine(s.getMessage()), s);
      }
    }
    return new CliException(ExitCode.FAILURE, action + " job " + id + " failed: " + e.getMessage(), e);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    String line = message.lines().findFirst().orElse("");
    return line.startsWith("ERROR: ") ? line.substring("ERROR: ".length()) : line;
  }
}
