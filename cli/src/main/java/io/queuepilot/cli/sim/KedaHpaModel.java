package io.queuepilot.cli.sim;

import java.util.ArrayDeque;
import java.util.Locale;

/**
 * KEDA's {@code postgresql} scaler feeding an HPA, with both projects' documented defaults:
 * KEDA checks the trigger every {@code pollingInterval} = 30 s, activates 0 → 1 when the query
 * value exceeds {@code activationTargetQueryValue} = 0 and returns to 0 after
 * {@code cooldownPeriod} = 300 s without activity ({@code minReplicaCount} 0); from 1 replica
 * up the HPA (sync period 15 s, kube-controller-manager's default) computes
 * {@code ceil(value / targetQueryValue)} as an {@code AverageValue} metric, skips changes
 * within the 0.1 tolerance, scales up at most max(+100 %, +4 pods) per 15 s, and scales down
 * to the highest recommendation of the last 300 s (down: 100 % per 15 s). The query counts
 * ready + processing jobs and the target is the per-replica concurrency — the fairest KEDA
 * set-up for this queue. No token budget, no NOTIFY.
 */
public final class KedaHpaModel implements World.Model {

  public static final double HPA_SYNC_SECONDS = 15;
  public static final double KEDA_POLLING_SECONDS = 30;
  public static final double KEDA_COOLDOWN_SECONDS = 300;
  public static final double HPA_DOWN_STABILIZATION_SECONDS = 300;
  public static final double HPA_TOLERANCE = 0.1;

  private final int targetPerReplica;
  private final int maxReplicas;
  private final ArrayDeque<double[]> recommendations = new ArrayDeque<>(); // {time, replicas}
  private double lastActive = Double.NEGATIVE_INFINITY;
  private double lastKedaPoll = Double.NEGATIVE_INFINITY;

  public KedaHpaModel(int targetPerReplica, int maxReplicas) {
    this.targetPerReplica = targetPerReplica;
    this.maxReplicas = maxReplicas;
  }

  @Override
  public String name() {
    return "keda-hpa-defaults";
  }

  @Override
  public double pollSeconds() {
    return HPA_SYNC_SECONDS;
  }

  @Override
  public boolean wakesOnNotify() {
    return false;
  }

  @Override
  public Decision reconcile(World.Observation o) {
    double now = o.now();
    long value = o.ready() + o.processing();
    int current = o.currentReplicas();
    boolean kedaPoll = now - lastKedaPoll >= KEDA_POLLING_SECONDS - 1e-9;
    if (kedaPoll) {
      lastKedaPoll = now;
      if (value > 0) lastActive = now;
    }
    if (current == 0) {
      if (kedaPoll && value > 0) {
        return new Decision(1, "none", "KEDA activation: value " + value + " > 0");
      }
      return new Decision(0, "none", "KEDA: inactive");
    }
    if (kedaPoll && value == 0 && now - lastActive >= KEDA_COOLDOWN_SECONDS) {
      recommendations.clear();
      return new Decision(0, "none", "KEDA cooldown 300 s passed: scale to zero");
    }
    double ratio = (double) value / ((double) targetPerReplica * current);
    int rec = Math.abs(ratio - 1) <= HPA_TOLERANCE ? current
        : (int) Math.ceil((double) value / targetPerReplica);
    rec = Math.max(1, Math.min(maxReplicas, rec));
    recommendations.addLast(new double[] {now, rec});
    while (!recommendations.isEmpty() && recommendations.peekFirst()[0] < now - HPA_DOWN_STABILIZATION_SECONDS) {
      recommendations.pollFirst();
    }
    int next = current;
    if (rec > current) {
      int limit = Math.max(current * 2, current + 4);
      next = Math.min(rec, limit);
    } else if (rec < current) {
      int highest = rec;
      for (double[] r : recommendations) highest = Math.max(highest, (int) r[1]);
      next = Math.min(current, highest);
    }
    next = Math.max(1, Math.min(maxReplicas, next));
    return new Decision(next, next == maxReplicas ? "max" : "none",
        String.format(Locale.ROOT, "HPA: ceil(%d / %d) = %d, stabilized %d", value, targetPerReplica, rec, next));
  }
}
