package io.queuepilot.queue;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;

/** How many jobs each worker (by {@code worker_id}, in Kubernetes the pod name) holds right now. */
public interface WorkerOccupancy {

  /**
   * Jobs each of {@code workerIds} holds: processing under that worker id with a heartbeat younger
   * than {@code heartbeatTimeout}. Every asked-for id is a key, 0 when it holds nothing.
   *
   * @throws JobQueueException when the database call fails
   */
  Map<String, Integer> jobsHeld(Collection<String> workerIds, Duration heartbeatTimeout);
}
