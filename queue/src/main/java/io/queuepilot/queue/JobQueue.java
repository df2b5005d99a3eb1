package io.queuepilot.queue;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * The job-queue contract as the Java processes see it: one method per SQL function in sql/.
 * {@link PostgresJobQueue} is the real implementation; tests of callers use in-memory fakes.
 *
 * <p>Every lease-guarded write returns whether the caller still held the lease: {@code false}
 * means another worker owns the job now and the caller must drop its work.
 */
public interface JobQueue {

  /** {@code enqueue_job}: idempotent on {@link NewJob#idempotencyKey()}; returns the job id. */
  UUID enqueue(NewJob job);

  /**
   * {@code enqueue_jobs}: enqueues every job in one round trip (idempotent per key like {@link
   * #enqueue}); returns the job id of each element, in order (an existing job's id when its key
   * was already taken, also by an earlier element of the same call). The default loops over
   * {@link #enqueue}; the PostgreSQL queue overrides it with one set-based statement.
   */
  default List<UUID> enqueueAll(List<NewJob> jobs) {
    List<UUID> ids = new java.util.ArrayList<>(jobs.size());
    for (NewJob job : jobs) {
      ids.add(enqueue(job));
    }
    return ids;
  }

  /** {@code claim_next_job}: claims up to {@code batch} ready jobs for {@code workerId}. */
  List<ClaimedJob> claim(String workerId, List<String> jobTypes, List<String> lanes, int batch);

  /** {@code heartbeat_job}: false when the lease was lost. */
  boolean heartbeat(UUID jobId, UUID leaseToken);

  /** {@code complete_job}: false when the lease was lost (nothing changed). */
  boolean complete(UUID jobId, UUID leaseToken, String resultJson, Integer tokensUsed);

  /**
   * {@code fail_job}: records the error and either schedules a retry with backoff or
   * dead-letters the job. Empty when the lease was lost.
   */
  Optional<JobStatus> fail(UUID jobId, UUID leaseToken, String errorJson, boolean retryable);

  /** {@code release_job}: back to pending after {@code delay} without spending an attempt. */
  boolean release(UUID jobId, UUID leaseToken, Duration delay);

  /**
   * {@code complete_jobs}: completes every job whose lease is still held, in one round trip.
   * Returns the ids of the jobs that were fenced (lease lost; nothing changed for them).
   * The default loops over {@link #complete}; the PostgreSQL queue overrides it with one
   * set-based, per-job lease-guarded statement.
   */
  default Set<UUID> completeAll(List<Completion> completions) {
    Set<UUID> fenced = new LinkedHashSet<>();
    for (Completion c : completions) {
      if (!complete(c.jobId(), c.leaseToken(), c.resultJson(), c.tokensUsed())) {
        fenced.add(c.jobId());
      }
    }
    return fenced;
  }

  /**
   * {@code heartbeat_jobs}: extends every lease still held, in one round trip. Returns the ids
   * whose lease was lost.
   */
  default Set<UUID> heartbeatAll(List<Lease> leases) {
    Set<UUID> lost = new LinkedHashSet<>();
    for (Lease l : leases) {
      if (!heartbeat(l.jobId(), l.leaseToken())) {
        lost.add(l.jobId());
      }
    }
    return lost;
  }

  /**
   * {@code fail_jobs}: records each failure (retry with backoff or dead-letter), one round
   * trip. The map holds the new status of every job whose lease was held; fenced jobs are
   * absent from it.
   */
  default Map<UUID, JobStatus> failAll(List<Failure> failures) {
    Map<UUID, JobStatus> outcome = new LinkedHashMap<>();
    for (Failure f : failures) {
      fail(f.jobId(), f.leaseToken(), f.errorJson(), f.retryable()).ifPresent(s -> outcome.put(f.jobId(), s));
    }
    return outcome;
  }

  /** {@code release_jobs}: back to pending without spending an attempt; returns the fenced ids. */
  default Set<UUID> releaseAll(List<Lease> leases, Duration delay) {
    Set<UUID> fenced = new LinkedHashSet<>();
    for (Lease l : leases) {
      if (!release(l.jobId(), l.leaseToken(), delay)) {
        fenced.add(l.jobId());
      }
    }
    return fenced;
  }

  /**
   * {@code complete_and_claim_jobs}: completes these jobs under their leases (exactly as {@link
   * #completeAll}) and then claims up to {@code batch} ready jobs (exactly as {@link #claim}), in
   * one round trip and one transaction. {@code batch} 0 claims nothing. The default calls the two
   * separately; the PostgreSQL queue overrides it with the one function.
   */
  default CompletedAndClaimed completeAndClaim(List<Completion> completions, String workerId, List<String> jobTypes,
      List<String> lanes, int batch) {
    Set<UUID> fenced = completions.isEmpty() ? Set.of() : completeAll(completions);
    List<ClaimedJob> claimed = batch == 0 ? List.of() : claim(workerId, jobTypes, lanes, batch);
    return new CompletedAndClaimed(fenced, claimed);
  }

  /**
   * {@code requeue_stale_jobs(timeout, job_types, lanes)}: requeues (or dead-letters) jobs of
   * the given types and lanes (empty list = all) whose heartbeat is older than the timeout.
   */
  List<RequeuedJob> requeueStale(Duration heartbeatTimeout, List<String> jobTypes, List<String> lanes);

  /** {@code requeue_stale_jobs} over every job type and lane. */
  default List<RequeuedJob> requeueStale(Duration heartbeatTimeout) {
    return requeueStale(heartbeatTimeout, List.of(), List.of());
  }

  /** {@code queue_stats} for the given job types and lanes (empty list = all). */
  QueueStats stats(List<String> jobTypes, List<String> lanes, Duration heartbeatTimeout);

  /** Operator transitions: {@code retry_job}, {@code dead_letter_job}, {@code cancel_job}. */
  void retry(UUID jobId, Instant nextTime);

  void deadLetter(UUID jobId, String errorJson);

  void cancel(UUID jobId);

  /** Job statuses exactly as stored in {@code job_queue.status}. */
  enum JobStatus {
    PENDING, PROCESSING, COMPLETED, DEAD_LETTER, CANCELLED;

    public String sql() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static JobStatus fromSql(String s) {
      return valueOf(s.toUpperCase(java.util.Locale.ROOT));
    }
  }

  /** A job to enqueue; null fields take the SQL defaults. Priority 1 is the most urgent. */
  record NewJob(
      String jobType,
      String lane,
      String payloadJson,
      String idempotencyKey,
      UUID patientId,
      UUID shellFileId,
      UUID correlationId,
      Integer priority,
      Instant scheduledAt,
      Integer maxAttempts,
      Integer tokensEstimated) {

    /** A job with only the required parts; the rest take the SQL defaults. */
    public static NewJob of(String jobType, String payloadJson, String idempotencyKey) {
      return new NewJob(jobType, null, payloadJson, idempotencyKey, null, null, null, null, null, null, null);
    }
  }

  /** A job this worker now holds under {@code leaseToken}. */
  record ClaimedJob(
      UUID id,
      String jobType,
      String lane,
      String payloadJson,
      UUID leaseToken,
      int attempt,
      int maxAttempts,
      UUID patientId,
      UUID shellFileId,
      UUID correlationId,
      Integer tokensEstimated,
      Instant createdAt) {}

  /** A job and the lease its holder claimed it under. */
  record Lease(UUID jobId, UUID leaseToken) {}

  /** One successful job to complete under its lease; {@code tokensUsed} may be null. */
  record Completion(UUID jobId, UUID leaseToken, String resultJson, Integer tokensUsed) {}

  /** What {@link #completeAndClaim} did: the fenced completions and the jobs now held. */
  record CompletedAndClaimed(Set<UUID> fenced, List<ClaimedJob> claimed) {}

  /** One failed job to record under its lease. */
  record Failure(UUID jobId, UUID leaseToken, String errorJson, boolean retryable) {}

  /** One row of {@code requeue_stale_jobs}: the job and what happened to it. */
  record RequeuedJob(UUID jobId, JobStatus newStatus, String workerId) {}

  /**
   * {@code queue_stats}: what the controller scales on. Averages are over jobs completed in
   * the recent window and null when there were none. {@code readyEstimated}: the ready jobs
   * that carry a {@code tokens_estimated} (set at enqueue); {@code readyTokensEstimated} and
   * {@code maxReadyTokensEstimated}: the sum and the largest of those estimates, null when none
   * does (V113).
   */
  record QueueStats(
      long ready,
      long scheduled,
      long processing,
      long stale,
      long deadLetter,
      double oldestReadyAgeSeconds,
      Double avgDurationSeconds,
      Double avgTokensPerJob,
      long completedRecently,
      long readyEstimated,
      Long readyTokensEstimated,
      Long maxReadyTokensEstimated) {

    /** A row without the ready jobs' estimates (none of them carries a {@code tokens_estimated}). */
    public QueueStats(long ready, long scheduled, long processing, long stale, long deadLetter,
        double oldestReadyAgeSeconds, Double avgDurationSeconds, Double avgTokensPerJob, long completedRecently) {
      this(ready, scheduled, processing, stale, deadLetter, oldestReadyAgeSeconds, avgDurationSeconds, avgTokensPerJob,
          completedRecently, 0, null, null);
    }
  }
}
