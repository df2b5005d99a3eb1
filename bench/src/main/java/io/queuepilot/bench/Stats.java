package io.queuepilot.bench;

import java.util.Arrays;
import java.util.List;

/** Percentiles of a set of millisecond samples (nearest-rank, as the peer scripts compute them). */
public record Stats(int samples, double minMs, double p50Ms, double p99Ms, double maxMs, double avgMs) {

  /** Summarises {@code samplesMs}; fails on an empty list because a benchmark without samples measured nothing. */
  public static Stats of(List<Double> samplesMs) {
    if (samplesMs.isEmpty()) {
      throw new IllegalArgumentException("no samples to summarise");
    }
    double[] sorted = samplesMs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return new Stats(
        sorted.length,
        sorted[0],
        nearestRank(sorted, 0.50),
        nearestRank(sorted, 0.99),
        sorted[sorted.length - 1],
        Arrays.stream(sorted).average().orElseThrow());
  }

  static double nearestRank(double[] sorted, double quantile) {
    int rank = (int) Math.ceil(quantile * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
