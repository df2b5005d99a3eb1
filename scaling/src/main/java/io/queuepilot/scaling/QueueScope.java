package io.queuepilot.scaling;

import java.time.Duration;
import java.util.List;

/**
 * The part of the queue one scaler is configured for: its job types and lanes (empty = all)
 * and the heartbeat age after which one of its jobs counts as stale.
 */
public record QueueScope(List<String> jobTypes, List<String> lanes, Duration heartbeatTimeout) {

  public QueueScope {
    jobTypes = List.copyOf(jobTypes);
    lanes = List.copyOf(lanes);
    if (heartbeatTimeout.isNegative() || heartbeatTimeout.isZero()) {
      throw new IllegalArgumentException("heartbeatTimeout must be positive, was " + heartbeatTimeout);
    }
  }
}
