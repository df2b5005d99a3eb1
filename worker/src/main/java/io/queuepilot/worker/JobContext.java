package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import java.util.Optional;

/** What a {@link JobHandler} sees of its job: the claimed row, cancellation, and the one commit. */
public interface JobContext {

  ClaimedJob job();

  String workerId();

  /** Set when the worker cancelled the job; the handler should stop as soon as it can. */
  Optional<CancelReason> cancelled();

  /** Throws {@link JobCancelledException} when the job was cancelled. Call between expensive steps. */
  default void checkCancelled() throws JobCancelledException {
    Optional<CancelReason> reason = cancelled();
    if (reason.isPresent()) {
      throw new JobCancelledException(reason.get());
    }
  }

  /**
   * Runs the job's finishing write unless the job was cancelled. Returns true when the write
   * happened under our lease; false when the job was cancelled or the lease was lost (nothing
   * written). At most one commit per job.
   */
  boolean commit(LeaseWrite write) throws Exception;

  /**
   * Completes the job in the queue ({@code complete_jobs}) with the worker's batched completer:
   * jobs that finish together share one round trip, each still guarded by its own lease. Same
   * contract as {@link #commit}: false when cancelled or fenced (nothing written). For handlers
   * whose result is the queue's own {@code result}; a handler that writes elsewhere in the same
   * transaction (document jobs: {@code write_back_extraction}) uses {@link #commit}.
   */
  boolean complete(String resultJson, Integer tokensUsed) throws Exception;

  /**
   * {@link #complete} without waiting for the statement: the job's thread is free for the next job
   * at once, and the completion shares its {@code complete_jobs} statement with every other one
   * handed over meanwhile (Graphile Worker's batched completer). The job keeps its lease, and its
   * place in the worker's capacity, until the statement is back. The stage completes with true when
   * the job was completed under its lease, false when it was cancelled or fenced (nothing written);
   * when the statement failed nothing was written and the worker fails the job under its lease as
   * it would a handler's error (the stage completes exceptionally). It completes on the worker's
   * settling thread: what depends on it must not block. At most one commit per job.
   */
  java.util.concurrent.CompletionStage<Boolean> completeAsync(String resultJson, Integer tokensUsed);

  /** Thrown inside a handler when its job was cancelled by the worker. */
  final class JobCancelledException extends Exception {
    private final CancelReason reason;

    public JobCancelledException(CancelReason reason) {
      super("job cancelled: " + reason);
      this.reason = reason;
    }

    public CancelReason reason() {
      return reason;
    }
  }
}
