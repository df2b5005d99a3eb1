package io.queuepilot.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The worker's Prometheus metrics (names as scraped: {@code queuepilot_worker_*}); one method per
 * event so the loop never builds meter names itself. The per-job meters are looked up once per job
 * type (lane, statement) and kept: a job's metrics cost a few increments, not a registry lookup.
 */
public final class WorkerMetrics {

  private final MeterRegistry registry;
  /** The meters every job touches, per job type: created on first use, then reused. */
  private final ConcurrentHashMap<String, PerJobType> perJobType = new ConcurrentHashMap<>();
  /** {@code queuepilot_worker_batch_jobs} per statement. */
  private final ConcurrentHashMap<String, DistributionSummary> batchSizes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> statementTimes = new ConcurrentHashMap<>();

  public WorkerMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The meters of one job type that every job records. */
  private final class PerJobType {
    final Counter claimed;
    final Counter completed;
    final Counter leaseLost;
    final Timer completedDuration;
    final DistributionSummary allocated;
    final ConcurrentHashMap<String, Timer> timeToProcessed = new ConcurrentHashMap<>();

    PerJobType(String jobType) {
      claimed = counter("queuepilot.worker.jobs.claimed", "Jobs claimed", "job_type", jobType);
      completed = counter("queuepilot.worker.jobs.completed", "Jobs completed (written back)", "job_type", jobType);
      leaseLost = counter("queuepilot.worker.jobs.lease.lost", "Jobs dropped because another worker holds the lease",
          "job_type", jobType);
      completedDuration = durationTimer(jobType, "completed");
      allocated = DistributionSummary.builder("queuepilot.worker.job.allocated.bytes")
          .description("Heap bytes allocated by one job's thread (not retained size): a guide for QUEUEPILOT_HEAP_PER_JOB_MB")
          .baseUnit("bytes")
          .tags("job_type", jobType)
          .publishPercentileHistogram()
          .minimumExpectedValue(1024.0 * 1024)
          .maximumExpectedValue(8.0 * 1024 * 1024 * 1024)
          .register(registry);
    }

    Timer timeToProcessed(String jobType, String lane) {
      return timeToProcessed.computeIfAbsent(lane, l -> Timer.builder("queuepilot.worker.time.to.processed")
          .description("Time from job creation (enqueue) to completed write-back, including queueing and retries")
          .tags("job_type", jobType, "lane", l)
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(100))
          .maximumExpectedValue(Duration.ofHours(2))
          .register(registry));
    }
  }

  private PerJobType of(String jobType) {
    PerJobType m = perJobType.get(jobType);
    return m != null ? m : perJobType.computeIfAbsent(jobType, PerJobType::new);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Label values of the loop-error counter, one per background loop. */
  static final List<String> LOOPS = List.of("settle", "heartbeat", "local_queue_ttl", "shutdown_release");
  /** Label values of the heartbeat-failure counter. */
  static final List<String> HEARTBEAT_FAILURE_KINDS = List.of("error", "lease_lost");
  /** Label values of the budget-wait counter (OpenAiProcessor). */
  static final List<String> BUDGET_WAIT_REASONS = List.of("token_budget", "openai_429", "openai_headers");

  /**
   * Creates, at 0, every counter series whose labels are known at start-up (per claimed job type:
   * claimed, completed, lease lost; the loop, heartbeat and budget series), so that a rate exists
   * from the first scrape: an alert dividing failures by completions must not go silent because
   * no job has completed yet. Failed and dead-lettered series carry the failure's code, known only
   * when it happens; the chart's rules count an absent series as 0.
   */
  public void preRegister(List<String> jobTypes) {
    for (String jobType : jobTypes) {
      of(jobType); // claimed, completed, lease lost (and the job's timers) at 0
    }
    HEARTBEAT_FAILURE_KINDS.forEach(kind ->
        counter("queuepilot.worker.heartbeat.failures", "Heartbeats that failed (error) or found the lease lost", "kind", kind));
    counter("queuepilot.worker.claim.errors", "claim_next_job calls that failed");
    LOOPS.forEach(loop -> counter("queuepilot.worker.loop.errors", "Errors survived by a background loop", "loop", loop));
    BUDGET_WAIT_REASONS.forEach(reason -> counter("queuepilot.worker.budget.waits",
        "Times the token budget or OpenAI rate limits said not now", "reason", reason));
    counter("queuepilot.worker.notifications", "queuepilot_jobs notifications received");
  }

  /** Registers gauges read on scrape: jobs in flight and current claim capacity. */
  public void gauges(Supplier<Number> inFlight, Supplier<Number> capacity) {
    Gauge.builder("queuepilot.worker.jobs.in.flight", inFlight).description("Jobs this worker holds a lease on now (running and claimed ahead)").register(registry);
    Gauge.builder("queuepilot.worker.capacity", capacity)
        .description("Jobs this worker may hold at once: min(concurrency, heap budget / heap per job)")
        .register(registry);
  }

  /**
   * Registers {@code queuepilot_worker_provider_halted{reason}}: 1 while the model provider refuses
   * this worker for that reason (quota, auth, config), else 0 — what the chart's
   * QueuePilotModelProvider* alerts watch.
   */
  public void providerHalt(ProviderHalt halt) {
    for (ProviderHalt.Reason r : ProviderHalt.Reason.values()) {
      Gauge.builder("queuepilot.worker.provider.halted",
              () -> halt.current().filter(s -> s.reason() == r).isPresent() ? 1 : 0)
          .description("1 while the model provider refuses this worker (quota/billing, key, model configuration)")
          .tag("reason", r.name().toLowerCase(java.util.Locale.ROOT))
          .register(registry);
    }
  }

  /** One provider answer that halts spending (insufficient_quota, invalid_api_key, unsupported_parameter, ...). */
  public void providerError(String reason, String code) {
    counter("queuepilot.worker.provider.errors", "Provider answers that stop this worker's spending", "reason", reason,
        "code", code).increment();
  }

  /** Pages of a document not read, by reason (a completed extraction stores them as partial). */
  public void pagesUnread(String reason, int n) {
    counter("queuepilot.worker.pages.unread", "Pages of completed extractions that were not read", "reason", reason)
        .increment(n);
  }

  /** Events the model returned that failed validation and were dropped (recorded with the extraction). */
  public void eventsDropped(String field, int n) {
    counter("queuepilot.worker.events.dropped", "Model events dropped by per-event validation", "field", field)
        .increment(n);
  }

  /**
   * Registers {@code queuepilot_worker_db_transaction_pooler} (1 when the main database URL is a
   * transaction pooler, so no prepared statements and no LISTEN on it) and {@code
   * queuepilot_worker_notifications_listening} (1 while a LISTEN connection is up; 0 = polling only).
   */
  public void databaseMode(boolean transactionPooler, Supplier<Number> listening) {
    Gauge.builder("queuepilot.worker.db.transaction.pooler", () -> transactionPooler ? 1 : 0)
        .description("1 when the main database URL goes through a transaction pooler (detected or configured)")
        .register(registry);
    Gauge.builder("queuepilot.worker.notifications.listening", listening)
        .description("1 while the LISTEN connection is up; 0 = woken by polling only")
        .register(registry);
  }

  public void claimed(String jobType, int n) {
    of(jobType).claimed.increment(n);
  }

  public void completed(String jobType, Duration took) {
    PerJobType m = of(jobType);
    m.completed.increment();
    m.completedDuration.record(took);
  }

  /**
   * Time to processed of a completed job: from its creation (enqueue, {@code created_at} in the
   * database) to its successful write-back, so queueing, retries and processing all count — the
   * quantity the p95 latency SLOs are stated in. A negative span (database and worker clocks
   * disagree) counts as zero rather than being dropped.
   */
  public void timeToProcessed(String jobType, String lane, Duration sinceCreated) {
    of(jobType).timeToProcessed(jobType, lane == null ? "" : lane)
        .record(sinceCreated.isNegative() ? Duration.ZERO : sinceCreated);
  }

  public void failed(String jobType, String errorClass, String code, Duration took) {
    counter("queuepilot.worker.jobs.failed", "Jobs failed through fail_job", "job_type", jobType, "error_class", errorClass, "code", code)
        .increment();
    duration(jobType, "failed", took);
  }

  public void deadLettered(String jobType, String code) {
    counter("queuepilot.worker.jobs.dead.lettered", "Jobs that fail_job moved to dead letter", "job_type", jobType, "code", code)
        .increment();
  }

  public void released(String jobType, String reason, Duration took) {
    counter("queuepilot.worker.jobs.released", "Jobs released back to pending without spending an attempt", "job_type", jobType, "reason", reason)
        .increment();
    duration(jobType, "released", took);
  }

  public void leaseLost(String jobType) {
    of(jobType).leaseLost.increment();
  }

  public void heartbeatFailure(String kind) {
    counter("queuepilot.worker.heartbeat.failures", "Heartbeats that failed (error) or found the lease lost", "kind", kind).increment();
  }

  public void claimError() {
    counter("queuepilot.worker.claim.errors", "claim_next_job calls that failed").increment();
  }

  public void loopError(String loop) {
    counter("queuepilot.worker.loop.errors", "Errors survived by a background loop", "loop", loop).increment();
  }

  public void tokensUsed(String model, long tokens) {
    counter("queuepilot.worker.tokens.used", "OpenAI tokens used (from response usage)", "model", model).increment(tokens);
  }

  public void budgetWait(String reason) {
    counter("queuepilot.worker.budget.waits", "Times the token budget or OpenAI rate limits said not now", "reason", reason).increment();
  }

  public void notification() {
    counter("queuepilot.worker.notifications", "queuepilot_jobs notifications received").increment();
  }

  /** Bytes the job's thread allocated (a measure for tuning QUEUEPILOT_HEAP_PER_JOB_MB). */
  public void allocated(String jobType, long bytes) {
    of(jobType).allocated.record(bytes);
  }

  /** Jobs one queue statement carried ({@code statement}: claim, complete, fail, release, heartbeat). */
  public void batch(String statement, int jobs) {
    batchSizes.computeIfAbsent(statement, s -> DistributionSummary.builder("queuepilot.worker.batch.jobs")
        .description("Jobs carried by one claim, complete, fail, release or heartbeat statement")
        .tags("statement", s)
        .register(registry))
        .record(jobs);
  }

  /** How long one claim or completion statement took, from the call to its answer ({@code statement}: claim, complete). */
  public void statement(String statement, long nanos) {
    statementTimes.computeIfAbsent(statement, s -> Timer.builder("queuepilot.worker.statement.duration")
        .description("Time from sending one claim or completion statement to its answer")
        .tags("statement", s)
        .register(registry))
        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  private void duration(String jobType, String outcome, Duration took) {
    durationTimer(jobType, outcome).record(took);
  }

  private Timer durationTimer(String jobType, String outcome) {
    return Timer.builder("queuepilot.worker.job.duration")
        .description("Processing time of a job from claim to its final write")
        .tags("job_type", jobType, "outcome", outcome)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(10))
        .maximumExpectedValue(Duration.ofMinutes(30))
        .register(registry);
  }

  private Counter counter(String name, String description, String... tags) {
    return Counter.builder(name).description(description).tags(tags).register(registry);
  }
}
