package io.queuepilot.scaling.testing;

import io.queuepilot.queue.JobQueue.RequeuedJob;
import io.queuepilot.scaling.StaleJobRescuer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/** A rescuer that hands out the jobs the test queued, or fails; counts its runs. */
public final class TestingStaleJobRescuer implements StaleJobRescuer {

  private final Deque<List<RequeuedJob>> results = new ArrayDeque<>();
  private RuntimeException failure;
  private int runs;

  /** The next run rescues {@code jobs}. */
  public TestingStaleJobRescuer next(List<RequeuedJob> jobs) {
    results.add(List.copyOf(jobs));
    return this;
  }

  /** From now on every run fails with {@code e}. */
  public TestingStaleJobRescuer failing(RuntimeException e) {
    this.failure = e;
    return this;
  }

  public int runs() {
    return runs;
  }

  @Override
  public List<RequeuedJob> rescue() {
    runs++;
    if (failure != null) throw failure;
    return results.isEmpty() ? List.of() : results.poll();
  }
}
