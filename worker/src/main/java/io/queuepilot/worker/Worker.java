package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.worker.FailureDecider.Decision;
import io.queuepilot.worker.JobFailure.ErrorClass;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The claim → process → write-back loop of one worker: claims up to its free capacity, runs each
 * job on its own thread, heartbeats every job in flight (cancelling those whose lease is lost or
 * that exceed the maximum runtime), turns failures into fail/release decisions, and shuts down
 * gracefully (stop claiming, finish within the grace period, release the rest).
 */
public final class Worker {

  private static final Logger log = LoggerFactory.getLogger(Worker.class);
  private static final Duration MAX_CLAIM_PAUSE = Duration.ofSeconds(30);

  /** How the worker sizes its claims. */
  public record Settings(
      String workerId,
      int concurrency,
      List<String> jobTypes,
      List<String> lanes,
      Duration heartbeatInterval,
      Duration maxRuntime,
      Duration pollInterval,
      Duration staleRequeueInterval,
      Duration heartbeatTimeout,
      long heapPerJobBytes,
      double heapFraction,
      Duration rateLimitDefaultDelay) {

    public static Settings from(WorkerConfig c) {
      return new Settings(
          c.workerId(), c.concurrency(), c.jobTypes(), c.lanes(), c.heartbeatInterval(), c.maxRuntime(),
          c.pollInterval(), c.staleRequeueInterval(), c.heartbeatTimeout(), c.heapPerJobBytes(), c.heapFraction(),
          c.rateLimitDefaultDelay());
    }
  }

  private final Settings settings;
  private final JobQueue queue;
  private final JobHandler handler;
  private final Clock clock;
  private final WorkerMetrics metrics;
  private final FailureDecider decider;
  private final ProviderHalt providerHalt;
  private final int capacity;
  /** Keyed by lease token: the same job may come back to this worker under a new lease. */
  private final Map<UUID, RunningJob> inFlight = new ConcurrentHashMap<>();
  private final Semaphore wake = new Semaphore(0);
  private final Object idle = new Object();
  private final ScheduledExecutorService ticker;
  private final Thread claimThread;
  private final AtomicBoolean started = new AtomicBoolean();
  private volatile boolean stopping;
  private volatile boolean killed;
  private volatile Instant claimPausedUntil = Instant.MIN;

  /**
   * @param maxHeapBytes the heap the jobs share (normally {@code Runtime.maxMemory()}); with
   *     heapFraction and heapPerJobBytes it caps how many jobs run at once
   */
  public Worker(
      Settings settings, JobQueue queue, JobHandler handler, Clock clock, WorkerMetrics metrics, long maxHeapBytes) {
    this(settings, queue, handler, clock, metrics, maxHeapBytes, new ProviderHalt(clock));
  }

  /** @param providerHalt while it is in force the worker claims nothing (quota, key or model configuration refused) */
  public Worker(Settings settings, JobQueue queue, JobHandler handler, Clock clock, WorkerMetrics metrics,
      long maxHeapBytes, ProviderHalt providerHalt) {
    this.settings = settings;
    this.providerHalt = providerHalt;
    this.queue = queue;
    this.handler = handler;
    this.clock = clock;
    this.metrics = metrics;
    this.decider = new FailureDecider(settings.workerId(), settings.rateLimitDefaultDelay());
    this.capacity = capacity(settings.concurrency(), maxHeapBytes, settings.heapFraction(), settings.heapPerJobBytes());
    this.ticker =
        Executors.newScheduledThreadPool(
            1, r -> Thread.ofPlatform().name("qp-ticker-" + settings.workerId()).daemon(true).unstarted(r));
    this.claimThread = Thread.ofPlatform().name("qp-claim-" + settings.workerId()).unstarted(this::claimLoop);
    metrics.gauges(inFlight::size, () -> capacity);
  }

  /** Jobs the worker may hold at once: the concurrency, capped by the heap budget (at least 1). */
  public static int capacity(int concurrency, long maxHeapBytes, double heapFraction, long heapPerJobBytes) {
    long byMemory = (long) Math.floor(maxHeapBytes * heapFraction / heapPerJobBytes);
    return (int) Math.max(1, Math.min(concurrency, byMemory));
  }

  public int capacity() {
    return capacity;
  }

  public int inFlight() {
    return inFlight.size();
  }

  public String workerId() {
    return settings.workerId();
  }

  /** True once started and until shutdown begins. */
  public boolean accepting() {
    return started.get() && !stopping;
  }

  /** Starts claiming, heartbeating and (if configured) requeueing stale jobs. */
  public void start() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("worker already started");
    }
    long hb = settings.heartbeatInterval().toMillis();
    ticker.scheduleWithFixedDelay(this::heartbeatTick, hb, hb, TimeUnit.MILLISECONDS);
    if (!settings.staleRequeueInterval().isZero()) {
      long every = settings.staleRequeueInterval().toMillis();
      ticker.scheduleWithFixedDelay(this::requeueStaleTick, every, every, TimeUnit.MILLISECONDS);
    }
    claimThread.start();
    log.info(
        "worker {} started: capacity {} (concurrency {}), job types {}, lanes {}",
        settings.workerId(), capacity, settings.concurrency(), settings.jobTypes(),
        settings.lanes().isEmpty() ? "all" : settings.lanes());
  }

  /** A notification for {@code jobType} arrived (null = any): claim now instead of at the next poll. */
  public void wake(String jobType) {
    if (jobType == null || settings.jobTypes().isEmpty() || settings.jobTypes().contains(jobType)) {
      wake.release();
    }
  }

  private void claimLoop() {
    while (!stopping) {
      Duration wait = settings.pollInterval();
      try {
        int free = capacity - inFlight.size();
        Instant now = clock.instant();
        Optional<ProviderHalt.State> halted = providerHalt.current();
        if (halted.isPresent()) {
          // the provider refuses us: jobs stay pending for replicas (or a restart) that can run them
          Duration untilResume = Duration.between(now, halted.get().until().isAfter(now.plus(wait)) ? now.plus(wait) : halted.get().until());
          wait = untilResume.isNegative() || untilResume.isZero() ? Duration.ofMillis(1) : untilResume;
        } else if (free > 0 && !now.isBefore(claimPausedUntil)) {
          List<ClaimedJob> got = queue.claim(settings.workerId(), settings.jobTypes(), settings.lanes(), free);
          for (ClaimedJob job : got) {
            metrics.claimed(job.jobType(), 1);
            startJob(job);
          }
          if (got.size() == free) {
            continue; // capacity is full now; the loop waits for a job to finish
          }
        } else if (free > 0) {
          Duration untilResume = Duration.between(now, claimPausedUntil);
          wait = untilResume.compareTo(wait) < 0 ? untilResume : wait;
        }
      } catch (RuntimeException e) {
        metrics.claimError();
        log.warn("claim_next_job failed; retrying after the poll interval", e);
      }
      try {
        if (wake.tryAcquire(Math.max(1, wait.toMillis()), TimeUnit.MILLISECONDS)) {
          wake.drainPermits();
        }
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void startJob(ClaimedJob job) {
    RunningJob rj = new RunningJob(job, clock.instant());
    if (stopping) {
      // claimed in the very moment shutdown began: give it back at once
      if (rj.settled.compareAndSet(false, true)) {
        release(rj, ErrorClass.SHUTDOWN, "worker_shutdown", Duration.ZERO);
      }
      return;
    }
    inFlight.put(job.leaseToken(), rj);
    rj.thread = Thread.ofPlatform().name("qp-job-" + job.id()).unstarted(() -> run(rj));
    rj.thread.start();
  }

  private void run(RunningJob rj) {
    ClaimedJob job = rj.job;
    MDC.put("job_id", job.id().toString());
    if (job.correlationId() != null) {
      MDC.put("correlation_id", job.correlationId().toString());
    }
    MDC.put("job_type", job.jobType());
    MDC.put("worker_id", settings.workerId());
    long allocatedBefore = allocatedBytes();
    try {
      log.info("processing job (attempt {}/{})", job.attempt(), job.maxAttempts());
      try {
        handler.handle(rj);
        if (!rj.settled.get()) {
          CancelReason reason = rj.cancel.get();
          settle(rj, reason != null
              ? decider.cancelled(reason, job, clock.instant())
              : decider.decide(JobFailure.retryable("no_result", "the handler returned without writing a result", null),
                  job, clock.instant()));
        }
      } catch (Throwable t) {
        Thread.interrupted(); // a cancel interrupt must not break the settling database call
        CancelReason reason = rj.cancel.get();
        Decision d = reason != null ? decider.cancelled(reason, job, clock.instant()) : decider.decide(t, job, clock.instant());
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
        metrics.allocated(job.jobType(), allocatedAfter - allocatedBefore);
      }
      inFlight.remove(job.leaseToken());
      MDC.clear();
      wake.release();
      synchronized (idle) {
        idle.notifyAll();
      }
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

  private void settle(RunningJob rj, Decision d) {
    if (killed || !rj.settled.compareAndSet(false, true)) {
      return;
    }
    ClaimedJob job = rj.job;
    Duration took = Duration.between(rj.started, clock.instant());
    try {
      switch (d) {
        case Decision.Fail f -> {
          Optional<JobStatus> status = queue.fail(job.id(), job.leaseToken(), f.errorJson(), f.retryable());
          if (status.isEmpty()) {
            metrics.leaseLost(job.jobType());
            log.warn("fail_job found the lease lost; another worker owns the job");
            return;
          }
          metrics.failed(job.jobType(), f.errorClass().json(), f.code(), took);
          if (status.get() == JobStatus.DEAD_LETTER) {
            metrics.deadLettered(job.jobType(), f.code());
            log.warn("job dead-lettered: {}", f.errorJson());
          }
        }
        case Decision.Release r -> release(rj, r.errorClass(), r.code(), r.delay());
        case Decision.Drop drop -> {
          metrics.leaseLost(job.jobType());
          log.warn("job dropped without writing anything: {}", drop.why());
        }
      }
    } catch (RuntimeException e) {
      // The job stays 'processing' with our lease; requeue_stale_jobs takes it back after the timeout.
      metrics.loopError("settle");
      log.error("could not record the job's outcome {}; it will be requeued after the heartbeat timeout", d, e);
    }
  }

  private void release(RunningJob rj, ErrorClass cls, String code, Duration delay) {
    ClaimedJob job = rj.job;
    boolean ok = queue.release(job.id(), job.leaseToken(), delay);
    if (!ok) {
      metrics.leaseLost(job.jobType());
      log.warn("release_job found the lease lost");
      return;
    }
    metrics.released(job.jobType(), code, Duration.between(rj.started, clock.instant()));
    if (cls == ErrorClass.RATE_LIMITED) {
      Duration pause = delay.compareTo(MAX_CLAIM_PAUSE) > 0 ? MAX_CLAIM_PAUSE : delay;
      Instant until = clock.instant().plus(pause);
      if (until.isAfter(claimPausedUntil)) {
        claimPausedUntil = until; // claim less while the budget says no: jobs wait in the queue
      }
      log.info("job released for {} ms ({}); claims paused as long", delay.toMillis(), code);
    } else {
      log.info("job released ({})", code);
    }
  }

  /**
   * One heartbeat round: cancels jobs past their maximum runtime and heartbeats the rest,
   * cancelling those whose lease is lost. Runs every heartbeat interval (public for tests that
   * drive it with an injected clock).
   */
  public void heartbeatTick() {
    try {
      Instant now = clock.instant();
      for (RunningJob rj : List.copyOf(inFlight.values())) {
        if (rj.settled.get() || rj.cancel.get() != null || killed) {
          continue;
        }
        if (Duration.between(rj.started, now).compareTo(settings.maxRuntime()) > 0) {
          withMdc(rj, () -> log.warn("job exceeded the maximum runtime {}; cancelling", settings.maxRuntime()));
          cancel(rj, CancelReason.MAX_RUNTIME);
          continue;
        }
        boolean alive;
        try {
          alive = queue.heartbeat(rj.job.id(), rj.job.leaseToken());
        } catch (RuntimeException e) {
          metrics.heartbeatFailure("error");
          withMdc(rj, () -> log.warn("heartbeat failed; will try again next round", e));
          continue;
        }
        if (!alive && !rj.settled.get()) {
          metrics.heartbeatFailure("lease_lost");
          withMdc(rj, () -> log.warn("heartbeat_job says the lease is lost; cancelling the job, nothing will be written"));
          cancel(rj, CancelReason.LEASE_LOST);
        }
      }
    } catch (RuntimeException e) {
      metrics.loopError("heartbeat");
      log.error("heartbeat round failed", e);
    }
  }

  private void requeueStaleTick() {
    try {
      for (JobQueue.RequeuedJob r : queue.requeueStale(settings.heartbeatTimeout())) {
        log.warn("requeued stale job {} of worker {} -> {}", r.jobId(), r.workerId(), r.newStatus());
      }
    } catch (RuntimeException e) {
      metrics.loopError("requeue_stale");
      log.warn("requeue_stale_jobs failed", e);
    }
  }

  private void cancel(RunningJob rj, CancelReason reason) {
    if (rj.settled.get()) {
      return;
    }
    if (rj.cancel.compareAndSet(null, reason) && rj.thread != null) {
      rj.thread.interrupt();
    }
  }

  /**
   * Graceful shutdown: stop claiming, let jobs in flight finish within {@code grace}, then cancel
   * and release the rest so another worker takes them at once. Returns the number released.
   */
  public int shutdown(Duration grace) {
    stopping = true;
    wake.release();
    joinQuietly(claimThread, Duration.ofSeconds(30));
    long deadline = System.nanoTime() + grace.toNanos();
    synchronized (idle) {
      while (!inFlight.isEmpty()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          idle.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    int released = 0;
    List<RunningJob> remaining = new ArrayList<>(inFlight.values());
    for (RunningJob rj : remaining) {
      rj.cancel.compareAndSet(null, CancelReason.SHUTDOWN);
      if (rj.settled.compareAndSet(false, true)) {
        try {
          withMdc(rj, () -> release(rj, ErrorClass.SHUTDOWN, "worker_shutdown", Duration.ZERO));
          released++;
        } catch (RuntimeException e) {
          metrics.loopError("shutdown_release");
          log.error("could not release job {} at shutdown; it will be requeued after the heartbeat timeout", rj.job.id(), e);
        }
      }
      if (rj.thread != null) {
        rj.thread.interrupt();
      }
    }
    // Their outcome is recorded; threads stuck in uninterruptible I/O only get a moment to
    // leave (they can no longer write anything) before the caller closes the clients under them.
    long joinUntil = System.nanoTime() + Duration.ofSeconds(1).toNanos();
    for (RunningJob rj : remaining) {
      long left = joinUntil - System.nanoTime();
      if (left > 0) {
        joinQuietly(rj.thread, Duration.ofNanos(left));
      }
    }
    ticker.shutdownNow();
    log.info("worker {} stopped; {} job(s) released at shutdown", settings.workerId(), released);
    return released;
  }

  /** Abrupt stop, as if the process died: no further database writes of any kind. For tests. */
  public void kill() {
    killed = true;
    stopping = true;
    ticker.shutdownNow();
    claimThread.interrupt();
    for (RunningJob rj : inFlight.values()) {
      if (rj.thread != null) {
        rj.thread.interrupt();
      }
    }
  }

  private static void joinQuietly(Thread t, Duration max) {
    if (t == null || !t.isAlive()) {
      return;
    }
    try {
      t.join(max);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void withMdc(RunningJob rj, Runnable r) {
    Map<String, String> before = MDC.getCopyOfContextMap();
    MDC.put("job_id", rj.job.id().toString());
    if (rj.job.correlationId() != null) {
      MDC.put("correlation_id", rj.job.correlationId().toString());
    }
    try {
      r.run();
    } finally {
      if (before == null) {
        MDC.clear();
      } else {
        MDC.setContextMap(before);
      }
    }
  }

  /** One job in flight; also the handler's view of it. */
  private final class RunningJob implements JobContext {
    final ClaimedJob job;
    final Instant started;
    final AtomicReference<CancelReason> cancel = new AtomicReference<>();
    final AtomicBoolean settled = new AtomicBoolean();
    volatile Thread thread;

    RunningJob(ClaimedJob job, Instant started) {
      this.job = job;
      this.started = started;
    }

    @Override
    public ClaimedJob job() {
      return job;
    }

    @Override
    public String workerId() {
      return settings.workerId();
    }

    @Override
    public Optional<CancelReason> cancelled() {
      return Optional.ofNullable(cancel.get());
    }

    @Override
    public boolean commit(LeaseWrite write) throws Exception {
      if (killed || cancel.get() != null || !settled.compareAndSet(false, true)) {
        return false;
      }
      boolean ok;
      try {
        ok = write.write();
      } catch (Exception | Error e) {
        // the write's transaction rolled back: the job is still ours to fail or release
        settled.set(false);
        throw e;
      }
      Instant finished = clock.instant();
      Duration took = Duration.between(started, finished);
      if (ok) {
        metrics.completed(job.jobType(), took);
        if (job.createdAt() != null) {
          metrics.timeToProcessed(job.jobType(), job.lane(), Duration.between(job.createdAt(), finished));
        }
        log.info("job completed in {} ms", took.toMillis());
      } else {
        metrics.leaseLost(job.jobType());
        log.warn("write-back found the lease lost; nothing was written");
      }
      return ok;
    }
  }
}
