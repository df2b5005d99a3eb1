package io.queuepilot.controller.core;

/**
 * What pauses a QueueScaler, if anything: {@code spec.paused} (owned by whoever applies the spec,
 * e.g. Helm), the {@value SpecMapping#PAUSED_ANNOTATION} annotation (an operator's), or both.
 * Shown as {@code status.paused} and the {@code Paused} condition's reason.
 */
public enum PauseSource {
  NONE("NotPaused", "not paused"),
  SPEC("PausedBySpec", "paused by spec.paused"),
  ANNOTATION("PausedByAnnotation", "paused by the annotation " + SpecMapping.PAUSED_ANNOTATION + "=true"),
  SPEC_AND_ANNOTATION("PausedBySpecAndAnnotation",
      "paused by spec.paused and by the annotation " + SpecMapping.PAUSED_ANNOTATION + "=true");

  private final String reason;
  private final String message;

  PauseSource(String reason, String message) {
    this.reason = reason;
    this.message = message;
  }

  /** Whether the scaler is paused at all. */
  public boolean paused() {
    return this != NONE;
  }

  /** The Paused condition's reason (UpperCamelCase). */
  public String reason() {
    return reason;
  }

  /** The Paused condition's message. */
  public String message() {
    return message;
  }

  static PauseSource of(boolean bySpec, boolean byAnnotation) {
    if (bySpec && byAnnotation) return SPEC_AND_ANNOTATION;
    if (bySpec) return SPEC;
    return byAnnotation ? ANNOTATION : NONE;
  }
}
