package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.Lease;
import io.queuepilot.worker.FailureDecider.Decision;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs claimed jobs on at most {@code capacity} job threads, which stay parked between jobs (no
 * thread is started per job). A thread that finishes takes the next claimed job (from the local
 * queue of jobs claimed ahead); when none waits it claims for the worker's free room itself, so a
 * burn-down without a local queue needs no hand-off between threads. Capacity is accounted under
 * one lock: running jobs + waiting jobs + jobs asked for by claims in flight never exceed capacity
 * plus the local queue, whichever thread claims. Turns a handler's end into its one outcome through
 * the {@link Settler}.
 */
final class JobThreads {

  private static final Logger log = LoggerFactory.getLogger(JobThreads.class);
  /** Looked up once: {@code ManagementFactory.getThreadMXBean()} walks the platform components on every call. */
  private static final com.sun.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t ? t : null;

  /** A job claimed but not started yet, with the time it was claimed. */
  record Waiting(ClaimedJob job, Instant claimedAt) {}

  /** What a job thread does next. */
  private enum Next { RUN, CLAIM, EXIT }

  private final WorkerState state;
  private final JobHandler handler;
  private final Settler settler;
  private final FailureDecider decider;
  /**
   * Keyed by job and lease token together: the same job may come back to this worker under a new
   * lease, and the jobs of one claim share one lease token (V112), so neither alone names a run.
   */
  private final Map<Lease, JobRun> running = new ConcurrentHashMap<>();
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  private final Object lock = new Object();
  private ClaimLoop claims;
  // All under lock:
  /** Job threads alive. */
  private int threads;
  /** Threads running a job: each holds one unit of capacity. */
  private int busy;
  /** Threads parked for work and not yet signalled. */
  private int idle;
  /** Threads signalled (or just started) that have not looked for work yet. */
  private int looks;
  /** Jobs asked for by claim statements in flight (reserved room). */
  private int claiming;
  /** A wake-up (notification) asks an idle thread to claim. */
  private boolean claimRequested;
  /** Set under the lock at shutdown: nothing is claimed or started afterwards. */
  private boolean stopped;

  JobThreads(WorkerState state, JobHandler handler, Settler settler) {
    this.state = state;
    this.handler = handler;
    this.settler = settler;
    this.decider = new FailureDecider(state.settings.workerId(), state.settings.rateLimitDefaultDelay());
    settler.onAsyncSettled(this::roomFreed);
  }

  /** The claim step the job threads run when nothing waits for them. */
  void claimWith(ClaimLoop claimLoop) {
    this.claims = claimLoop;
  }

  int running() {
    return running.size();
  }

  int waiting() {
    synchronized (lock) {
      return waiting.size();
    }
  }

  /** Jobs this worker holds a lease on: running, claimed ahead, and completed without waiting but not yet written. */
  int held() {
    synchronized (lock) {
      return busy + waiting.size() + settler.unsettledAsync();
    }
  }

  List<JobRun> runs() {
    return List.copyOf(running.values());
  }

  /** Leases of the jobs waiting in the local queue. */
  List<Waiting> waitingJobs() {
    synchronized (lock) {
      return List.copyOf(waiting);
    }
  }

  /** Removes a waiting job (expired, or its lease lost); null if it has started or is gone already. */
  ClaimedJob removeWaiting(Lease lease) {
    synchronized (lock) {
      for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
        Waiting w = it.next();
        if (w.job().id().equals(lease.jobId()) && w.job().leaseToken().equals(lease.leaseToken())) {
          it.remove();
          return w.job();
        }
      }
      return null;
    }
  }

  /** Takes every waiting job out (shutdown, after {@link #stop} and {@link #awaitNoClaims}). */
  List<ClaimedJob> drainWaiting() {
    synchronized (lock) {
      List<ClaimedJob> out = new ArrayList<>(waiting.size());
      waiting.forEach(w -> out.add(w.job()));
      waiting.clear();
      return out;
    }
  }

  JobRun runOf(Lease lease) {
    return running.get(lease);
  }

  /**
   * Reserves room for one claim statement: what frees capacity and local-queue room, but with a
   * local queue only once it (with what is being claimed) has drained to half, so claims come in
   * batches as Graphile Worker's refetch does. Returns 0 when nothing is wanted or the worker stops;
   * a positive reservation must be returned through {@link #claimed}.
   */
  int reserve() {
    synchronized (lock) {
      int localQueue = state.settings.localQueueSize();
      if (localQueue > 0 && waiting.size() + claiming > localQueue / 2) {
        return 0;
      }
      return reserveLocked(0);
    }
  }

  /**
   * Reserves room for a claim that rides on a completion statement: whatever room is free, counting
   * the {@code freed} completions handed over without waiting that the same statement settles — no
   * wait for the local queue to drain to half, since this claim costs no round trip of its own (each
   * completion statement tops the local queue up by what it frees). Returned through {@link #claimed}.
   */
  int reserveWithCompletions(int freed) {
    synchronized (lock) {
      return reserveLocked(freed);
    }
  }

  /** Under the lock: reserves the free room (capacity + local queue − held − being claimed, {@code freed} counted as free). */
  private int reserveLocked(int freed) {
    if (stopped) {
      return 0;
    }
    int queued = waiting.size() + claiming;
    int free = state.capacity + state.settings.localQueueSize() - busy - queued - (settler.unsettledAsync() - freed);
    if (free <= 0) {
      return 0;
    }
    int n = Math.min(free, state.settings.maxBatch());
    claiming += n;
    return n;
  }

  /**
   * A claim of {@code reserved} jobs came back with {@code jobs} (maybe none): they start while
   * threads are free, else wait. When it was full (there may be more) or a wake-up asked for a claim
   * meanwhile, and room is left, the next claim follows at once on an idle thread (or the claim
   * thread): job threads keep one claim in flight at a time, so claims carry every slot that freed
   * meanwhile instead of one statement per job.
   */
  void claimed(int reserved, List<ClaimedJob> jobs) {
    Instant now = jobs.isEmpty() ? null : state.clock.instant();
    boolean wakeClaimLoop = false;
    synchronized (lock) {
      claiming -= reserved;
      for (ClaimedJob j : jobs) {
        waiting.add(new Waiting(j, now));
      }
      if (stopped) {
        lock.notifyAll(); // shutdown waits for claims in flight before it releases what waits
        return;
      }
      dispatchLocked();
      wakeClaimLoop = (jobs.size() == reserved || claimRequested) && nextClaimLocked();
    }
    if (wakeClaimLoop) {
      state.wakeClaimLoop();
    }
  }

  /**
   * Under the lock, when no claim is in flight and room is free: asks an idle thread for the next
   * claim; true when the claim thread must be woken instead (no thread idle).
   */
  private boolean nextClaimLocked() {
    if (stopped || claiming > 0 || !wantsClaimLocked()) {
      return false;
    }
    if (idle > 0) {
      claimRequested = true;
      signalLocked();
      return false;
    }
    claimRequested = false;
    return true;
  }

  /** Completions handed over without waiting were written: their room is free for the next claim. */
  private void roomFreed() {
    boolean wakeClaimLoop;
    synchronized (lock) {
      wakeClaimLoop = nextClaimLocked();
    }
    if (wakeClaimLoop) {
      state.wakeClaimLoop();
    }
  }

  /**
   * A notification (or a reconnect) says jobs may be ready: an idle job thread claims them itself
   * and runs the first (one hand-off from the listener to the thread that runs the job); without
   * an idle thread the claim loop looks.
   */
  void wakeToClaim() {
    synchronized (lock) {
      if (!stopped && idle > 0 && waiting.isEmpty()) {
        if (!claimRequested) {
          claimRequested = true;
          if (claiming == 0) {
            signalLocked();
          } // else the claim in flight asks for the next one when it lands
        }
        return;
      }
      if (!stopped && claiming > 0) {
        // No idle thread and a claim on its way back: its snapshot may predate the job this
        // notification announces, and the claim thread finds no room while it is in flight, so
        // the claim asks for the next one when it lands (otherwise the job waits for the poll).
        claimRequested = true;
      }
    }
    state.wakeClaimLoop();
  }

  /** Under the lock: wakes or starts threads for the waiting jobs that free capacity lets start now. */
  private void dispatchLocked() {
    if (stopped) {
      return;
    }
    int need = Math.min(waiting.size(), state.capacity - busy) - looks;
    while (need-- > 0) {
      if (idle > 0) {
        signalLocked();
      } else if (threads < state.capacity) {
        threads++;
        looks++;
        Thread.ofPlatform().name("qp-job-" + state.settings.workerId() + "-" + threads).start(this::work);
      } else {
        return; // every thread is busy or about to look: the first one done takes the next job
      }
    }
  }

  private void signalLocked() {
    idle--;
    looks++;
    lock.notify();
  }

  /**
   * A job thread's life: run what waits, else claim for the free room (unless a claim is in flight:
   * its answer dispatches), else park until signalled.
   */
  private void work() {
    MDC.put("worker_id", state.settings.workerId()); // on every line this thread logs, its jobs' and its claims'
    boolean mayClaim = false; // a new thread was started for a waiting job, not to claim
    boolean looking = true;
    boolean ranJob = false;
    while (true) {
      JobRun run = null;
      Next next;
      boolean refill = false;
      synchronized (lock) {
        if (ranJob) {
          busy--;
          ranJob = false;
        }
        while (true) {
          if (looking) {
            looks--;
            looking = false;
          }
          if (stopped || state.stopping()) {
            next = Next.EXIT;
            break;
          }
          if (!waiting.isEmpty() && busy < state.capacity) {
            run = startLocked(waiting.poll());
            next = Next.RUN;
            // with outstanding completions, their statement carries the refill (complete_and_claim_jobs)
            refill = state.settings.localQueueSize() > 0 && !settler.completionsOutstanding() && wantsClaimLocked();
            break;
          }
          if ((mayClaim || claimRequested) && claiming == 0) {
            claimRequested = false;
            looks++; // it looks again once its claim is back: dispatch wakes one thread fewer
            next = Next.CLAIM;
            break;
          }
          idle++;
          do {
            try {
              lock.wait();
            } catch (InterruptedException e) {
              // a late cancel of the last job: nothing of it is left to stop
            }
          } while (looks == 0 && !stopped && !state.stopping());
          if (looks == 0) {
            idle--; // woken by the stop, not signalled
          } else {
            looking = true;
          }
        }
        if (next == Next.EXIT) {
          threads--;
          lock.notifyAll();
          return;
        }
      }
      mayClaim = false;
      if (next == Next.CLAIM) {
        claims.claimFromJobThread();
        looking = true;
        continue; // what it got waits in the queue: this thread looks at it first
      }
      if (refill) {
        state.wakeClaimLoop(); // the local queue drained to half: refetch while this job runs
      }
      try {
        run(run);
      } catch (Error e) {
        synchronized (lock) { // the thread dies with the error: give its place back
          busy--;
          threads--;
          dispatchLocked();
          lock.notifyAll();
        }
        throw e;
      }
      Thread.interrupted(); // a late cancel of this job must not reach the next one
      ranJob = true;
      mayClaim = true;
    }
  }

  /** Under the lock: registers the job as running on the current thread (one unit of capacity). */
  private JobRun startLocked(Waiting w) {
    busy++;
    JobRun run = new JobRun(w.job(), state.clock.instant(), state, settler, this);
    run.bindThread(Thread.currentThread());
    running.put(Settler.lease(w.job()), run);
    return run;
  }

  /** Under the lock: whether a claim now would ask for anything (see {@link #reserve}). */
  private boolean wantsClaimLocked() {
    int localQueue = state.settings.localQueueSize();
    int queued = waiting.size() + claiming;
    return !(localQueue > 0 && queued > localQueue / 2)
        && state.capacity + localQueue - busy - queued - settler.unsettledAsync() > 0;
  }

  /** Stops claiming and starting jobs (shutdown, kill): idle threads leave, busy ones after their job. */
  void stop() {
    synchronized (lock) {
      stopped = true;
      lock.notifyAll();
    }
  }

  /** After {@link #stop}: waits until no claim statement is in flight (what they claim must be released). */
  boolean awaitNoClaims(long deadlineNanos) {
    return awaitUntil(() -> claiming == 0, deadlineNanos);
  }

  /** Waits on the lock until {@code done} (read under it) holds, at most until {@code deadlineNanos}. */
  private boolean awaitUntil(java.util.function.BooleanSupplier done, long deadlineNanos) {
    synchronized (lock) {
      while (!done.getAsBoolean()) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        try {
          lock.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return true;
    }
  }

  private void run(JobRun rj) {
    ClaimedJob job = rj.job;
    MDC.put("job_id", job.id().toString());
    if (job.correlationId() != null) {
      MDC.put("correlation_id", job.correlationId().toString());
    }
    MDC.put("job_type", job.jobType());
    long allocatedBefore = allocatedBytes();
    try {
      log.info("processing job (attempt {}/{})", job.attempt(), job.maxAttempts());
      try {
        handler.handle(rj);
        if (!rj.settled.get()) {
          CancelReason reason = rj.cancelReason();
          settle(rj, reason != null
              ? decider.cancelled(reason, job, state.clock.instant())
              : decider.decide(JobFailure.retryable("no_result", "the handler returned without writing a result", null),
                  job, state.clock.instant()));
        }
      } catch (Throwable t) {
        Thread.interrupted(); // a cancel interrupt must not break the settling database call
        CancelReason reason = rj.cancelReason();
        Decision d = reason != null ? decider.cancelled(reason, job, state.clock.instant())
            : decider.decide(t, job, state.clock.instant());
        if (d instanceof Decision.Fail f && !f.retryable()) {
          log.warn("job failed permanently: {} {}", f.code(), t.getMessage());
        } else if (d instanceof Decision.Fail f) {
          log.warn("job failed ({}), will be retried: {}", f.code(), t.toString(), t);
        } else {
          log.info("job not finished: {} ({})", d, t.toString());
        }
        settle(rj, d);
        if (t instanceof Error e && !(t instanceof OutOfMemoryError)) {
          throw e;
        }
      }
    } finally {
      long allocatedAfter = allocatedBytes();
      if (allocatedBefore >= 0 && allocatedAfter >= allocatedBefore) {
        state.metrics.allocated(job.jobType(), allocatedAfter - allocatedBefore);
      }
      running.remove(Settler.lease(job));
      rj.finish();
      // the job's own keys only: the thread's map stays (no new map and table per job, which
      // MDC.clear() cost: a quarter of a job thread's CPU on a burn-down); worker_id is the thread's
      // for its life (work()); a handler removes what it adds, as on any pooled thread (JobHandler)
      MDC.remove("job_id");
      MDC.remove("correlation_id");
      MDC.remove("job_type");
    }
  }

  /** Heap bytes allocated so far by the current thread, or -1 where the JVM cannot tell. */
  private static long allocatedBytes() {
    return THREADS != null && THREADS.isThreadAllocatedMemoryEnabled() ? THREADS.getCurrentThreadAllocatedBytes() : -1;
  }

  /** Writes the job's outcome on its own thread (waiting for the statement) and records it. */
  private void settle(JobRun rj, Decision d) {
    if (state.killed() || !rj.settled.compareAndSet(false, true)) {
      return;
    }
    ClaimedJob job = rj.job;
    Duration took = Duration.between(rj.started, state.clock.instant());
    try {
      switch (d) {
        case Decision.Fail f -> failed(job, f, took, settler.fail(job, f.errorJson(), f.retryable()));
        case Decision.Release r -> released(job, r, took, settler.release(job, r.delay()));
        case Decision.Drop drop -> dropped(job, drop);
      }
    } catch (Settler.WorkerKilled e) {
      // killed: nothing more is written
    } catch (RuntimeException e) {
      unrecorded(d, e);
    }
  }

  /**
   * A completion handed over without waiting whose statement failed: nothing of it was written, so
   * the job takes the failure path under its lease, as a handler's error would — without waiting
   * (this runs on the settler's thread), its outcome recorded when that statement is back.
   */
  void completionFailed(JobRun rj, Throwable error) {
    ClaimedJob job = rj.job;
    if (state.killed()) {
      return;
    }
    Decision d = decider.decide(error, job, state.clock.instant());
    Duration took = Duration.between(rj.started, state.clock.instant());
    Heartbeats.withMdc(job, () -> log.warn("complete_jobs failed for the job ({}): {}", d, error.toString()));
    CompletableFuture<?> written;
    try {
      written = switch (d) {
        case Decision.Fail f -> settler.failAsync(job, f.errorJson(), f.retryable())
            .thenAccept(status -> Heartbeats.withMdc(job, () -> failed(job, f, took, status)));
        case Decision.Release r -> settler.releaseAsync(job, r.delay())
            .thenAccept(ok -> Heartbeats.withMdc(job, () -> released(job, r, took, ok)));
        case Decision.Drop drop -> {
          Heartbeats.withMdc(job, () -> dropped(job, drop));
          yield CompletableFuture.completedFuture(null);
        }
      };
    } catch (Settler.WorkerKilled e) {
      return;
    }
    written.exceptionally(e -> {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      if (!(cause instanceof Settler.WorkerKilled)) {
        Heartbeats.withMdc(job, () -> unrecorded(d, cause));
      }
      return null;
    });
  }

  private void failed(ClaimedJob job, Decision.Fail f, Duration took, Optional<JobStatus> status) {
    if (status.isEmpty()) {
      state.metrics.leaseLost(job.jobType());
      log.warn("fail_job found the lease lost; another worker owns the job");
      return;
    }
    state.metrics.failed(job.jobType(), f.errorClass().json(), f.code(), took);
    if (status.get() == JobStatus.DEAD_LETTER) {
      state.metrics.deadLettered(job.jobType(), f.code());
      log.warn("job dead-lettered: {}", f.errorJson());
    }
  }

  private void released(ClaimedJob job, Decision.Release r, Duration took, boolean ok) {
    if (!ok) {
      state.metrics.leaseLost(job.jobType());
      log.warn("release_job found the lease lost");
      return;
    }
    state.metrics.released(job.jobType(), r.code(), took);
    if (r.errorClass() == JobFailure.ErrorClass.RATE_LIMITED) {
      state.pauseClaims(r.delay());
      log.info("job released for {} ms ({}); claims paused as long", r.delay().toMillis(), r.code());
    } else {
      log.info("job released ({})", r.code());
    }
  }

  private void dropped(ClaimedJob job, Decision.Drop drop) {
    state.metrics.leaseLost(job.jobType());
    log.warn("job dropped without writing anything: {}", drop.why());
  }

  /** The job stays 'processing' with our lease; the stale-job rescuer takes it back after the timeout. */
  private void unrecorded(Decision d, Throwable e) {
    state.metrics.loopError("settle");
    log.error("could not record the job's outcome {}; it will be requeued after the heartbeat timeout", d, e);
  }

  /** After {@link #stop}: waits until every job thread has left, at most until {@code deadlineNanos}; true when idle. */
  boolean awaitIdle(long deadlineNanos) {
    return awaitUntil(() -> threads == 0, deadlineNanos);
  }
}
