package io.queuepilot.controller.core;

import java.util.List;

/**
 * A QueueScaler spec with one or more errors, each naming its full spec path
 * ({@code spec.scaleDown.maxStep}); the message lists them all, so one fix-and-retry suffices.
 */
public final class InvalidSpecException extends IllegalArgumentException {

  private final List<String> errors;

  public InvalidSpecException(List<String> errors) {
    super(message(errors));
    this.errors = List.copyOf(errors);
  }

  /** Every error, in spec order. */
  public List<String> errors() {
    return errors;
  }

  private static String message(List<String> errors) {
    if (errors.isEmpty()) throw new IllegalArgumentException("an invalid spec has at least one error");
    return errors.size() == 1 ? errors.get(0)
        : errors.size() + " errors in the spec: " + String.join("; ", errors);
  }
}
