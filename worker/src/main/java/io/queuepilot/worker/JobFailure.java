package io.queuepilot.worker;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A classified failure of one job: its class decides what happens to the job (retry with the
 * database's backoff, dead letter, release without spending an attempt), its code names what
 * went wrong in a stable machine-readable word and the message says it for humans.
 */
public final class JobFailure extends Exception {

  /** What a failure means for the job. */
  public enum ErrorClass {
    /** Transient (network, 5xx, timeouts): fail_job with retryable=true, the DB schedules a backoff. */
    RETRYABLE,
    /** The input can never succeed (corrupt file, unsupported type, invalid model output): dead letter. */
    PERMANENT,
    /** OpenAI or the shared budget said "not now": release_job with a delay, no attempt spent. */
    RATE_LIMITED,
    /** The worker is stopping: release_job at once so another worker takes the job. */
    SHUTDOWN,
    /**
     * The model provider refuses this worker (quota/billing, authentication, configuration):
     * release_job with a delay, no attempt spent; the worker stops claiming (see ProviderHalt).
     */
    PROVIDER_HALTED;

    public String json() {
      return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
  }

  private final ErrorClass errorClass;
  private final String code;
  private final Duration retryAfter;
  private final Map<String, Object> details;

  private JobFailure(
      ErrorClass errorClass, String code, String message, Duration retryAfter, Map<String, Object> details, Throwable cause) {
    super(message, cause);
    this.errorClass = errorClass;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = details == null ? Map.of() : Map.copyOf(details);
  }

  public static JobFailure retryable(String code, String message, Throwable cause) {
    return new JobFailure(ErrorClass.RETRYABLE, code, message, null, null, cause);
  }

  public static JobFailure permanent(String code, String message) {
    return new JobFailure(ErrorClass.PERMANENT, code, message, null, null, null);
  }

  public static JobFailure permanent(String code, String message, Throwable cause) {
    return new JobFailure(ErrorClass.PERMANENT, code, message, null, null, cause);
  }

  public static JobFailure permanent(String code, String message, Map<String, Object> details) {
    return new JobFailure(ErrorClass.PERMANENT, code, message, null, details, null);
  }

  public static JobFailure rateLimited(String code, String message, Duration retryAfter) {
    return new JobFailure(ErrorClass.RATE_LIMITED, code, message, retryAfter, null, null);
  }

  public static JobFailure providerHalted(String code, String message, Duration retryAfter) {
    return new JobFailure(ErrorClass.PROVIDER_HALTED, code, message, retryAfter, null, null);
  }

  public ErrorClass errorClass() {
    return errorClass;
  }

  public String code() {
    return code;
  }

  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }

  public Map<String, Object> details() {
    return details;
  }
}
