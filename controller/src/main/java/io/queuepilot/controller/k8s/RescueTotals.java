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
  record Totals(long requeued, long deadLettered) {

    static final Totals NONE = new Totals(0, 0);

    /** The totals a status holds (0 where absent). */
    static Totals of(QueueScalerStatus status) {
      return status == null ? NONE : new Totals(or0(status.requeuedTotal), or0(status.deadLetteredTotal));
    }

    Totals plus(long requeuedNow, long deadLetteredNow) {
      return new Totals(requeued + requeuedNow, deadLettered + deadLetteredNow);
    }

    Totals max(Totals other) {
      return new Totals(Math.max(requeued, other.requeued), Math.max(deadLettered, other.deadLettered));
    }
  }

  private final Map<ResourceID, Totals> counted = new ConcurrentHashMap<>();

  /** What was counted before this cycle: the higher of memory and {@code previous}' status. */
  Totals before(ResourceID id, QueueScalerStatus previous) {
    return counted.getOrDefault(id, Totals.NONE).max(Totals.of(previous));
  }

  /** Remembers the totals a cycle wrote, whether or not its patch lands. */
  void remember(ResourceID id, QueueScalerStatus written) {
    counted.merge(id, Totals.of(written), Totals::max);
  }

  void forget(ResourceID id) {
    counted.remove(id);
  }

  private static long or0(Long v) {
    return v == null ? 0 : v;
  }
}
