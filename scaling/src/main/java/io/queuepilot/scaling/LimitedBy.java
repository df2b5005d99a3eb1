package io.queuepilot.scaling;

/** What bound a scaling decision; {@link #statusValue()} is the spelling used in QueueScaler status. */
public enum LimitedBy {
  MIN("min"),
  MAX("max"),
  TOKEN_BUDGET("tokenBudget"),
  STABILIZATION("stabilization"),
  PAUSED("paused"),
  NONE("none");

  private final String statusValue;

  LimitedBy(String statusValue) {
    this.statusValue = statusValue;
  }

  /** The value written to {@code status.limitedBy}. */
  public String statusValue() {
    return statusValue;
  }
}
