package io.queuepilot.bench;

/**
 * How every system's workers are sized in one run: the same number of processes, concurrent
 * jobs per process and connection-pool size per process for all of them.
 *
 * @param processes worker processes
 * @param concurrency concurrent no-op jobs per process
 * @param pool database connections per process
 * @param batching whether the system's batching is on (claims of {@code batchSize} jobs)
 * @param batchSize jobs per claim when batching (QueuePilot, pg-boss)
 * @param localQueueSize Graphile Worker's localQueue.size when batching (its documented 500)
 */
public record WorkerSpec(
    int processes, int concurrency, int pool, boolean batching, int batchSize, int localQueueSize) {

  public WorkerSpec {
    if (processes < 1 || concurrency < 1 || pool < 2 || batchSize < 1 || localQueueSize < 1) {
      throw new IllegalArgumentException("worker sizes must be positive (pool >= 2): " + this);
    }
  }

  public WorkerSpec withBatching(boolean on) {
    return new WorkerSpec(processes, concurrency, pool, on, batchSize, localQueueSize);
  }
}
