package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;

/** One job queue under test: how to load its table, start its workers and measure its latency. */
public interface QueueSystem {

  /** Short name used in database names and tables, e.g. {@code graphile}. */
  String name();

  /** Name and exact version as reported. */
  String version();

  /**
   * Installs the system's schema in {@code db} and bulk-inserts {@code jobs} no-op jobs, 50,000
   * per statement; returns the seconds the inserts took (the bulk-enqueue figure).
   */
  double setup(BenchServer.Db db, int jobs) throws Exception;

  /** Starts worker process {@code index} of a burn-down. */
  WorkerProcess startWorker(BenchServer.Db db, WorkerSpec spec, int index);

  /** A query returning how many jobs are not finished yet (pending, scheduled-now or running). */
  String unfinishedJobsSql();

  /**
   * Enqueue-to-handler-start latency: {@code samples} sequential enqueues with one idle worker
   * woken by LISTEN/NOTIFY; returns the peer's summary (samples, minMs, p50Ms, p99Ms, maxMs, avgMs).
   */
  JsonNode latency(BenchServer.Db db, int samples, int warmup, Duration timeout) throws Exception;
}
