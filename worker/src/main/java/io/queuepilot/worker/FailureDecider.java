package io.queuepilot.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.worker.JobFailure.ErrorClass;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Pure decision logic: what happens to a job whose handler did not commit — from the thrown error
 * and the worker's cancel reason to one {@link Decision} and its error JSON
 * {@code {"class","code","message",...}}.
 */
public final class FailureDecider {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_MESSAGE = 2000;

  private final String workerId;
  private final Duration defaultRateLimitDelay;

  public FailureDecider(String workerId, Duration defaultRateLimitDelay) {
    this.workerId = workerId;
    this.defaultRateLimitDelay = defaultRateLimitDelay;
  }

  /** What to do with the job. */
  public sealed interface Decision {
    /** fail_job with the error; the database retries with backoff or dead-letters. */
    record Fail(ErrorClass errorClass, String code, String errorJson, boolean retryable) implements Decision {}

    /** release_job after the delay, without spending an attempt. */
    record Release(ErrorClass errorClass, String code, Duration delay) implements Decision {}

    /** The lease is gone: touch nothing. */
    record Drop(String why) implements Decision {}
  }

  /** Decision for a job cancelled by the worker (cancel reason wins over whatever the handler threw). */
  public Decision cancelled(CancelReason reason, ClaimedJob job, Instant now) {
    return switch (reason) {
      case LEASE_LOST -> new Decision.Drop("lease lost (heartbeat_job returned false)");
      case SHUTDOWN -> new Decision.Release(ErrorClass.SHUTDOWN, "worker_shutdown", Duration.ZERO);
      case MAX_RUNTIME ->
          fail(ErrorClass.RETRYABLE, "max_runtime_exceeded",
              "job ran longer than the worker's maximum runtime and was cancelled", Map.of(), job, now);
    };
  }

  /** Decision for an error thrown by the handler. */
  public Decision decide(Throwable error, ClaimedJob job, Instant now) {
    JobFailure failure = classify(error);
    return switch (failure.errorClass()) {
      case RATE_LIMITED ->
          new Decision.Release(ErrorClass.RATE_LIMITED, failure.code(), failure.retryAfter().orElse(defaultRateLimitDelay));
      case SHUTDOWN -> new Decision.Release(ErrorClass.SHUTDOWN, failure.code(), Duration.ZERO);
      case PROVIDER_HALTED ->
          new Decision.Release(ErrorClass.PROVIDER_HALTED, failure.code(), failure.retryAfter().orElse(defaultRateLimitDelay));
      case RETRYABLE, PERMANENT ->
          fail(failure.errorClass(), failure.code(), failure.getMessage(), failure.details(), job, now);
    };
  }

  /** Maps any throwable to a classified failure. */
  public static JobFailure classify(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof JobFailure f) {
        return f;
      }
    }
    Optional<SQLException> sql = find(error, SQLException.class);
    if (sql.isPresent()) {
      String state = Optional.ofNullable(sql.get().getSQLState()).orElse("");
      String message = "database error " + state + ": " + sql.get().getMessage();
      // Connection, transaction-rollback, resource and operator classes are transient; a raised
      // exception or a data/integrity error from a write-back function means the input is wrong.
      if ("23503".equals(state)) {
        return JobFailure.permanent("reference_not_found", message, error);
      }
      if (state.startsWith("P0") || state.startsWith("22") || state.startsWith("23")) {
        return JobFailure.permanent("database_rejected", message, error);
      }
      return JobFailure.retryable("database_error", message, error);
    }
    if (find(error, IOException.class).isPresent() || error instanceof UncheckedIOException) {
      return JobFailure.retryable("io_error", String.valueOf(error.getMessage()), error);
    }
    if (error instanceof OutOfMemoryError) {
      return JobFailure.retryable("out_of_memory", "the job ran out of heap: " + error.getMessage(), error);
    }
    if (error instanceof InterruptedException) {
      return JobFailure.retryable("interrupted", "the job's thread was interrupted", error);
    }
    return JobFailure.retryable("unexpected_error", error.getClass().getName() + ": " + error.getMessage(), error);
  }

  private Decision fail(
      ErrorClass cls, String code, String message, Map<String, Object> details, ClaimedJob job, Instant now) {
    ObjectNode e = JSON.createObjectNode();
    e.put("class", cls.json());
    e.put("code", code);
    e.put("message", truncate(message));
    e.put("worker_id", workerId);
    e.put("attempt", job.attempt());
    e.put("job_type", job.jobType());
    e.put("at", now.toString());
    details.forEach((k, v) -> e.set(k, JSON.valueToTree(v)));
    return new Decision.Fail(cls, code, e.toString(), cls != ErrorClass.PERMANENT);
  }

  private static String truncate(String s) {
    if (s == null) {
      return "";
    }
    return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE) + "…";
  }

  private static <T extends Throwable> Optional<T> find(Throwable error, Class<T> type) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return Optional.of(type.cast(t));
      }
    }
    return Optional.empty();
  }
}
