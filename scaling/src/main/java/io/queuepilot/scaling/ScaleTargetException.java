package io.queuepilot.scaling;

import java.time.Instant;

/** A scale target could not be read or changed; {@link #kind()} says how the caller should react. */
public class ScaleTargetException extends Exception {

  /** How a failure is shown and retried. */
  public enum Kind {
    /** The target does not exist (condition TargetFound=False, reason TargetNotFound). */
    NOT_FOUND,
    /**
     * The controller may not read or scale the target: RBAC 403 (e.g. a Deployment outside the
     * Role's resourceNames) or a refused Render API key (401/403). TargetFound=False, reason
     * TargetForbidden.
     */
    FORBIDDEN,
    /** The target refuses external scaling, e.g. Render autoscaling is on. */
    REFUSED,
    /** The API rate limit is exhausted until {@link #retryAt()}. */
    RATE_LIMITED,
    /** Any other API failure. */
    FAILED,
    /**
     * Not a failure: the target asks for this change in a later cycle, at {@link #retryAt()}
     * (a Deployment whose pods' deletion costs were just set, so that the ReplicaSet controller
     * sees them before it picks the pods to delete).
     */
    DEFERRED
  }

  private final Kind kind;
  private final Instant retryAt;

  public ScaleTargetException(Kind kind, String message, Instant retryAt, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.retryAt = retryAt;
  }

  public ScaleTargetException(Kind kind, String message) {
    this(kind, message, null, null);
  }

  public Kind kind() {
    return kind;
  }

  /** When to try again (rate limits), or null. */
  public Instant retryAt() {
    return retryAt;
  }
}
