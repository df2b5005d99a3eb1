package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's claim → process → settle loop, behind one façade: the {@link ClaimLoop} claims up
 * to free capacity (plus, when configured, a bounded local queue of jobs claimed ahead), the
 * {@link JobThreads} run each job, {@link Heartbeats} extends every held lease in one statement per
 * interval, the {@link Settler} writes outcomes that coincide in one round trip, and
 * {@link #shutdown} stops claiming, releases what waits, lets running jobs finish within the grace
 * period and releases the rest. Built with {@link #builder}.
 */
public final class Worker {

  private static final Logger log = LoggerFactory.getLogger(Worker.class);

  /** The loop's settings; made only by {@link Builder}, whose fields start at {@link WorkerDefaults}. */
  record Settings(
      String workerId,
      int concurrency,
      List<String> jobTypes,
      List<String> lanes,
      Duration heartbeatInterval,
      Duration maxRuntime,
      Duration pollInterval,
      long heapPerJobBytes,
      double heapFraction,
      Duration rateLimitDefaultDelay,
      int localQueueSize,
      Duration localQueueTtl,
      int maxBatch) {}

  private final WorkerState state;
  private final JobThreads jobs;
  private final ClaimLoop claimLoop;
  private final Heartbeats heartbeats;
  private final Settler settler;
  private final ScheduledExecutorService ticker;
  private final AtomicBoolean started = new AtomicBoolean();

  private Worker(Builder b) {
    Settings settings = new Settings(b.workerId, b.concurrency, List.copyOf(b.jobTypes), List.copyOf(b.lanes),
        b.heartbeatInterval, b.maxRuntime, b.pollInterval, b.heapPerJobBytes, b.heapFraction, b.rateLimitDefaultDelay,
        b.localQueueSize, b.localQueueTtl, b.maxBatch);
    int capacity = capacity(settings.concurrency(), b.maxHeapBytes, settings.heapFraction(), settings.heapPerJobBytes());
    this.state = new WorkerState(settings, b.queue, b.clock, b.metrics, b.providerHalt != null ? b.providerHalt
        : new ProviderHalt(b.clock), capacity);
    this.settler = new Settler(b.queue, b.metrics, state::killed, settings.maxBatch(), settings.workerId());
    this.jobs = new JobThreads(state, b.handler, settler);
    this.claimLoop = new ClaimLoop(state, jobs);
    if (settings.localQueueSize() > 0) {
      settler.refillWith(claimLoop::completeAndRefill); // one round trip completes and claims ahead
    }
    this.heartbeats = new Heartbeats(state, jobs, settler);
    this.ticker = Executors.newScheduledThreadPool(
        1, r -> Thread.ofPlatform().name("qp-ticker-" + settings.workerId()).daemon(true).unstarted(r));
    b.metrics.gauges(jobs::held, () -> capacity);
  }

  /** A builder over the queue and the handler; every other setting starts at its {@link WorkerDefaults} value. */
  public static Builder builder(JobQueue queue, JobHandler handler) {
    return new Builder(queue, handler);
  }

  /** Jobs the worker may run at once: the concurrency, capped by the heap budget (at least 1). */
  public static int capacity(int concurrency, long maxHeapBytes, double heapFraction, long heapPerJobBytes) {
    long byMemory = (long) Math.floor(maxHeapBytes * heapFraction / heapPerJobBytes);
    return (int) Math.max(1, Math.min(concurrency, byMemory));
  }

  public int capacity() {
    return state.capacity;
  }

  /** Jobs this worker holds a lease on: running plus claimed ahead and waiting. */
  public int inFlight() {
    return jobs.held();
  }

  /** Jobs claimed ahead, waiting in the local queue. */
  public int waiting() {
    return jobs.waiting();
  }

  /** Outcomes waiting for the settler's next statement (tests observe batching with it). */
  int pendingOutcomes() {
    return settler.pending();
  }

  public String workerId() {
    return state.settings.workerId();
  }

  /** True once started and until shutdown begins. */
  public boolean accepting() {
    return started.get() && !state.stopping();
  }

  /** Starts claiming, settling and heartbeating. */
  public void start() {
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("worker already started");
    }
    long hb = state.settings.heartbeatInterval().toMillis();
    ticker.scheduleWithFixedDelay(heartbeats::tick, hb, hb, TimeUnit.MILLISECONDS);
    settler.start();
    claimLoop.start();
    Settings s = state.settings;
    log.info("worker {} started: capacity {} (concurrency {}), local queue {}, job types {}, lanes {}",
        s.workerId(), state.capacity, s.concurrency(), s.localQueueSize(), s.jobTypes(),
        s.lanes().isEmpty() ? "all" : s.lanes());
  }

  /** A notification for {@code jobType} arrived (null = any): claim now instead of at the next poll. */
  public void wake(String jobType) {
    List<String> types = state.settings.jobTypes();
    if (jobType == null || types.isEmpty() || types.contains(jobType)) {
      jobs.wakeToClaim();
    }
  }

  /**
   * One heartbeat round (runs every heartbeat interval; public for tests that drive it with an
   * injected clock).
   */
  public void heartbeatTick() {
    heartbeats.tick();
  }

  /**
   * Graceful shutdown: stop claiming, release the jobs claimed ahead at once (no attempt spent),
   * let running jobs finish within {@code grace}, then cancel and release the rest so another
   * worker takes them at once. Returns the number released.
   */
  public int shutdown(Duration grace) {
    state.stop();
    jobs.stop();
    joinQuietly(claimLoop.thread(), Duration.ofSeconds(30));
    long deadline = System.nanoTime() + grace.toNanos();
    // a job thread's claim in flight lands in the local queue, which is released next
    jobs.awaitNoClaims(System.nanoTime() + Duration.ofSeconds(30).toNanos());
    int released = releaseAtShutdown(jobs.drainWaiting());
    jobs.awaitIdle(deadline);
    List<JobRun> remaining = jobs.runs();
    List<ClaimedJob> toRelease = new ArrayList<>();
    for (JobRun rj : remaining) {
      rj.markCancelled(CancelReason.SHUTDOWN);
      if (rj.settled.compareAndSet(false, true)) {
        toRelease.add(rj.job); // the outcome is ours now: the job's thread will write nothing
      }
    }
    released += releaseAtShutdown(toRelease);
    remaining.forEach(JobRun::interrupt);
    // Their outcome is recorded; threads stuck in uninterruptible I/O only get a moment to
    // leave (they can no longer write anything) before the caller closes the clients under them.
    jobs.awaitIdle(System.nanoTime() + Duration.ofSeconds(1).toNanos());
    settler.close(Duration.ofSeconds(5));
    ticker.shutdownNow();
    log.info("worker {} stopped; {} job(s) released at shutdown", state.settings.workerId(), released);
    return released;
  }

  private int releaseAtShutdown(List<ClaimedJob> toRelease) {
    if (toRelease.isEmpty()) {
      return 0;
    }
    try {
      Set<UUID> fenced = settler.releaseNow(toRelease, Duration.ZERO);
      int released = 0;
      for (ClaimedJob j : toRelease) {
        if (fenced.contains(j.id())) {
          state.metrics.leaseLost(j.jobType());
        } else {
          state.metrics.released(j.jobType(), "worker_shutdown", Duration.ZERO);
          released++;
        }
      }
      return released;
    } catch (RuntimeException e) {
      state.metrics.loopError("shutdown_release");
      log.error("could not release {} job(s) at shutdown; they will be requeued after the heartbeat timeout",
          toRelease.size(), e);
      return 0;
    }
  }

  /** Abrupt stop, as if the process died: no further database writes of any kind. For tests. */
  public void kill() {
    state.kill();
    jobs.stop();
    ticker.shutdownNow();
    settler.kill();
    claimLoop.thread().interrupt();
    jobs.runs().forEach(JobRun::interrupt);
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

  /** Settings of one worker, starting at {@link WorkerDefaults}; {@link #build} validates them. */
  public static final class Builder {
    private final JobQueue queue;
    private final JobHandler handler;
    private String workerId = "worker-" + ProcessHandle.current().pid();
    private int concurrency = WorkerDefaults.CONCURRENCY;
    private List<String> jobTypes = WorkerDefaults.JOB_TYPES;
    private List<String> lanes = WorkerDefaults.LANES;
    private Duration heartbeatInterval = WorkerDefaults.HEARTBEAT_INTERVAL;
    private Duration maxRuntime = WorkerDefaults.MAX_RUNTIME;
    private Duration pollInterval = WorkerDefaults.POLL_INTERVAL;
    private long heapPerJobBytes = WorkerDefaults.HEAP_PER_JOB_BYTES;
    private double heapFraction = WorkerDefaults.HEAP_FRACTION;
    private Duration rateLimitDefaultDelay = WorkerDefaults.RATE_LIMIT_DEFAULT_DELAY;
    private int localQueueSize = WorkerDefaults.LOCAL_QUEUE_SIZE;
    private Duration localQueueTtl = WorkerDefaults.LOCAL_QUEUE_TTL;
    private int maxBatch = WorkerDefaults.MAX_BATCH;
    private Clock clock = Clock.systemUTC();
    private WorkerMetrics metrics;
    private long maxHeapBytes = Runtime.getRuntime().maxMemory();
    private ProviderHalt providerHalt;

    private Builder(JobQueue queue, JobHandler handler) {
      this.queue = Objects.requireNonNull(queue, "queue");
      this.handler = Objects.requireNonNull(handler, "handler");
    }

    /** Everything {@link WorkerConfig} configures for the loop. */
    public Builder config(WorkerConfig c) {
      return workerId(c.workerId()).concurrency(c.concurrency()).jobTypes(c.jobTypes()).lanes(c.lanes())
          .heartbeatInterval(c.heartbeatInterval()).maxRuntime(c.maxRuntime()).pollInterval(c.pollInterval())
          .heapPerJobBytes(c.heapPerJobBytes()).heapFraction(c.heapFraction())
          .rateLimitDefaultDelay(c.rateLimitDefaultDelay()).localQueue(c.localQueueSize(), c.localQueueTtl());
    }

    public Builder workerId(String v) {
      workerId = v;
      return this;
    }

    public Builder concurrency(int v) {
      concurrency = v;
      return this;
    }

    public Builder jobTypes(List<String> v) {
      jobTypes = v;
      return this;
    }

    public Builder lanes(List<String> v) {
      lanes = v;
      return this;
    }

    public Builder heartbeatInterval(Duration v) {
      heartbeatInterval = v;
      return this;
    }

    public Builder maxRuntime(Duration v) {
      maxRuntime = v;
      return this;
    }

    public Builder pollInterval(Duration v) {
      pollInterval = v;
      return this;
    }

    public Builder heapPerJobBytes(long v) {
      heapPerJobBytes = v;
      return this;
    }

    public Builder heapFraction(double v) {
      heapFraction = v;
      return this;
    }

    public Builder rateLimitDefaultDelay(Duration v) {
      rateLimitDefaultDelay = v;
      return this;
    }

    /**
     * Claim ahead: keep up to {@code size} claimed jobs waiting beyond the running ones (0 = off);
     * a waiting job not started within {@code ttl} goes back to the queue.
     */
    public Builder localQueue(int size, Duration ttl) {
      localQueueSize = size;
      localQueueTtl = ttl;
      return this;
    }

    /** The most jobs one claim, completion, heartbeat or release statement carries. */
    public Builder maxBatch(int v) {
      maxBatch = v;
      return this;
    }

    public Builder clock(Clock v) {
      clock = v;
      return this;
    }

    public Builder metrics(WorkerMetrics v) {
      metrics = v;
      return this;
    }

    /** The heap the jobs share (normally {@code Runtime.maxMemory()}); with the heap settings it caps capacity. */
    public Builder maxHeapBytes(long v) {
      maxHeapBytes = v;
      return this;
    }

    /** While it is in force the worker claims nothing (quota, key or model configuration refused). */
    public Builder providerHalt(ProviderHalt v) {
      providerHalt = v;
      return this;
    }

    public Worker build() {
      List<String> errors = new ArrayList<>();
      if (workerId == null || workerId.isBlank()) {
        errors.add("workerId must not be blank");
      }
      if (concurrency < 1) {
        errors.add("concurrency must be >= 1, got " + concurrency);
      }
      if (jobTypes == null || lanes == null) {
        errors.add("jobTypes and lanes must not be null");
      }
      for (var d : List.of(heartbeatInterval, maxRuntime, pollInterval, localQueueTtl)) {
        if (d == null || d.isNegative() || d.isZero()) {
          errors.add("intervals must be positive, got " + d);
        }
      }
      if (localQueueSize < 0) {
        errors.add("localQueue size must be >= 0, got " + localQueueSize);
      }
      if (maxBatch < 1) {
        errors.add("maxBatch must be >= 1, got " + maxBatch);
      }
      if (heapPerJobBytes < 1 || !(heapFraction > 0 && heapFraction <= 1)) {
        errors.add("heapPerJobBytes must be >= 1 and heapFraction in (0, 1]");
      }
      if (!errors.isEmpty()) {
        throw new IllegalArgumentException("invalid worker settings: " + String.join("; ", errors));
      }
      if (metrics == null) {
        metrics = new WorkerMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
      }
      return new Worker(this);
    }
  }
}
