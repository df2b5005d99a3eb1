package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The claim thread: claims up to the free capacity plus the free room of the local queue
 * (claim-ahead), hands the jobs to the {@link JobThreads}, and otherwise sleeps until a job
 * finishes, a notification arrives or the poll interval passes. It claims nothing while the
 * model provider is halted or a rate-limit pause is in force.
 */
final class ClaimLoop {

  private static final Logger log = LoggerFactory.getLogger(ClaimLoop.class);

  private final WorkerState state;
  private final JobThreads jobs;
  private final Thread thread;

  ClaimLoop(WorkerState state, JobThreads jobs) {
    this.state = state;
    this.jobs = jobs;
    this.thread = Thread.ofPlatform().name("qp-claim-" + state.settings.workerId()).unstarted(this::loop);
  }

  void start() {
    thread.start();
  }

  Thread thread() {
    return thread;
  }

  /**
   * How many jobs to claim now: what frees capacity and local-queue room, but with a local queue
   * only once it has drained to half (so claims come in batches, as Graphile Worker's refetch does).
   */
  int wanted() {
    int localQueue = state.settings.localQueueSize();
    int free = state.capacity + localQueue - jobs.held();
    if (free <= 0 || localQueue > 0 && jobs.waiting() > localQueue / 2) {
      return 0;
    }
    return Math.min(free, state.settings.maxBatch());
  }

  private void loop() {
    while (!state.stopping()) {
      Duration wait = state.settings.pollInterval();
      try {
        Instant now = state.clock.instant();
        Optional<ProviderHalt.State> halted = state.providerHalt.current();
        Instant pausedUntil = state.claimPausedUntil();
        int wanted = wanted();
        if (halted.isPresent()) {
          // the provider refuses us: jobs stay pending for replicas (or a restart) that can run them
          wait = until(now, halted.get().until(), wait);
        } else if (wanted > 0 && !now.isBefore(pausedUntil)) {
          List<ClaimedJob> got = state.queue.claim(
              state.settings.workerId(), state.settings.jobTypes(), state.settings.lanes(), wanted);
          countClaimed(got);
          if (!got.isEmpty()) {
            state.metrics.batch("claim", got.size());
            jobs.offer(got);
          }
          if (got.size() == wanted) {
            continue; // there may be more: look again (the loop waits once capacity and local queue are full)
          }
        } else if (wanted > 0) {
          wait = until(now, pausedUntil, wait);
        }
      } catch (RuntimeException e) {
        state.metrics.claimError();
        log.warn("claim_next_job failed; retrying after the poll interval", e);
      }
      if (!state.awaitWake(wait)) {
        return;
      }
    }
  }

  private void countClaimed(List<ClaimedJob> got) {
    if (got.isEmpty()) {
      return;
    }
    java.util.Map<String, Integer> byType = new java.util.HashMap<>();
    got.forEach(j -> byType.merge(j.jobType(), 1, Integer::sum));
    byType.forEach(state.metrics::claimed);
  }

  private static Duration until(Instant now, Instant until, Duration max) {
    Duration d = Duration.between(now, until);
    if (d.compareTo(max) > 0) {
      return max;
    }
    return d.isNegative() || d.isZero() ? Duration.ofMillis(1) : d;
  }
}
