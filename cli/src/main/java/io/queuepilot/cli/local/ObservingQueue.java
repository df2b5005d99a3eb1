package io.queuepilot.cli.local;

import io.queuepilot.queue.JobQueue;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The queue as local mode's controller sees it: it reads {@code queue_stats} (filtered to the
 * run's lane) and nothing else. Local mode's workers live in this JVM and leave with it, so it
 * needs no stale-job sweep (a lane-scoped {@code requeue_stale_jobs} exists since V080, should it
 * ever want one), and every write is refused.
 */
final class ObservingQueue implements JobQueue {

  private final JobQueue delegate;

  ObservingQueue(JobQueue delegate) {
    this.delegate = delegate;
  }

  @Override
  public QueueStats stats(List<String> jobTypes, List<String> lanes, Duration heartbeatTimeout) {
    return delegate.stats(jobTypes, lanes, heartbeatTimeout);
  }

  @Override
  public List<RequeuedJob> requeueStale(Duration heartbeatTimeout, List<String> jobTypes, List<String> lanes) {
    return List.of(); // never sweep: local mode's workers leave with this JVM
  }

  @Override
  public UUID enqueue(NewJob job) {
    throw refused("enqueue");
  }

  @Override
  public List<ClaimedJob> claim(String workerId, List<String> jobTypes, List<String> lanes, int batch) {
    throw refused("claim");
  }

  @Override
  public boolean heartbeat(UUID jobId, UUID leaseToken) {
    throw refused("heartbeat");
  }

  @Override
  public boolean complete(UUID jobId, UUID leaseToken, String resultJson, Integer tokensUsed) {
    throw refused("complete");
  }

  @Override
  public Optional<JobStatus> fail(UUID jobId, UUID leaseToken, String errorJson, boolean retryable) {
    throw refused("fail");
  }

  @Override
  public boolean release(UUID jobId, UUID leaseToken, Duration delay) {
    throw refused("release");
  }

  @Override
  public void retry(UUID jobId, Instant nextTime) {
    throw refused("retry");
  }

  @Override
  public void deadLetter(UUID jobId, String errorJson) {
    throw refused("deadLetter");
  }

  @Override
  public void cancel(UUID jobId) {
    throw refused("cancel");
  }

  private static UnsupportedOperationException refused(String what) {
    return new UnsupportedOperationException("local mode's controller only observes the queue; " + what + " refused");
  }
}
