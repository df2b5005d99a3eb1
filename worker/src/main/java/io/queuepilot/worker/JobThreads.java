package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.worker.FailureDecider.Decision;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs claimed jobs: at most {@code capacity} job threads, each taking the next claimed job
 * (from the local queue of jobs claimed ahead) when its job is done; turns a handler's end into
 * its one outcome through the {@link Settler}.
 */
final class JobThreads {

  private static final Logger log = LoggerFactory.getLogger(JobThreads.class);

  /** A job claimed but not started yet, with the time it was claimed. */
  record Waiting(ClaimedJob job, Instant claimedAt) {}

  private final WorkerState state;
  private final JobHandler handler;
  private final Settler settler;
  private final FailureDecider decider;
  /** Keyed by lease token: the same job may come back to this worker under a new lease. */
  private final Map<UUID, JobRun> running = new ConcurrentHashMap<>();
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  private final Object lock = new Object();
  private int threads;

  JobThreads(WorkerState state, JobHandler handler, Settler settler) {
    this.state = state;
    this.handler = handler;
    this.settler = settler;
    this.decider = new FailureDecider(state.settings.workerId(), state.settings.rateLimitDefaultDelay());
  }

  int running() {
    return running.size();
  }

  int waiting() {
    synchronized (lock) {
      return waiting.size();
    }
  }

  /** Jobs this worker holds a lease on: running plus claimed ahead. */
  int held() {
    synchronized (lock) {
      return threads + waiting.size();
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
  ClaimedJob removeWaiting(UUID leaseToken) {
    synchronized (lock) {
      for (Iterator<Waiting> it = waiting.iterator(); it.hasNext(); ) {
        Waiting w = it.next();
        if (w.job().leaseToken().equals(leaseToken)) {
          it.remove();
          return w.job();
        }
      }
      return null;
    }
  }

  /** Takes every waiting job out (shutdown). */
  List<ClaimedJob> drainWaiting() {
    synchronized (lock) {
      List<ClaimedJob> out = new ArrayList<>(waiting.size());
      waiting.forEach(w -> out.add(w.job()));
      waiting.clear();
      return out;
    }
  }

  JobRun runOf(UUID leaseToken) {
    return running.get(leaseToken);
  }

  /** Hands claimed jobs over: they start at once while threads are free, else wait in the local queue. */
  void offer(List<ClaimedJob> jobs) {
    Instant now = state.clock.instant();
    synchronized (lock) {
      for (ClaimedJob j : jobs) {
        waiting.add(new Waiting(j, now));
      }
      while (threads < state.capacity && !state.stopping()) {
        JobRun first = next();
        if (first == null) {
          break;
        }
        threads++;
        Thread t = Thread.ofPlatform().name("qp-job-" + state.settings.workerId() + "-" + threads).unstarted(() -> runFrom(first));
        first.bindThread(t);
        t.start();
      }
    }
  }

  /** Under the lock: the next waiting job as a registered run, or null. */
  private JobRun next() {
    Waiting w = waiting.poll();
    if (w == null) {
      return null;
    }
    JobRun run = new JobRun(w.job(), state.clock.instant(), state, settler);
    running.put(w.job().leaseToken(), run);
    return run;
  }

  /** One job thread: runs its job, then the next waiting one, until none waits or the worker stops. */
  private void runFrom(JobRun first) {
    JobRun run = first;
    while (run != null) {
      run(run);
      JobRun next;
      synchronized (lock) {
        next = state.stopping() ? null : next();
        if (next != null) {
          next.bindThread(Thread.currentThread());
        } else {
          threads--;
          lock.notifyAll();
        }
      }
      state.wakeClaimLoop();
      run = next;
    }
  }

  private void run(JobRun rj) {
    ClaimedJob job = rj.job;
    MDC.put("job_id", job.id().toString());
    if (job.correlationId() != null) {
      MDC.put("correlation_id", job.correlationId().toString());
    }
    MDC.put("job_type", job.jobType());
    MDC.put("worker_id", state.settings.workerId());
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
      running.remove(job.leaseToken());
      rj.finish();
      Thread.interrupted(); // a late cancel of this job must not reach the next one
      MDC.clear();
    }
  }

  /** Heap bytes allocated so far by the current thread, or -1 where the JVM cannot tell. */
  private static long allocatedBytes() {
    if (java.lang.management.ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
        && t.isThreadAllocatedMemoryEnabled()) {
      return t.getCurrentThreadAllocatedBytes();
    }
    return -1;
  }

  private void settle(JobRun rj, Decision d) {
    if (state.killed() || !rj.settled.compareAndSet(false, true)) {
      return;
    }
    ClaimedJob job = rj.job;
    Duration took = Duration.between(rj.started, state.clock.instant());
    try {
      switch (d) {
        case Decision.Fail f -> {
          Optional<JobStatus> status = settler.fail(job, f.errorJson(), f.retryable());
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
        case Decision.Release r -> {
          if (!settler.release(job, r.delay())) {
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
        case Decision.Drop drop -> {
          state.metrics.leaseLost(job.jobType());
          log.warn("job dropped without writing anything: {}", drop.why());
        }
      }
    } catch (Settler.WorkerKilled e) {
      // killed: nothing more is written
    } catch (RuntimeException e) {
      // The job stays 'processing' with our lease; the stale-job rescuer takes it back after the timeout.
      state.metrics.loopError("settle");
      log.error("could not record the job's outcome {}; it will be requeued after the heartbeat timeout", d, e);
    }
  }

  /** Waits until no job thread runs, at most until {@code deadlineNanos}; true when idle. */
  boolean awaitIdle(long deadlineNanos) {
    synchronized (lock) {
      while (threads > 0) {
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
}
