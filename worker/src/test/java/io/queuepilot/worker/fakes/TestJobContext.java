package io.queuepilot.worker.fakes;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.worker.CancelReason;
import io.queuepilot.worker.JobContext;
import io.queuepilot.worker.LeaseWrite;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/** A JobContext for calling processors and handlers directly; commit runs the write. */
public final class TestJobContext implements JobContext {

  private final ClaimedJob job;
  public volatile CancelReason cancel;
  public volatile int commits;

  public TestJobContext(String payloadJson) {
    this.job = new ClaimedJob(UUID.randomUUID(), "document_extraction", "ai", payloadJson, UUID.randomUUID(), 1, 5,
        UUID.randomUUID(), null, UUID.randomUUID(), null, Instant.EPOCH);
  }

  @Override
  public ClaimedJob job() {
    return job;
  }

  @Override
  public String workerId() {
    return "test-worker";
  }

  @Override
  public Optional<CancelReason> cancelled() {
    return Optional.ofNullable(cancel);
  }

  /** The queue completion this context records (null until completed). */
  public volatile String completedWith;

  @Override
  public boolean complete(String resultJson, Integer tokensUsed) throws Exception {
    return commit(() -> {
      completedWith = resultJson == null ? "null" : resultJson;
      return true;
    });
  }

  @Override
  public java.util.concurrent.CompletionStage<Boolean> completeAsync(String resultJson, Integer tokensUsed) {
    try {
      return java.util.concurrent.CompletableFuture.completedFuture(complete(resultJson, tokensUsed));
    } catch (Exception e) {
      return java.util.concurrent.CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public boolean commit(LeaseWrite write) throws Exception {
    commits++;
    return write.write();
  }
}
