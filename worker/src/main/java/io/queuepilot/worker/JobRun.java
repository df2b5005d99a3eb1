package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One job in flight: its lease, start time, cancellation and single settlement; also the handler's view of it. */
final class JobRun implements JobContext {

  private static final Logger log = LoggerFactory.getLogger(JobRun.class);

  final ClaimedJob job;
  final Instant started;
  private final WorkerState state;
  private final Settler settler;
  private final AtomicReference<CancelReason> cancel = new AtomicReference<>();
  /** Set once an outcome (commit, fail, release, drop) has been claimed for the job. */
  final AtomicBoolean settled = new AtomicBoolean();
  private Thread thread;
  private boolean finished;

  private final JobThreads threads;

  JobRun(ClaimedJob job, Instant started, WorkerState state, Settler settler, JobThreads threads) {
    this.job = job;
    this.started = started;
    this.state = state;
    this.settler = settler;
    this.threads = threads;
  }

  synchronized void bindThread(Thread t) {
    this.thread = t;
  }

  /** The job's thread leaves it: later cancels must not interrupt whatever the thread runs next. */
  synchronized void finish() {
    finished = true;
    thread = null;
  }

  CancelReason cancelReason() {
    return cancel.get();
  }

  /** Asks the job to stop (interrupting its thread); returns false if it already settled or was cancelled. */
  boolean cancel(CancelReason reason) {
    if (settled.get() || !cancel.compareAndSet(null, reason)) {
      return false;
    }
    interrupt();
    return true;
  }

  /** Records the cancel reason without interrupting (shutdown claims the outcome first, then interrupts). */
  void markCancelled(CancelReason reason) {
    cancel.compareAndSet(null, reason);
  }

  synchronized void interrupt() {
    if (!finished && thread != null) {
      thread.interrupt();
    }
  }

  synchronized Thread thread() {
    return thread;
  }

  @Override
  public ClaimedJob job() {
    return job;
  }

  @Override
  public String workerId() {
    return state.settings.workerId();
  }

  @Override
  public Optional<CancelReason> cancelled() {
    return Optional.ofNullable(cancel.get());
  }

  @Override
  public boolean complete(String resultJson, Integer tokensUsed) throws Exception {
    return commit(() -> settler.complete(job, resultJson, tokensUsed));
  }

  @Override
  public CompletionStage<Boolean> completeAsync(String resultJson, Integer tokensUsed) {
    if (state.killed() || cancel.get() != null || !settled.compareAndSet(false, true)) {
      return CompletableFuture.completedFuture(false);
    }
    CompletableFuture<Boolean> written;
    try {
      written = settler.completeAsync(job, resultJson, tokensUsed);
    } catch (Settler.WorkerKilled e) {
      return CompletableFuture.completedFuture(false);
    }
    // on the settler's thread once the statement is back
    return written.handle((ok, error) -> {
      if (error == null) {
        if (ok && !log.isInfoEnabled()) {
          written(true); // nothing will be logged: no MDC to set up
        } else {
          Heartbeats.withMdc(job, () -> written(ok));
        }
        return ok;
      }
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (!(cause instanceof Settler.WorkerKilled)) {
        threads.completionFailed(this, cause);
      }
      throw cause instanceof CompletionException ce ? ce : new CompletionException(cause);
    });
  }

  @Override
  public boolean commit(LeaseWrite write) throws Exception {
    if (state.killed() || cancel.get() != null || !settled.compareAndSet(false, true)) {
      return false;
    }
    boolean ok;
    try {
      ok = write.write();
    } catch (Settler.WorkerKilled e) {
      return false;
    } catch (Exception | Error e) {
      // the write's transaction rolled back: the job is still ours to fail or release
      settled.set(false);
      throw e;
    }
    written(ok);
    return ok;
  }

  /** Records the finishing write's outcome: completed (durations) or fenced. */
  private void written(boolean ok) {
    Instant finishedAt = state.clock.instant();
    Duration took = Duration.between(started, finishedAt);
    if (ok) {
      state.metrics.completed(job.jobType(), took);
      if (job.createdAt() != null) {
        state.metrics.timeToProcessed(job.jobType(), job.lane(), Duration.between(job.createdAt(), finishedAt));
      }
      log.info("job completed in {} ms", took.toMillis());
    } else {
      state.metrics.leaseLost(job.jobType());
      log.warn("the finishing write found the lease lost; nothing was written");
    }
  }
}
