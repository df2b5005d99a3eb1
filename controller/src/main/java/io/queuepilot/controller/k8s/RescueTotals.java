package io.queuepilot.controller.k8s;

import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.queuepilot.controller.crd.QueueScalerStatus;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The cumulative {@code requeuedTotal} / {@code deadLetteredTotal} of each QueueScaler, kept in
 * this process as well as in status. A requeue happens once, in the database; if the cycle's
 * status patch then fails, or the next cycle (woken at once by the requeue's own NOTIFY) reads a
 * cached status older than the last patch, a total derived from that status alone would drop the
 * count for good. So a total is the higher of memory and status plus this cycle's counts: memory
 * covers lost or stale patches, status covers a new leader that has no memory.
 */
final class RescueTotals {

  /** Both totals of one QueueScaler. */
  record Totals(long requeued, long deadLettered) {}

  private final Map<ResourceID, Totals> counted = new ConcurrentHashMap<>();

  /** Adds one cycle's counts, remembers the sum and writes it into {@code next}. */
  void add(ResourceID id, QueueScalerStatus previous, long requeued, long deadLettered, QueueScalerStatus next) {
    Totals t = counted.compute(id, (k, mine) -> {
      long r = Math.max(mine == null ? 0 : mine.requeued(), or0(previous == null ? null : previous.requeuedTotal));
      long d = Math.max(mine == null ? 0 : mine.deadLettered(), or0(previous == null ? null : previous.deadLetteredTotal));
      return new Totals(r + requeued, d + deadLettered);
    });
    next.requeuedTotal = t.requeued();
    next.deadLetteredTotal = t.deadLettered();
  }

  void forget(ResourceID id) {
    counted.remove(id);
  }

  private static long or0(Long v) {
    return v == null ? 0 : v;
  }
}
