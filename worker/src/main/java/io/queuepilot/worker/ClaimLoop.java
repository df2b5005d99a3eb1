package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.CompletedAndClaimed;
import io.queuepilot.queue.JobQueue.Completion;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims jobs: the claim step ({@link #claimOnce}) asks for the room {@link JobThreads#reserve}
 * grants (free capacity plus the free room of the local queue) and hands what comes back to the
 * job threads. Job threads run the step themselves when nothing waits for them; the claim thread
 * runs it at start, when the local queue has drained to half, when a notification finds no idle
 * job thread, and otherwise every poll interval. Nothing is claimed while the model provider is
 * halted or a rate-limit pause is in force; the claim thread then sleeps until it ends. With a
 * local queue the settler's completion statement carries the refill ({@link #completeAndRefill}).
 */
final class ClaimLoop {

  private static final Logger log = LoggerFactory.getLogger(ClaimLoop.class);

  /** What one claim step did. */
  enum Outcome {
    /** Nothing wanted (no room), or the worker stops. */
    NOTHING_WANTED,
    /** Claimed fewer than asked for (the queue has no more for us now), or the statement failed. */
    PARTIAL,
    /** Claimed as many as asked for: there may be more. */
    FULL,
    /** The provider is halted or claims are paused: nothing claimed until it ends. */
    HELD_BACK
  }

  private final WorkerState state;
  private final JobThreads jobs;
  private final Thread thread;

  ClaimLoop(WorkerState state, JobThreads jobs) {
    this.state = state;
    this.jobs = jobs;
    this.thread = Thread.ofPlatform().name("qp-claim-" + state.settings.workerId()).unstarted(this::loop);
    jobs.claimWith(this);
  }

  void start() {
    thread.start();
  }

  Thread thread() {
    return thread;
  }

  /** When claims are held back (provider halted, rate-limit pause), until when; null when they are not. */
  private Instant heldBackUntil(Instant now) {
    Optional<ProviderHalt.State> halted = state.providerHalt.current();
    if (halted.isPresent()) {
      // the provider refuses us: jobs stay pending for replicas (or a restart) that can run them
      return halted.get().until();
    }
    Instant pausedUntil = state.claimPausedUntil();
    return now.isBefore(pausedUntil) ? pausedUntil : null;
  }

  /** One claim statement for the room the job threads grant; the jobs go to them. */
  Outcome claimOnce() {
    if (state.stopping() || state.killed()) {
      return Outcome.NOTHING_WANTED;
    }
    if (heldBackUntil(state.clock.instant()) != null) {
      return Outcome.HELD_BACK;
    }
    int wanted = jobs.reserve();
    if (wanted == 0) {
      return Outcome.NOTHING_WANTED;
    }
    List<ClaimedJob> got = List.of();
    try {
      long sent = System.nanoTime();
      got = state.queue.claim(state.settings.workerId(), state.settings.jobTypes(), state.settings.lanes(), wanted);
      state.metrics.statement("claim", System.nanoTime() - sent);
      countClaimed(got);
    } catch (RuntimeException e) {
      state.metrics.claimError();
      log.warn("claim_next_job failed; retrying after the poll interval", e);
    } finally {
      jobs.claimed(wanted, got);
    }
    return got.size() == wanted ? Outcome.FULL : Outcome.PARTIAL;
  }

  /**
   * Writes {@code completions} under their leases and claims ahead for the free room (counting the
   * room these completions free; see {@link JobThreads#reserveWithCompletions}) in the same statement ({@code complete_and_claim_jobs}: one round trip, one transaction); returns the
   * fenced ids. Throws when the statement failed: then neither the completions nor the claim happened.
   */
  Set<UUID> completeAndRefill(List<Completion> completions, int freed) {
    int wanted = state.stopping() || state.killed() || heldBackUntil(state.clock.instant()) != null
        ? 0 : jobs.reserveWithCompletions(freed);
    if (wanted == 0) {
      return state.queue.completeAll(completions);
    }
    List<ClaimedJob> got = List.of();
    try {
      CompletedAndClaimed done = state.queue.completeAndClaim(
          completions, state.settings.workerId(), state.settings.jobTypes(), state.settings.lanes(), wanted);
      got = done.claimed();
      countClaimed(got);
      return done.fenced();
    } finally {
      jobs.claimed(wanted, got);
    }
  }

  /** The claim step on a job thread that found nothing waiting; a held-back claim is timed by the claim thread. */
  void claimFromJobThread() {
    if (claimOnce() == Outcome.HELD_BACK) {
      state.wakeClaimLoop();
    }
  }

  private void loop() {
    while (!state.stopping()) {
      Duration wait = state.settings.pollInterval();
      try {
        Instant now = state.clock.instant();
        Instant heldBackUntil = heldBackUntil(now);
        if (heldBackUntil != null) {
          wait = until(now, heldBackUntil, wait);
        } else if (claimOnce() == Outcome.FULL) {
          continue; // there may be more: look again (the step asks for nothing once capacity and local queue are full)
        }
      } catch (RuntimeException e) {
        state.metrics.claimError();
        log.warn("claim round failed; retrying after the poll interval", e);
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
    state.metrics.batch("claim", got.size());
    String type = got.getFirst().jobType();
    int same = 0;
    for (ClaimedJob j : got) {
      if (j.jobType().equals(type)) {
        same++;
      }
    }
    if (same == got.size()) {
      state.metrics.claimed(type, same); // the usual case: one job type
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
