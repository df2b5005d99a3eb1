package io.queuepilot.cli.local;

import io.queuepilot.worker.JobContext;
import io.queuepilot.worker.process.DocumentInput;
import io.queuepilot.worker.process.Extraction;
import io.queuepilot.worker.process.Processor;
import java.time.Duration;

/**
 * Adds the think time of a model call to the local processor, so the local demo shows a queue
 * building up and replicas scaling the way they do with OpenAI (seconds per document), instead
 * of every document finishing in milliseconds. The local mode prints that it is on; 0 turns it off.
 * Wakes every 100 ms to honour cancellation (lease lost, shutdown) like a real call would.
 */
final class ModelLatency implements Processor {

  private final Processor delegate;
  private final Duration latency;

  ModelLatency(Processor delegate, Duration latency) {
    this.delegate = delegate;
    this.latency = latency;
  }

  @Override
  public Extraction process(JobContext context, DocumentInput document) throws Exception {
    long until = System.nanoTime() + latency.toNanos();
    long left;
    while ((left = until - System.nanoTime()) > 0) {
      context.checkCancelled();
      Thread.sleep(Math.min(100, Math.max(1, left / 1_000_000)));
    }
    context.checkCancelled();
    return delegate.process(context, document);
  }
}
