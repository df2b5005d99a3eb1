package io.queuepilot.worker.fakes;

import io.queuepilot.queue.JobQueue;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * A hand-written in-memory {@link JobQueue} with the contract's lease semantics (one new lease token
 * per claim statement, shared by the jobs it takes, as V112's claim_next_job does; writes guarded by
 * job id and lease together; release gives the attempt back), recording every call for asserts.
 */
public final class InMemoryJobQueue implements JobQueue {

  /** One stored job. */
  public static final class Row {
    public final UUID id = UUID.randomUUID();
    public final String jobType;
    public final String payload;
    public JobStatus status = JobStatus.PENDING;
    public UUID lease;
    public int attempt;
    public int maxAttempts = 5;
    public String error;
    public Duration lastReleaseDelay;
    public int releases;
    public int heartbeats;
    public String lane = "default";
    public Instant createdAt = Instant.EPOCH;

    Row(String jobType, String payload) {
      this.jobType = jobType;
      this.payload = payload;
    }
  }

  private final Map<UUID, Row> rows = new LinkedHashMap<>();
  public final List<Integer> claimBatches = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** The thread of every claim, in call order. */
  public final List<Thread> claimThreads = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** The most jobs ever processing (leased) right after a claim. */
  public volatile int mostProcessing;
  /** Runs at the start of every claim with its batch size, outside the lock (it may block). */
  public volatile java.util.function.IntConsumer beforeClaim = n -> {};
  /** Runs at the end of every claim, after its snapshot, with the number claimed (outside the lock: it may block). */
  public volatile java.util.function.IntConsumer afterClaim = n -> {};
  public volatile boolean failHeartbeats;
  /** Sizes of each batched call, in call order (one entry = one round trip). */
  public final List<Integer> completeAllBatches = new java.util.concurrent.CopyOnWriteArrayList<>();
  public final List<Integer> heartbeatAllBatches = new java.util.concurrent.CopyOnWriteArrayList<>();
  public final List<Integer> releaseAllBatches = new java.util.concurrent.CopyOnWriteArrayList<>();
  public final List<Integer> failAllBatches = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Every completeAndClaim call: [completions, jobs asked for], in call order. */
  public final List<List<Integer>> completeAndClaimCalls = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Runs at the start of every completeAll with its batch size, before any job is touched (outside the lock: it may block). */
  public volatile java.util.function.IntConsumer beforeCompleteAll = n -> {};
  /** When set, completeAll throws it instead of completing anything (a statement that failed). */
  public volatile RuntimeException completeAllError;

  public synchronized Row add(String jobType, String payload) {
    Row r = new Row(jobType, payload);
    rows.put(r.id, r);
    return r;
  }

  public synchronized Row row(UUID id) {
    return rows.get(id);
  }

  public synchronized List<Row> rows() {
    return new ArrayList<>(rows.values());
  }

  /** Simulates another worker taking the job over (e.g. after requeue_stale_jobs): our lease is gone. */
  public synchronized void stealLease(UUID id) {
    rows.get(id).lease = UUID.randomUUID();
  }

  @Override
  public synchronized UUID enqueue(NewJob job) {
    return add(job.jobType(), job.payloadJson()).id;
  }

  @Override
  public List<ClaimedJob> claim(String workerId, List<String> jobTypes, List<String> lanes, int batch) {
    beforeClaim.accept(batch);
    List<ClaimedJob> claimed;
    synchronized (this) {
      claimThreads.add(Thread.currentThread());
      claimBatches.add(batch);
      List<ClaimedJob> out = new ArrayList<>();
      UUID lease = UUID.randomUUID();
      for (Row r : rows.values()) {
        if (out.size() == batch) {
          break;
        }
        if (r.status == JobStatus.PENDING && (jobTypes.isEmpty() || jobTypes.contains(r.jobType))) {
          r.status = JobStatus.PROCESSING;
          r.lease = lease;
          r.attempt++;
          out.add(new ClaimedJob(r.id, r.jobType, r.lane, r.payload, r.lease, r.attempt, r.maxAttempts, null, null,
              UUID.randomUUID(), null, r.createdAt));
        }
      }
      long processing = rows.values().stream().filter(r -> r.status == JobStatus.PROCESSING).count();
      mostProcessing = Math.max(mostProcessing, (int) processing);
      claimed = out;
    }
    afterClaim.accept(claimed.size());
    return claimed;
  }

  private Row held(UUID id, UUID lease) {
    Row r = rows.get(id);
    return r != null && r.status == JobStatus.PROCESSING && lease.equals(r.lease) ? r : null;
  }

  @Override
  public synchronized boolean heartbeat(UUID jobId, UUID leaseToken) {
    if (failHeartbeats) {
      throw new IllegalStateException("database unreachable (simulated)");
    }
    Row r = held(jobId, leaseToken);
    if (r != null) {
      r.heartbeats++;
    }
    return r != null;
  }

  @Override
  public synchronized boolean complete(UUID jobId, UUID leaseToken, String resultJson, Integer tokensUsed) {
    Row r = held(jobId, leaseToken);
    if (r == null) {
      return false;
    }
    r.status = JobStatus.COMPLETED;
    r.lease = null;
    return true;
  }

  @Override
  public synchronized Optional<JobStatus> fail(UUID jobId, UUID leaseToken, String errorJson, boolean retryable) {
    Row r = held(jobId, leaseToken);
    if (r == null) {
      return Optional.empty();
    }
    r.error = errorJson;
    r.lease = null;
    r.status = !retryable || r.attempt >= r.maxAttempts ? JobStatus.DEAD_LETTER : JobStatus.PENDING;
    return Optional.of(r.status);
  }

  @Override
  public synchronized boolean release(UUID jobId, UUID leaseToken, Duration delay) {
    Row r = held(jobId, leaseToken);
    if (r == null) {
      return false;
    }
    r.status = JobStatus.PENDING;
    r.lease = null;
    r.attempt--;
    r.releases++;
    r.lastReleaseDelay = delay;
    return true;
  }

  @Override
  public java.util.Set<UUID> completeAll(List<Completion> completions) {
    beforeCompleteAll.accept(completions.size());
    synchronized (this) {
      completeAllBatches.add(completions.size());
      if (completeAllError != null) {
        throw completeAllError;
      }
      return JobQueue.super.completeAll(completions);
    }
  }

  /**
   * {@code complete_and_claim_jobs}: one round trip and one transaction, as the SQL function: the
   * completions (recorded in {@link #completeAllBatches}, fenced per job, {@link #completeAllError}
   * fails the whole statement and claims nothing), then the claim (recorded in {@link #claimBatches}
   * and, with the completions' count, in {@link #completeAndClaimCalls}).
   */
  @Override
  public CompletedAndClaimed completeAndClaim(List<Completion> completions, String workerId, List<String> jobTypes,
      List<String> lanes, int batch) {
    beforeCompleteAll.accept(completions.size());
    synchronized (this) {
      completeAllBatches.add(completions.size());
      if (completeAllError != null) {
        throw completeAllError;
      }
      java.util.Set<UUID> fenced = JobQueue.super.completeAll(completions);
      List<ClaimedJob> claimed = batch == 0 ? List.of() : claim(workerId, jobTypes, lanes, batch);
      completeAndClaimCalls.add(List.of(completions.size(), batch));
      return new CompletedAndClaimed(fenced, claimed);
    }
  }

  @Override
  public synchronized java.util.Set<UUID> heartbeatAll(List<Lease> leases) {
    heartbeatAllBatches.add(leases.size());
    return JobQueue.super.heartbeatAll(leases);
  }

  @Override
  public synchronized java.util.Set<UUID> releaseAll(List<Lease> leases, Duration delay) {
    releaseAllBatches.add(leases.size());
    return JobQueue.super.releaseAll(leases, delay);
  }

  @Override
  public synchronized Map<UUID, JobStatus> failAll(List<Failure> failures) {
    failAllBatches.add(failures.size());
    return JobQueue.super.failAll(failures);
  }

  @Override
  public List<RequeuedJob> requeueStale(Duration heartbeatTimeout, List<String> jobTypes, List<String> lanes) {
    return List.of();
  }

  @Override
  public QueueStats stats(List<String> jobTypes, List<String> lanes, Duration heartbeatTimeout) {
    throw new UnsupportedOperationException("not used by the worker");
  }

  @Override
  public void retry(UUID jobId, Instant nextTime) {
    throw new UnsupportedOperationException("not used by the worker");
  }

  @Override
  public void deadLetter(UUID jobId, String errorJson) {
    throw new UnsupportedOperationException("not used by the worker");
  }

  @Override
  public void cancel(UUID jobId) {
    throw new UnsupportedOperationException("not used by the worker");
  }
}
