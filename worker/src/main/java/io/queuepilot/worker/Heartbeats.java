package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.Lease;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One heartbeat round for every lease the worker holds, in one {@code heartbeatAll} statement
 * (per 1,000 jobs): jobs past their maximum runtime are cancelled first; a job whose lease is
 * reported lost is cancelled if running (nothing of it will be written) or dropped from the local
 * queue if waiting; claimed-ahead jobs waiting longer than the local-queue TTL are released.
 */
final class Heartbeats {

  private static final Logger log = LoggerFactory.getLogger(Heartbeats.class);

  private final WorkerState state;
  private final JobThreads jobs;
  private final Settler settler;

  Heartbeats(WorkerState state, JobThreads jobs, Settler settler) {
    this.state = state;
    this.jobs = jobs;
    this.settler = settler;
  }

  void tick() {
    if (state.killed()) {
      return;
    }
    try {
      Instant now = state.clock.instant();
      releaseExpiredWaiting(now);
      List<Lease> leases = new ArrayList<>();
      for (JobRun rj : jobs.runs()) {
        if (rj.settled.get() || rj.cancelReason() != null) {
          continue;
        }
        if (Duration.between(rj.started, now).compareTo(state.settings.maxRuntime()) > 0) {
          withMdc(rj.job, () -> log.warn("job exceeded the maximum runtime {}; cancelling", state.settings.maxRuntime()));
          rj.cancel(CancelReason.MAX_RUNTIME);
          continue;
        }
        leases.add(Settler.lease(rj.job));
      }
      for (JobThreads.Waiting w : jobs.waitingJobs()) {
        leases.add(Settler.lease(w.job()));
      }
      Map<UUID, UUID> leaseOf = new java.util.HashMap<>();
      leases.forEach(l -> leaseOf.put(l.jobId(), l.leaseToken()));
      int batch = state.settings.maxBatch();
      for (int from = 0; from < leases.size(); from += batch) {
        List<Lease> chunk = leases.subList(from, Math.min(leases.size(), from + batch));
        Set<UUID> lost;
        try {
          lost = state.queue.heartbeatAll(chunk);
          state.metrics.batch("heartbeat", chunk.size());
        } catch (RuntimeException e) {
          state.metrics.heartbeatFailure("error");
          log.warn("heartbeat of {} job(s) failed; will try again next round", chunk.size(), e);
          continue;
        }
        for (UUID jobId : lost) {
          leaseLost(jobId, leaseOf.get(jobId));
        }
      }
    } catch (RuntimeException e) {
      state.metrics.loopError("heartbeat");
      log.error("heartbeat round failed", e);
    }
  }

  private void leaseLost(UUID jobId, UUID leaseToken) {
    if (leaseToken == null) {
      return;
    }
    Lease lease = new Lease(jobId, leaseToken);
    JobRun rj = jobs.runOf(lease);
    if (rj != null) {
      if (!rj.settled.get()) {
        state.metrics.heartbeatFailure("lease_lost");
        withMdc(rj.job, () -> log.warn("heartbeat says the lease is lost; cancelling the job, nothing will be written"));
        rj.cancel(CancelReason.LEASE_LOST);
      }
      return;
    }
    ClaimedJob waiting = jobs.removeWaiting(lease);
    if (waiting != null) {
      state.metrics.heartbeatFailure("lease_lost");
      state.metrics.leaseLost(waiting.jobType());
      log.warn("heartbeat says the lease of claimed-ahead job {} is lost; it will not be started", jobId);
    }
  }

  private void releaseExpiredWaiting(Instant now) {
    List<ClaimedJob> expired = new ArrayList<>();
    for (JobThreads.Waiting w : jobs.waitingJobs()) {
      if (Duration.between(w.claimedAt(), now).compareTo(state.settings.localQueueTtl()) > 0
          && jobs.removeWaiting(Settler.lease(w.job())) != null) {
        expired.add(w.job());
      }
    }
    if (expired.isEmpty()) {
      return;
    }
    try {
      Set<UUID> fenced = settler.releaseNow(expired, Duration.ZERO);
      for (ClaimedJob j : expired) {
        if (fenced.contains(j.id())) {
          state.metrics.leaseLost(j.jobType());
        } else {
          state.metrics.released(j.jobType(), "local_queue_ttl", Duration.ZERO);
        }
      }
      log.info("released {} claimed-ahead job(s) not started within {}", expired.size(), state.settings.localQueueTtl());
    } catch (RuntimeException e) {
      state.metrics.loopError("local_queue_ttl");
      log.warn("could not release {} expired claimed-ahead job(s); the stale-job rescuer takes them back", expired.size(), e);
    }
  }

  static void withMdc(ClaimedJob job, Runnable r) {
    Map<String, String> before = MDC.getCopyOfContextMap();
    MDC.put("job_id", job.id().toString());
    if (job.correlationId() != null) {
      MDC.put("correlation_id", job.correlationId().toString());
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
}
