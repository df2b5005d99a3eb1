package io.queuepilot.cli.sim;

import java.util.List;

/**
 * The result of one simulation: a row per simulated second, the scaling decisions that changed
 * the replica count, and the spec's limits the chart draws as reference lines.
 */
public record Timeline(
    String traceName,
    List<Tick> ticks,
    List<Decision> decisions,
    int minReplicas,
    int maxReplicas,
    Long tokensPerMinuteBudget,
    Integer tokenBudgetReplicas) {

  /** One simulated second. {@code tokensPerMinute} counts tokens of jobs started in the last 60 s. */
  public record Tick(
      int t,
      int arrivals,
      long queueDepth,
      int processing,
      int replicas,
      int desiredReplicas,
      String limitedBy,
      long tokensPerMinute,
      long completed) {}

  /** A poll whose decision changed the desired replica count. */
  public record Decision(int t, int from, int to, String limitedBy, String reason) {}

  public Tick last() {
    return ticks.get(ticks.size() - 1);
  }

  public int peakReplicas() {
    return ticks.stream().mapToInt(Tick::replicas).max().orElse(0);
  }

  public long peakQueueDepth() {
    return ticks.stream().mapToLong(Tick::queueDepth).max().orElse(0);
  }
}
