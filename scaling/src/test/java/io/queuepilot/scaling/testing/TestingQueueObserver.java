package io.queuepilot.scaling.testing;

import io.queuepilot.scaling.QueueObserver;
import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.QueueUnavailableException;

/** A queue whose next observation the test sets: a snapshot, or a failure. Counts observations. */
public final class TestingQueueObserver implements QueueObserver {

  private QueueSnapshot snapshot;
  private String failure;
  private RuntimeException bug;
  private int observations;

  public TestingQueueObserver(QueueSnapshot snapshot) {
    this.snapshot = snapshot;
  }

  /** From now on the queue shows {@code snapshot}. */
  public TestingQueueObserver shows(QueueSnapshot snapshot) {
    this.snapshot = snapshot;
    this.failure = null;
    this.bug = null;
    return this;
  }

  /** From now on observing fails with {@code reason} (as queue_stats failing would). */
  public TestingQueueObserver unavailable(String reason) {
    this.failure = reason;
    return this;
  }

  /** From now on observing throws {@code e} unchecked (a bug in an observer). */
  public TestingQueueObserver throwing(RuntimeException e) {
    this.bug = e;
    return this;
  }

  public int observations() {
    return observations;
  }

  @Override
  public QueueSnapshot observe() throws QueueUnavailableException {
    observations++;
    if (bug != null) throw bug;
    if (failure != null) throw new QueueUnavailableException(failure);
    return snapshot;
  }
}
