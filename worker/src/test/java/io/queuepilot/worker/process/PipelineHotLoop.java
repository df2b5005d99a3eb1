package io.queuepilot.worker.process;

/**
 * A hot loop in the document pipeline's package, for {@code JitPoliciesTest}: the same code as
 * its twin in the queue runtime's package, so the two differ only in which directive matches.
 */
public final class PipelineHotLoop {

  private PipelineHotLoop() {}

  /** A few thousand arithmetic steps the JIT cannot fold away. */
  public static int spin(int seed, int steps) {
    int h = seed;
    for (int i = 0; i < steps; i++) {
      h = h * 31 + (i ^ (h >>> 7));
    }
    return h;
  }
}
