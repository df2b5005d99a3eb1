package io.queuepilot.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The scaling decision as a pure function of queue snapshot, spec, history and clock: no I/O,
 * no hidden state, the same in the Kubernetes reconciler and the standalone Render process.
 *
 * <p>Formula: {@code recommendation = clamp(min(ceil((ready + processing) / concurrency),
 * budgetReplicas), minReplicas, maxReplicas)} where {@code budgetReplicas} is the largest
 * replica count whose token and request rates stay inside the per-minute budget. Scale-up
 * applies the recommendation in one step; scale-down takes the maximum recommendation of the
 * stabilization window (like the HPA's downscale stabilization) and moves by at most
 * {@code scaleDown.maxStep} per {@code scaleDown.period}.
 */
public final class ScalingPolicy {

  private ScalingPolicy() {}

  /** Decides the replica count for the target; {@code snapshot == null} means stats were unavailable. */
  public static ScalingDecision decide(QueueSnapshot snapshot, ScalerSpec spec, ScalingHistory history, Instant now) {
    int current = history.currentReplicas();
    if (spec.paused()) {
      return new ScalingDecision(current, current, current, LimitedBy.PAUSED,
          "paused: keeping " + current + " replicas");
    }
    if (snapshot == null) {
      // Never act on missing data: a failed query must not look like an empty queue.
      return new ScalingDecision(current, current, current, LimitedBy.NONE,
          "queue statistics unavailable: keeping the last good count of " + current + " replicas");
    }

    long work = snapshot.work();
    int byWork = (int) Math.min(Integer.MAX_VALUE, ceilDiv(work, spec.concurrency()));
    String why = snapshot.ready() + " ready + " + snapshot.processing() + " processing at "
        + spec.concurrency() + " per replica → " + byWork;
    int rec = byWork;
    LimitedBy limit = LimitedBy.NONE;

    Budget b = budgetReplicas(snapshot, spec);
    if (b.replicas().isPresent() && rec > b.replicas().getAsInt()) {
      rec = b.replicas().getAsInt();
      limit = LimitedBy.TOKEN_BUDGET;
      why += "; token budget allows " + rec + " (" + b.explanation() + ")";
    }
    if (rec > spec.maxReplicas()) {
      rec = spec.maxReplicas();
      limit = LimitedBy.MAX;
      why += "; capped at maxReplicas " + rec;
    }
    if (rec < spec.minReplicas()) {
      rec = spec.minReplicas();
      limit = LimitedBy.MIN;
      why += "; raised to minReplicas " + rec;
    }

    if (current > spec.maxReplicas()) {
      // The spec shrank under the running count: honour the new maximum at once.
      return new ScalingDecision(spec.maxReplicas(), current, rec, LimitedBy.MAX,
          why + "; running " + current + " exceeds maxReplicas " + spec.maxReplicas());
    }
    if (rec > current) {
      return scaleUp(spec, history, now, current, rec, limit, why);
    }
    if (rec < current) {
      return scaleDown(spec, history, now, current, rec, limit, why);
    }
    return new ScalingDecision(current, current, rec, limit, why + "; steady at " + current);
  }

  private static ScalingDecision scaleUp(ScalerSpec spec, ScalingHistory h, Instant now, int current,
      int rec, LimitedBy limit, String why) {
    int target = rec;
    ScalerSpec.Behavior up = spec.scaleUp();
    if (!up.stabilizationWindow().isZero()) {
      // Upscale stabilization: the smallest recommendation of the window (ignores one-off spikes).
      Instant from = now.minus(up.stabilizationWindow());
      int lowest = rec;
      for (ScalingHistory.Recommendation r : h.recommendations()) {
        if (!r.at().isBefore(from)) lowest = Math.min(lowest, r.replicas());
      }
      if (lowest < target) {
        target = Math.max(lowest, current);
        limit = LimitedBy.STABILIZATION;
        why += "; scale-up window holds it at " + target;
      }
    }
    if (up.maxStep().isPresent() && target - current > up.maxStep().getAsInt()) {
      target = current + up.maxStep().getAsInt();
      limit = LimitedBy.STABILIZATION;
      why += "; scale-up step limited to +" + up.maxStep().getAsInt();
    }
    return new ScalingDecision(target, current, rec, limit, why + "; scaling " + current + " → " + target);
  }

  private static ScalingDecision scaleDown(ScalerSpec spec, ScalingHistory h, Instant now, int current,
      int rec, LimitedBy limit, String why) {
    ScalerSpec.Behavior down = spec.scaleDown();
    Duration window = down.stabilizationWindow();
    Instant from = now.minus(window);
    if (h.observingSince().isAfter(from)) {
      return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION,
          why + "; holding " + current + " until the " + window.toSeconds()
              + "s scale-down window has been observed");
    }
    int highest = rec;
    for (ScalingHistory.Recommendation r : h.recommendations()) {
      if (!r.at().isBefore(from)) highest = Math.max(highest, r.replicas());
    }
    if (highest >= current) {
      return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION,
          why + "; the last " + window.toSeconds() + "s recommended up to " + highest + ", holding " + current);
    }
    if (h.lastScaleTime() != null && now.isBefore(h.lastScaleTime().plus(down.period()))) {
      return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION,
          why + "; next step down not before " + h.lastScaleTime().plus(down.period()));
    }
    int target = highest;
    if (highest > rec) {
      limit = LimitedBy.STABILIZATION;
      why += "; window maximum " + highest;
    }
    if (down.maxStep().isPresent() && current - target > down.maxStep().getAsInt()) {
      target = current - down.maxStep().getAsInt();
      limit = LimitedBy.STABILIZATION;
      why += "; scale-down step limited to -" + down.maxStep().getAsInt();
    }
    return new ScalingDecision(target, current, rec, limit, why + "; scaling " + current + " → " + target);
  }

  /** The replica cap the budget implies (empty when no budget applies) and how it was computed. */
  record Budget(OptionalInt replicas, String explanation) {}

  static Budget budgetReplicas(QueueSnapshot s, ScalerSpec spec) {
    ScalerSpec.Budget b = spec.budget();
    double duration = s.avgDurationSeconds() != null && s.avgDurationSeconds() > 0
        ? s.avgDurationSeconds() : b.expectedJobSeconds();
    double jobsPerMinutePerReplica = spec.concurrency() * 60.0 / duration;
    long cap = Long.MAX_VALUE;
    StringBuilder how = new StringBuilder();
    OptionalLong tpj = b.tokensPerJob();
    Double tokensPerJob = tpj.isPresent() ? Double.valueOf(tpj.getAsLong())
        : s.avgTokensPerJob() != null && s.avgTokensPerJob() > 0 ? s.avgTokensPerJob() : null;
    if (b.tokensPerMinute().isPresent() && tokensPerJob != null) {
      double perReplica = jobsPerMinutePerReplica * tokensPerJob;
      long byTokens = (long) Math.floor(b.tokensPerMinute().getAsLong() / perReplica);
      cap = Math.min(cap, byTokens);
      how.append(String.format(Locale.ROOT, "%d tokens/min ÷ (%d × %.0f tokens/job × 60/%.1fs) = %d",
          b.tokensPerMinute().getAsLong(), spec.concurrency(), tokensPerJob, duration, byTokens));
    }
    if (b.requestsPerMinute().isPresent()) {
      double perReplica = jobsPerMinutePerReplica * b.requestsPerJob();
      long byRequests = (long) Math.floor(b.requestsPerMinute().getAsLong() / perReplica);
      cap = Math.min(cap, byRequests);
      if (!how.isEmpty()) how.append("; ");
      how.append(String.format(Locale.ROOT, "%d requests/min ÷ (%d × %.1f requests/job × 60/%.1fs) = %d",
          b.requestsPerMinute().getAsLong(), spec.concurrency(), b.requestsPerJob(), duration, byRequests));
    }
    if (cap == Long.MAX_VALUE) return new Budget(OptionalInt.empty(), "");
    // One replica always runs when there is work: the workers' own token budget paces it.
    return new Budget(OptionalInt.of((int) Math.max(1, Math.min(Integer.MAX_VALUE, cap))), how.toString());
  }

  private static long ceilDiv(long a, long b) {
    return a <= 0 ? 0 : (a + b - 1) / b;
  }
}
