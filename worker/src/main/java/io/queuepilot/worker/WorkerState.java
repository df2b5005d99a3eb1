package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** What the worker's parts (claim loop, job threads, heartbeats, settler) share: settings, clients, lifecycle flags. */
final class WorkerState {

  private static final Duration MAX_CLAIM_PAUSE = Duration.ofSeconds(30);

  final Worker.Settings settings;
  final JobQueue queue;
  final Clock clock;
  final WorkerMetrics metrics;
  final ProviderHalt providerHalt;
  final int capacity;
  private final Semaphore wake = new Semaphore(0);
  private volatile boolean stopping;
  private volatile boolean killed;
  private volatile Instant claimPausedUntil = Instant.MIN;

  WorkerState(Worker.Settings settings, JobQueue queue, Clock clock, WorkerMetrics metrics, ProviderHalt providerHalt,
      int capacity) {
    this.settings = settings;
    this.queue = queue;
    this.clock = clock;
    this.metrics = metrics;
    this.providerHalt = providerHalt;
    this.capacity = capacity;
  }

  boolean stopping() {
    return stopping;
  }

  boolean killed() {
    return killed;
  }

  void stop() {
    stopping = true;
    wakeClaimLoop();
  }

  void kill() {
    killed = true;
    stop();
  }

  /** Something changed (a job finished, a notification came): the claim loop looks again now. */
  void wakeClaimLoop() {
    wake.release();
  }

  /** Waits up to {@code max} for a wake-up; false when interrupted. */
  boolean awaitWake(Duration max) {
    try {
      if (wake.tryAcquire(Math.max(1, max.toMillis()), TimeUnit.MILLISECONDS)) {
        wake.drainPermits();
      }
      return true;
    } catch (InterruptedException e) {
      return false;
    }
  }

  /** After a rate-limit release: claim nothing for the delay (at most 30 s), so jobs wait in the queue. */
  void pauseClaims(Duration delay) {
    Duration pause = delay.compareTo(MAX_CLAIM_PAUSE) > 0 ? MAX_CLAIM_PAUSE : delay;
    Instant until = clock.instant().plus(pause);
    if (until.isAfter(claimPausedUntil)) {
      claimPausedUntil = until;
    }
  }

  Instant claimPausedUntil() {
    return claimPausedUntil;
  }
}
