package io.queuepilot.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * The scaling decision as a pure function of queue snapshot, spec, history and clock: no I/O,
 * no hidden state, the same in the Kubernetes reconciler, the standalone Render process, local
 * mode and the simulator.
 *
 * <p>Sizing for a queue-wait target (docs/controller.md, "The decision"): with the observed
 * arrival rate λ, mean job time d, {@code ready} jobs waiting, target wait T and pod start-up
 * s, the workers need {@code λ·d + ready·d / max(T − s, d)} busy slots — the arrivals' steady
 * load plus the backlog drained within the time a new worker has left after starting — and
 * {@code ceil(slots / concurrency)} replicas. The budget caps that at the replicas whose
 * reservations fit the shared budget, counting that a worker's reservation stays held until
 * the budget window after its job settles: {@code floor(budget·(1−headroom)·d / (concurrency
 * · tokensPerJob · (d + window)))}. Scale-up is immediate; scale-down is prompt when the
 * capacity is idle (no backlog, at least half of the slots and one whole replica free, also
 * over the last {@link #DRAIN_LOOKBACK}), otherwise it takes the highest recommendation of
 * the stabilization window and moves by at most {@code scaleDown.maxStep} per
 * {@code scaleDown.period}.
 */
public final class ScalingPolicy {

  /** Span of observations the arrival-rate estimate looks back over (at most). */
  static final Duration RATE_LOOKBACK = Duration.ofSeconds(60);

  /**
   * The shortest span the arrival-rate estimate uses; shorter histories use the in-flight rate
   * only (so a burst's first seconds are sized by its backlog, not extrapolated as a rate).
   */
  static final Duration RATE_MIN_SPAN = Duration.ofSeconds(30);

  /** Finished jobs a mean job time needs before it is trusted (few finishers are biased short or long). */
  static final long MIN_SAMPLE = 20;

  /** Prompt scale-down needs the capacity idle over this long (the in-flight maximum of it). */
  static final Duration DRAIN_LOOKBACK = Duration.ofSeconds(15);

  /** Arrivals of at least this share of one replica's slots are a trickle a recent scale-up holds for. */
  static final double TRICKLE_FRACTION = 0.5;

  /** Prompt scale-down needs at least this fraction of the slots free. */
  static final double IDLE_FRACTION = 0.5;

  /** A stabilized step down keeps the arrivals at no more than this share of the remaining slots. */
  static final double DOWN_UTILIZATION = 0.95;

  /** A stabilized step down keeps the predicted queue wait within this share of the target. */
  static final double DOWN_WAIT_FRACTION = 0.25;

  /**
   * Arrivals a finite-backlog budget allowance counts on top of the ready jobs: the observed rate
   * over this long, the longest a decision stands with the default poll (a NOTIFY or the next
   * poll re-decides with the then-held tokens, and a smaller cap stops new starts at once).
   */
  static final Duration BACKLOG_ARRIVAL_HORIZON = Duration.ofSeconds(ScalerDefaults.POLL_INTERVAL_SECONDS);

  /** The window {@code queue_stats}' {@code completed_recently} counts over (sql: 5 minutes). */
  static final Duration RECENT_WINDOW = Duration.ofMinutes(5);

  /** A held count leaves this much of the wait target (after start-up) for noise. */
  static final Duration HOLD_WAIT_MARGIN = Duration.ofSeconds(5);

  /** A held count's slots must carry the long-run arrivals at no more than this utilization. */
  static final double HOLD_UTILIZATION = 1.1;

  /** A raised budget cap must still fit with tokens per job this much higher (no flipping). */
  static final double CAP_RAISE_MARGIN = 0.05;

  private ScalingPolicy() {}

  /**
   * After a scale-up on the cold-start tokens-per-job guess, the next decision comes this long
   * after the first pod should be Ready: its worker has claimed and reserved by then, so the cap
   * is recomputed from what the reservations hold rather than at the next poll.
   */
  static final Duration FIRST_CLAIM = Duration.ofSeconds(1);

  /**
   * Decides the replica count for the target; {@code snapshot == null} means stats were
   * unavailable. The decision asks for its next cycle ({@link ScalingDecision#decideAgainAt})
   * when a predicted burst's pre-warm is due before then, or when a cold start's first pod
   * should be Ready.
   */
  public static ScalingDecision decide(QueueSnapshot snapshot, ScalerSpec spec, ScalingHistory history, Instant now) {
    ScalingDecision d = decideNow(snapshot, spec, history, now);
    if (snapshot == null || spec.paused()) return d;
    d = d.decidingAgainAt(BurstForecast.prewarmAt(history.bursts(), spec.podStartup(), now));
    Instant lastUp = d.replicas() > d.currentReplicas() ? now : history.lastScaleUpTime();
    d = d.decidingAgainAt(BurstForecast.followAt(history.bursts(), snapshot, spec, d.replicas(),
        jobTime(snapshot, spec, history).seconds(), lastUp == null ? null : lastUp.plus(spec.podStartup()), now));
    d = d.decidingAgainAt(BurstForecast.topUpAt(snapshot, spec, history, now));
    if (coldStart(snapshot, spec, history) && snapshot.work() > 0 && d.replicas() > 0) {
      Instant up = d.replicas() > d.currentReplicas() ? now : history.lastScaleUpTime();
      Instant firstReady = up == null ? null : up.plus(spec.podStartup()).plus(FIRST_CLAIM);
      if (firstReady != null && firstReady.isAfter(now)) d = d.decidingAgainAt(firstReady);
    }
    return d;
  }

  /**
   * Whether the budget cap can only use the cold-start tokens-per-job guess: a budget applies
   * and no tokens per job are configured, observed, reserved now, estimated at enqueue for every
   * ready job or seen before.
   */
  static boolean coldStart(QueueSnapshot s, ScalerSpec spec, ScalingHistory h) {
    ScalerSpec.Budget b = spec.budget();
    BudgetStatus row = s.budget();
    boolean applies = row != null || b.tokensPerMinute().isPresent() || b.requestsPerMinute().isPresent();
    return applies && b.tokensPerJob().isEmpty() && !(s.avgTokensPerJob() != null && s.avgTokensPerJob() > 0)
        && !(row != null && row.tokensPerRequestNow().isPresent() && row.tokensPerRequestNow().getAsDouble() > 0)
        && s.readyTokensPerJobEstimated() == null && h.tokensPerJobSeen() == null;
  }

  private static ScalingDecision decideNow(QueueSnapshot snapshot, ScalerSpec spec, ScalingHistory history,
      Instant now) {
    int current = history.currentReplicas();
    if (spec.paused()) {
      return new ScalingDecision(current, current, current, LimitedBy.PAUSED,
          "paused: keeping " + current + " replicas", history.budgetCap(), null);
    }
    if (snapshot == null) {
      // Never act on missing data: a failed query must not look like an empty queue.
      return new ScalingDecision(current, current, current, LimitedBy.NONE,
          "queue statistics unavailable: keeping the last good count of " + current + " replicas",
          history.budgetCap(), null);
    }

    JobTime jt = jobTime(snapshot, spec, history);
    double d = jt.seconds();
    boolean observed = jt.observed();
    Sizing sizing = size(snapshot, spec, history, now, d, jt.source());
    // recurring bursts (BurstForecast): a pre-warm floor before a predicted one, the pre-warmed
    // replicas kept while it is served; the budget cap and min/max below apply as to the sizing
    BurstForecast.Plan forecast = BurstForecast.plan(snapshot, spec, history, now, d);
    int rec = forecast.replicas(sizing.replicas());
    String why = sizing.explanation() + forecast.explanation();
    LimitedBy limit = LimitedBy.NONE;

    Cap cap = budgetCap(snapshot, spec, history, d, jt.source(), sizing.arrivalsPerSecond(), now);
    Integer capInForce = cap.replicas().isPresent() ? cap.replicas().getAsInt() : null;
    // what the history remembers: the rate cap, not a backlog allowance (its hysteresis is the rate's)
    Integer capKept = cap.remembered();
    if (capInForce != null && rec > capInForce) {
      rec = capInForce;
      limit = LimitedBy.TOKEN_BUDGET;
      why += "; token budget allows " + rec + " (" + cap.explanation() + ")";
    } else if (capInForce != null && capKept != null && capInForce > capKept && rec > capKept) {
      why += "; token budget allows it (" + cap.explanation() + ")";
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
          why + "; running " + current + " exceeds maxReplicas " + spec.maxReplicas(), capKept,
          drain(snapshot, spec, current, spec.maxReplicas(), false));
    }
    if (capInForce != null && current > capInForce && snapshot.work() > 0) {
      // The budget shrank under the running count: more workers would only wait for tokens.
      return new ScalingDecision(capInForce, current, rec, LimitedBy.TOKEN_BUDGET,
          why + "; running " + current + " exceeds the budget's " + capInForce, capKept,
          drain(snapshot, spec, current, capInForce, false));
    }
    if (forecast.release() != null && forecast.arrivalsStopped() && snapshot.ready() == 0) {
      // a burst started in full whose work has only shrunk since (BurstForecast): the jobs in flight
      // decide, not the rate estimate, whose lookback still holds the burst's growth (it would
      // scale 0 → 1 → 0 for a rate that is the burst's own); idle workers first
      int target = Math.max(forecast.release(), spec.minReplicas());
      if (target < current) {
        return new ScalingDecision(target, current, rec, limit, why + "; scaling " + current + " → " + target
            + " now, idle workers first", capKept, drain(snapshot, spec, current, target, true));
      }
      if (target == current) {
        return new ScalingDecision(current, current, rec, limit, why + "; keeping " + current, capKept, null);
      }
    }
    if (rec > current && current > 0 && current >= spec.minReplicas()) {
      // Wait slack: the running workers (no start-up) keep the queue within the wait target.
      String held = waitSlackHold(snapshot, spec, current, sizing.arrivalsPerSecond(), d);
      if (held != null) {
        return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION, why + "; " + held, capKept, null);
      }
    }
    if (rec > current) {
      return scaleUp(spec, history, now, current, rec, limit, why, capKept);
    }
    if (forecast.release() != null && rec < current && snapshot.ready() == 0
        && sizing.arrivalsPerSecond() * d < spec.concurrency()) {
      // the predicted burst has been started in full and arrivals stopped (BurstForecast): idle replicas go now
      int target = Math.max(Math.max(rec, forecast.release()), spec.minReplicas());
      if (target < current) {
        return new ScalingDecision(target, current, rec, limit, why + "; scaling " + current + " → " + target
            + " now, idle workers first", capKept, drain(snapshot, spec, current, target, true));
      }
    }
    if (rec < current) {
      return scaleDown(snapshot, spec, history, now, current, rec, limit, why, capKept,
          sizing.arrivalsPerSecond() * d, d);
    }
    return new ScalingDecision(current, current, rec, limit, why + "; steady at " + current, capKept, null);
  }

  /** The mean job time the decision uses and where it came from. */
  record JobTime(double seconds, boolean observed, String source) {}

  /**
   * Mean job time: {@code avg_duration_seconds} of recently finished jobs when at least
   * {@link #MIN_SAMPLE} and as many as are in flight finished (a burst's first finishers are its
   * short jobs, a quiet window's last ones its long ones); otherwise the last such mean (kept in
   * the history), else {@code expectedJobSeconds}.
   */
  static JobTime jobTime(QueueSnapshot s, ScalerSpec spec, ScalingHistory h) {
    double fallback = h.jobSecondsSeen() != null ? h.jobSecondsSeen() : spec.budget().expectedJobSeconds();
    String fallbackName = h.jobSecondsSeen() != null ? "last seen" : "expected";
    if (s.avgDurationSeconds() != null && s.avgDurationSeconds() > 0) {
      if (fullSample(s)) return new JobTime(s.avgDurationSeconds(), true, "");
      return new JobTime(fallback, false, " (" + fallbackName + "; " + s.completedRecently() + " finished)");
    }
    return new JobTime(fallback, false, " (" + fallbackName + ")");
  }

  /** Whether the recent finishers are enough to trust their mean: at least MIN_SAMPLE and the jobs in flight. */
  public static boolean fullSample(QueueSnapshot s) {
    return s.completedRecently() >= Math.max(MIN_SAMPLE, 2 * s.processing());
  }

  /** Replicas for the wait target and the arithmetic behind them. */
  record Sizing(int replicas, double arrivalsPerSecond, double slots, String explanation) {}

  static Sizing size(QueueSnapshot s, ScalerSpec spec, ScalingHistory h, Instant now, double d, String dSource) {
    double lambda = arrivalRate(s, h, now, d);
    double target = spec.targetQueueWait().toMillis() / 1000.0;
    double startup = spec.podStartup().toMillis() / 1000.0;
    // The backlog must be started within the target; a worker started now serves only after its
    // start-up, and no drain horizon is shorter than one job.
    double horizon = Math.max(target - startup, d);
    double steady = lambda * d;
    double backlog = s.ready() * d / horizon;
    double slots = steady + backlog;
    int replicas = (int) Math.min(Integer.MAX_VALUE, Math.ceil(slots / spec.concurrency() - 1e-9));
    String why = String.format(Locale.ROOT,
        "%.2f arrivals/s × %.1f s%s + %d ready × %.1f s / %.0f s (%.0f s target − %.0f s start-up%s) = %.1f + %.1f slots"
            + " ÷ %d per replica → %d",
        lambda, d, dSource, s.ready(), d, horizon, target, startup,
        horizon > target - startup ? ", at least one job" : "", steady, backlog, spec.concurrency(), replicas);
    return new Sizing(replicas, lambda, slots, why);
  }

  /**
   * Jobs arriving per second: the growth of {@code ready + processing} since the oldest
   * observation of the last {@link #RATE_LOOKBACK} plus the jobs finishing meanwhile (in
   * flight ÷ mean job time, by Little's law); with a shorter history only the latter.
   */
  static double arrivalRate(QueueSnapshot s, ScalingHistory h, Instant now, double d) {
    return arrivalRate(s, h, now, d, false);
  }

  /** {@link #arrivalRate}; {@code wholeOnly}: over the whole lookback, not the smaller with its second half. */
  static double arrivalRate(QueueSnapshot s, ScalingHistory h, Instant now, double d, boolean wholeOnly) {
    List<ScalingHistory.Observation> span = new ArrayList<>();
    for (ScalingHistory.Observation o : h.observations()) {
      Duration age = Duration.between(o.at(), now);
      if (age.compareTo(RATE_LOOKBACK) <= 0 && !age.isNegative()) span.add(o);
    }
    if (span.isEmpty() || Duration.between(span.get(0).at(), now).compareTo(RATE_MIN_SPAN) < 0) {
      return s.processing() / d;
    }
    span.add(new ScalingHistory.Observation(now, s.ready(), s.processing()));
    // the whole lookback, and its second half: a burst that is over leaves the recent half low
    double whole = rateOver(span, 0, d);
    if (wholeOnly) return whole;
    int half = 0;
    while (half < span.size() - 2
        && Duration.between(span.get(half + 1).at(), now).compareTo(RATE_LOOKBACK.dividedBy(2)) >= 0) {
      half++;
    }
    if (half == 0) return whole;
    return Math.min(whole, rateOver(span, half, d));
  }

  /** Arrivals per second from {@code span.get(from)} to the last entry: growth of the work plus jobs finished. */
  private static double rateOver(List<ScalingHistory.Observation> span, int from, double d) {
    ScalingHistory.Observation first = span.get(from);
    ScalingHistory.Observation last = span.get(span.size() - 1);
    double seconds = Duration.between(first.at(), last.at()).toMillis() / 1000.0;
    if (seconds <= 0) return last.processing() / d;
    // jobs finished meanwhile: the in-flight count integrated over the span (trapezoids) ÷ d
    double busySeconds = 0;
    for (int i = from + 1; i < span.size(); i++) {
      double dt = Duration.between(span.get(i - 1).at(), span.get(i).at()).toMillis() / 1000.0;
      busySeconds += dt * (span.get(i - 1).processing() + span.get(i).processing()) / 2.0;
    }
    double growth = (last.ready() + last.processing()) - (first.ready() + first.processing());
    return Math.max(0, (growth + busySeconds / d) / seconds);
  }

  /** Long-run arrival rate: jobs finished in {@code queue_stats}' recent window ÷ its length. */
  static double longRate(QueueSnapshot s) {
    return s.completedRecently() / (double) RECENT_WINDOW.toSeconds();
  }

  /**
   * Seconds the newest ready job waits with {@code replicas} running (all started), the queue
   * growing meanwhile by the arrivals above their capacity for one pod start-up: a scale-up
   * decided later still serves from then on.
   */
  static double predictedWait(QueueSnapshot s, ScalerSpec spec, int replicas, double lambda, double d) {
    double slots = (double) replicas * spec.concurrency();
    if (slots <= 0) return Double.POSITIVE_INFINITY;
    double startup = spec.podStartup().toMillis() / 1000.0;
    double growth = Math.max(0, lambda - slots / d) * startup;
    return (s.ready() + growth) * d / slots;
  }

  /**
   * Why the running count can hold although the sizing asks for more (null when it cannot):
   * the long-run arrivals fit its slots and the predicted wait stays within the target less a
   * pod start-up (the time a scale-up decided later needs to help).
   */
  static String waitSlackHold(QueueSnapshot s, ScalerSpec spec, int current, double lambda, double d) {
    double target = spec.targetQueueWait().toMillis() / 1000.0;
    double startup = spec.podStartup().toMillis() / 1000.0;
    double allowed = target - startup - HOLD_WAIT_MARGIN.toSeconds();
    double slots = (double) current * spec.concurrency();
    double longSlots = longRate(s) * d;
    double wait = predictedWait(s, spec, current, lambda, d);
    if (allowed <= 0 || wait > allowed || longSlots > slots * HOLD_UTILIZATION) return null;
    return String.format(Locale.ROOT,
        "wait slack: %d running hold it (predicted wait (%d ready + %.1f arriving during start-up) × %.1f s ÷ %.0f slots"
            + " = %.1f s ≤ %.0f s, 5-min rate %.2f/s × %.1f s = %.1f slots ≤ %.0f%%): holding %d",
        current, s.ready(), predictedWait(s, spec, current, lambda, d) * slots / d - s.ready(), d, slots, wait, allowed,
        longRate(s), d, longSlots, HOLD_UTILIZATION * 100, current);
  }

  private static ScalingDecision scaleUp(ScalerSpec spec, ScalingHistory h, Instant now, int current,
      int rec, LimitedBy limit, String why, Integer cap) {
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
    return new ScalingDecision(target, current, rec, limit, why + "; scaling " + current + " → " + target, cap, null);
  }

  private static ScalingDecision scaleDown(QueueSnapshot s, ScalerSpec spec, ScalingHistory h, Instant now,
      int current, int rec, LimitedBy limit, String why, Integer cap, double arrivingSlots, double d) {
    // Drain-aware: when arrivals have (almost) stopped — less than one replica's worth — with no
    // backlog and at least half of the slots (and one whole replica) free, now and over the last
    // DRAIN_LOOKBACK, the extra workers are idle: remove them at once — idle pods go first, so
    // nothing in flight is interrupted and no start-up is wasted. Under a steady (noisy) load the
    // stabilization window below decides instead, so the count does not flap.
    long slots = (long) current * spec.concurrency();
    long busiest = s.processing();
    // the observations of the lookback and the last one before it (its state held into the lookback)
    Instant lookbackStart = now.minus(DRAIN_LOOKBACK);
    ScalingHistory.Observation before = null;
    for (ScalingHistory.Observation o : h.observations()) {
      if (o.at().isBefore(lookbackStart)) {
        before = o;
      } else if (o.ready() > 0) {
        busiest = Long.MAX_VALUE;
      } else if (busiest != Long.MAX_VALUE) {
        busiest = Math.max(busiest, o.processing());
      }
    }
    if (before != null && busiest != Long.MAX_VALUE) {
      busiest = before.ready() > 0 ? Long.MAX_VALUE : Math.max(busiest, before.processing());
    }
    boolean watched = !h.observingSince().isAfter(now.minus(DRAIN_LOOKBACK));
    // a trickle of at least half a replica's worth within the window after a scale-up is a low
    // steady load, not a drain: the scale-up hold below applies (no 1 ↔ 2 flapping)
    boolean heldUp = h.lastScaleUpTime() != null
        && now.isBefore(h.lastScaleUpTime().plus(spec.scaleDown().stabilizationWindow()))
        && arrivingSlots >= spec.concurrency() * TRICKLE_FRACTION;
    if (watched && !heldUp && s.ready() == 0 && arrivingSlots < spec.concurrency() && busiest != Long.MAX_VALUE
        && slots - busiest >= spec.concurrency()
        && slots - busiest >= IDLE_FRACTION * slots) {
      int holding = (int) Math.ceil((double) busiest / spec.concurrency());
      int target = Math.max(Math.max(rec, holding), spec.minReplicas());
      // to zero only when no job arrived over the whole lookback: sparse arrivals keep one
      if (target == 0 && workGrew(s, h, now)) target = Math.min(1, current);
      if (target < current) {
        return new ScalingDecision(target, current, rec, target > rec ? LimitedBy.STABILIZATION : limit,
            why + String.format(Locale.ROOT,
                "; capacity idle (arrivals %.1f slots, at most %d of %d slots busy over the last %d s, none ready):"
                    + " scaling %d → %d now, idle workers first",
                arrivingSlots, busiest, slots, DRAIN_LOOKBACK.toSeconds(), current, target),
            cap, drain(s, spec, current, target, true));
      }
    }
    ScalerSpec.Behavior down = spec.scaleDown();
    Duration window = down.stabilizationWindow();
    Instant from = now.minus(window);
    if (h.observingSince().isAfter(from)) {
      return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION,
          why + "; holding " + current + " until the " + window.toSeconds()
              + "s scale-down window has been observed", cap, null);
    }
    // Sustained surplus: no step down within a window of the last scale-up (so a noisy load does
    // not turn it straight back), steps one period apart, to the fewest replicas that carry the
    // recent arrivals and the 5-minute rate at DOWN_UTILIZATION, with the queue's predicted wait
    // (now and the most ready of the last minute) within DOWN_WAIT_FRACTION of the target.
    if (h.lastScaleTime() != null) {
      if (h.lastScaleUpTime() != null && now.isBefore(h.lastScaleUpTime().plus(window))) {
        return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION,
            why + "; holding " + current + " for " + window.toSeconds() + " s after the scale-up at "
                + h.lastScaleUpTime(), cap, null);
      }
      if (now.isBefore(h.lastScaleTime().plus(down.period()))) {
        return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION,
            why + "; next step down not before " + h.lastScaleTime().plus(down.period()), cap, null);
      }
    }
    double lambdaShort = arrivingSlots / d;
    double lambdaLong = longRate(s);
    double waitAllowed = spec.targetQueueWait().toMillis() / 1000.0 * DOWN_WAIT_FRACTION;
    int target = current;
    for (int r = current - 1; r >= Math.max(spec.minReplicas(), 1); r--) {
      double rSlots = (double) r * spec.concurrency();
      // the recent rate (Little's law on a short history: the jobs in flight) must fit the slots,
      // the 5-minute rate with DOWN_UTILIZATION to spare, so the queue drifts back down
      if (lambdaShort * d > rSlots || lambdaLong * d > rSlots * DOWN_UTILIZATION) break;
      if (predictedWait(s, spec, r, lambdaShort, d) > waitAllowed) break;
      if (longestBacklog(h, now, window) * d / ((double) r * spec.concurrency()) > waitAllowed) break;
      target = r;
    }
    String surplus = String.format(Locale.ROOT,
        "recent %.2f/s × %.1f s = %.1f slots, 5-min %.2f/s × %.1f s = %.1f slots at ≤ %.0f%%, predicted wait ≤ %.0f s",
        lambdaShort, d, lambdaShort * d, lambdaLong, d, lambdaLong * d, DOWN_UTILIZATION * 100, waitAllowed);
    if (target >= current) {
      return new ScalingDecision(current, current, rec, LimitedBy.STABILIZATION,
          why + "; " + (current - 1) + " would not carry " + surplus + ": holding " + current, cap, null);
    }
    if (target > rec) limit = LimitedBy.STABILIZATION;
    why += "; surplus: " + target + " carry " + surplus;
    if (down.maxStep().isPresent() && current - target > down.maxStep().getAsInt()) {
      target = current - down.maxStep().getAsInt();
      limit = LimitedBy.STABILIZATION;
      why += "; scale-down step limited to -" + down.maxStep().getAsInt();
    }
    return new ScalingDecision(target, current, rec, limit, why + "; scaling " + current + " → " + target, cap,
        drain(s, spec, current, target, false));
  }

  /**
   * The most jobs ready in any observation of the last {@link #RATE_LOOKBACK}, or of the
   * stabilization window when shorter (a surplus must have lasted; a zero window asks for none).
   */
  static long longestBacklog(ScalingHistory h, Instant now, Duration window) {
    Duration lookback = window.compareTo(RATE_LOOKBACK) < 0 ? window : RATE_LOOKBACK;
    long most = 0;
    for (ScalingHistory.Observation o : h.observations()) {
      if (Duration.between(o.at(), now).compareTo(lookback) <= 0) most = Math.max(most, o.ready());
    }
    return most;
  }

  /** Whether ready + processing rose between any two observations of the last {@link #RATE_LOOKBACK} (jobs arrived). */
  static boolean workGrew(QueueSnapshot s, ScalingHistory h, Instant now) {
    long prev = -1;
    for (ScalingHistory.Observation o : h.observations()) {
      if (Duration.between(o.at(), now).compareTo(RATE_LOOKBACK) > 0) continue;
      long w = o.ready() + o.processing();
      if (prev >= 0 && w > prev) return true;
      prev = w;
    }
    return prev >= 0 && s.work() > prev;
  }

  static ScalingDecision.Drain drain(QueueSnapshot s, ScalerSpec spec, int current, int target, boolean idle) {
    long slots = (long) current * spec.concurrency();
    return new ScalingDecision.Drain(current - target, s.processing(), Math.max(0, slots - s.processing()), idle);
  }

  /** The replica cap the budget implies (empty when no budget applies) and how it was computed. */
  record Cap(OptionalInt replicas, String explanation, Integer remembered) {
    Cap(OptionalInt replicas, String explanation) {
      this(replicas, explanation, replicas.isPresent() ? replicas.getAsInt() : null);
    }
  }

  /**
   * The budget cap. Limits and window come from the shared row ({@code token_budget_status})
   * when the snapshot has it, else from the spec's fallback numbers with a 60 s window. A job
   * holds its tokens from its start until the window after it settles, so one replica keeps
   * {@code concurrency × tokensPerJob × (d + window) / d} tokens reserved at steady state;
   * the cap is the budget less headroom divided by that. Tokens per job: configured, else
   * observed from completed jobs, else what the live reservations hold per request, else
   * {@code coldStartTokensPerJob} — never "no cap". The cap falls at once but rises only when
   * it would still fit with {@link #CAP_RAISE_MARGIN} more tokens per job. A finite backlog whose
   * whole reservation fits may be allowed more (below); {@code at} is the decision's instant.
   */
  static Cap budgetCap(QueueSnapshot s, ScalerSpec spec, ScalingHistory h, double d, String dSource, double lambda,
      Instant at) {
    ScalerSpec.Budget b = spec.budget();
    BudgetStatus row = s.budget();
    long tokensPerWindow;
    long requestsPerWindow;
    int window;
    String source;
    if (row != null) {
      tokensPerWindow = row.tokensPerWindow();
      requestsPerWindow = row.requestsPerWindow();
      window = row.windowSeconds();
      source = "budget " + row.name();
    } else if (b.tokensPerMinute().isPresent() || b.requestsPerMinute().isPresent()) {
      tokensPerWindow = b.tokensPerMinute().orElse(0);
      requestsPerWindow = b.requestsPerMinute().orElse(0);
      window = 60;
      source = b.name() == null ? "spec tokenBudget" : "spec fallback (budget " + b.name() + " unread)";
    } else {
      return new Cap(OptionalInt.empty(), "");
    }
    double tokensPerJob;
    String tpjSource;
    if (b.tokensPerJob().isPresent()) {
      tokensPerJob = b.tokensPerJob().getAsLong();
      tpjSource = "configured";
    } else if (s.avgTokensPerJob() != null && s.avgTokensPerJob() > 0) {
      tokensPerJob = s.avgTokensPerJob();
      tpjSource = "observed";
    } else if (row != null && row.tokensPerRequestNow().isPresent() && row.tokensPerRequestNow().getAsDouble() > 0) {
      tokensPerJob = row.tokensPerRequestNow().getAsDouble() * b.requestsPerJob();
      tpjSource = "reserved now";
    } else if (s.readyTokensPerJobEstimated() != null) {
      // every ready job carries the tokens its enqueuer estimated (queue_stats since V113): what
      // the jobs about to start will reserve, known before any worker claims one
      tokensPerJob = s.readyTokensPerJobEstimated();
      tpjSource = "estimated at enqueue";
    } else if (h.tokensPerJobSeen() != null) {
      tokensPerJob = h.tokensPerJobSeen();
      tpjSource = "last seen";
    } else {
      tokensPerJob = b.coldStartTokensPerJob();
      tpjSource = "cold-start estimate";
    }
    double keep = 1 - b.headroom();
    double hold = (d + window) / d;
    long cap = Long.MAX_VALUE;
    long capRaise = Long.MAX_VALUE;
    StringBuilder how = new StringBuilder();
    if (tokensPerWindow > 0) {
      double perReplica = spec.concurrency() * tokensPerJob * hold;
      cap = (long) Math.floor(tokensPerWindow * keep / perReplica);
      capRaise = (long) Math.floor(tokensPerWindow * keep / (perReplica * (1 + CAP_RAISE_MARGIN)));
      how.append(String.format(Locale.ROOT,
          "%s: %d tokens/%ds × %.2f ÷ (%d × %.0f tokens/job (%s) × (%.1f s%s + %d s held) / %.1f s) = %d",
          source, tokensPerWindow, window, keep, spec.concurrency(), tokensPerJob, tpjSource, d,
          dSource, window, d, cap));
    }
    if (requestsPerWindow > 0) {
      double perReplica = spec.concurrency() * b.requestsPerJob() * hold;
      long byRequests = (long) Math.floor(requestsPerWindow * keep / perReplica);
      long byRequestsRaise = (long) Math.floor(requestsPerWindow * keep / (perReplica * (1 + CAP_RAISE_MARGIN)));
      cap = Math.min(cap, byRequests);
      capRaise = Math.min(capRaise, byRequestsRaise);
      if (!how.isEmpty()) how.append("; ");
      how.append(String.format(Locale.ROOT, "%d requests/%ds × %.2f ÷ (%d × %.1f requests/job × (%.1f s + %d s held) / %.1f s) = %d",
          requestsPerWindow, window, keep, spec.concurrency(), b.requestsPerJob(), d, window, d, byRequests));
    }
    long capHalf = Long.MAX_VALUE;
    double keepHalf = 1 - b.headroom() / 2;
    if (tokensPerWindow > 0) {
      capHalf = (long) Math.floor(tokensPerWindow * keepHalf / (spec.concurrency() * tokensPerJob * hold));
    }
    if (requestsPerWindow > 0) {
      capHalf = Math.min(capHalf, (long) Math.floor(requestsPerWindow * keepHalf / (spec.concurrency() * b.requestsPerJob() * hold)));
    }
    long keepWithHalfHeadroom = capHalf;
    int now = (int) Math.max(1, Math.min(Integer.MAX_VALUE, cap));
    int raise = (int) Math.max(1, Math.min(Integer.MAX_VALUE, capRaise));
    Integer prev = h.budgetCap();
    int result = now;
    if (prev != null && now > prev) {
      // rise only when it clearly fits: a moving average must not flip the cap back and forth
      result = Math.max(prev, raise);
      if (result != now) how.append("; held at ").append(result).append(" until ").append(now).append(" fits with 5 % margin");
    } else if (prev != null && now < prev && prev <= keepWithHalfHeadroom) {
      // the previous cap still fits inside half the headroom: keep it rather than flap
      result = prev;
      how.append("; keeping ").append(prev).append(" (fits within half the headroom)");
    }
    // A finite backlog whose whole reservation fits: the tokens held now plus every ready job and
    // the arrivals until the next decision at the observed rate stay within the budget less
    // headroom, so starting all of them at once cannot exceed it (a provider call of the last
    // window is always still held). Then the cap allows the replicas that start all the work now,
    // not only the steady rate's; each later decision checks again with what is held then.
    // Only for a backlog over a load the rate cap sustains (arrivals ≤ the cap's throughput),
    // and one that outweighs the steady load (its drain needs more slots than the arrivals do:
    // a spike, not a steady load's noise, which the rate cap alone decides without flapping).
    double target = spec.targetQueueWait().toMillis() / 1000.0;
    double drainWithin = Math.max(target - spec.podStartup().toMillis() / 1000.0 - s.oldestReadyAgeSeconds(), d);
    // A burst that landed on a quiet queue and is being served (BurstForecast) is a spike by
    // construction: its own arrival is all the lookback's rate holds, so λ there is the backlog
    // counted a second time, not a load the rate cap must sustain (with the tokens per job known
    // from the first second — configured — the cold first spike's 300 jobs read λ × d ÷ 4 = 13.3
    // against a rate cap of 13 and were held at it: 40 / 18 / 44 jobs late, docs/benchmarks.md
    // §7.1.5). Its arrivals still count in the tokens the backlog must fit (below). The price: a
    // burst still arriving past what fits gets the allowance for the cycle in which it did fit and
    // is cut back at the next, before those pods are Ready (2,000 jobs in 10 s on a quiet queue
    // with tokensPerJob set: 13 → 16 → 13 within a second, §7.1.5) — never over the budget.
    boolean quietBurst = BurstForecast.serving(h.bursts(), s, spec, at);
    boolean sustained = quietBurst
        || (lambda * d / spec.concurrency() <= now && s.ready() * d / drainWithin > lambda * d);
    int rateCap = result;
    // Never on the cold-start guess: it is a bound for the steady rate, not a backlog's size.
    // On an unobserved job time only for a burst that landed on a quiet queue (BurstForecast): a
    // load that starts cold and goes on (the noisy trace's first minute) would be cut back to a
    // rate cap that is still the expected time's, and that cap rises as the estimate matures —
    // up, down, up within a window (docs/benchmarks.md §7.1.3); the rate cap carries such a load.
    boolean observedOrBurst = dSource.isEmpty() || quietBurst;
    if (row != null && s.ready() > 0 && sustained && !tpjSource.equals("cold-start estimate") && observedOrBurst) {
      long horizon = BACKLOG_ARRIVAL_HORIZON.toSeconds();
      double comingJobs = s.ready() + lambda * horizon;
      double tokensNeeded = row.tokensInWindow() + comingJobs * tokensPerJob;
      double requestsNeeded = row.requestsInWindow() + comingJobs * b.requestsPerJob();
      // the replicas that keep the running jobs going and drain the backlog within the target
      // (the sizing's backlog term; the arrivals that formed the backlog are not counted twice)
      // A slot starts its first job the moment its pod is Ready and one more each job time, so
      // within w it starts 1 + w ÷ d jobs (FIFO-start) — on an observed job time only: the spec's
      // expected time is a guess (the bench's 8 s is the median of jobs whose mean is 9.6 s), and
      // the continuous drain's extra slots are its margin (docs/benchmarks.md §7.1.4)
      double firstRound = dSource.contains("expected") ? 0 : d;
      double drainSlots = s.processing() + s.ready() * d / (drainWithin + firstRound);
      int drainReplicas = (int) Math.min(Integer.MAX_VALUE, Math.ceil(drainSlots / spec.concurrency() - 1e-9));
      // a scale-up under way: the replicas it asked for are Ready at its instant plus a start-up,
      // not now plus one; when they start the backlog in time from then, none is added (a later
      // cycle would otherwise read the backlog's growing age as a shorter horizon and add pods
      // that come after the ones already starting — §7.1.4, spike 2: 17 → 22 at the 15 s poll)
      Instant lastUp = h.lastScaleUpTime();
      int current = h.currentReplicas();
      String underWay = "";
      if (lastUp != null && current > 0 && lastUp.plus(spec.podStartup()).isAfter(at)) {
        double untilReady = Duration.between(at, lastUp.plus(spec.podStartup())).toMillis() / 1000.0;
        double within = target - s.oldestReadyAgeSeconds() - untilReady;
        double slotsFromReady = s.processing() + s.ready() * d / (within + firstRound);
        if (within > 0 && (double) current * spec.concurrency() >= slotsFromReady && drainReplicas > current) {
          underWay = String.format(Locale.ROOT,
              " (a scale-up under way: its %d × %d slots ≥ %d in flight + %d ready × %.1f s / (%.0f s from their Ready"
                  + " in %.0f s + %.1f s first round), so none added)",
              current, spec.concurrency(), s.processing(), s.ready(), d, within, untilReady, firstRound);
          drainReplicas = current;
        }
      }
      // and no cut of the running replicas while jobs wait: their backlog fits, so a cut would only
      // slow the drain (the jobs waiting have less of the target left than a fresh backlog)
      int allWork = Math.max(drainReplicas, h.currentReplicas());
      if (tokensNeeded <= tokensPerWindow * keep && requestsNeeded <= requestsPerWindow * keep && allWork > result) {
        how.append(String.format(Locale.ROOT,
            "; backlog fits: %d held + (%d ready + %.2f/s × %d s) × %.0f tokens/job = %.0f ≤ %.0f,"
                + " so max((%d in flight + %d ready × %.1f s / (%.0f s + %.1f s first round)) ÷ %d = %d%s, %d running) = %d",
            row.tokensInWindow(), s.ready(), lambda, horizon, tokensPerJob, tokensNeeded, tokensPerWindow * keep,
            s.processing(), s.ready(), d, drainWithin, firstRound, spec.concurrency(), drainReplicas, underWay,
            h.currentReplicas(), allWork));
        result = allWork;
      }
    }
    // One replica always runs when there is work: the workers' own reservations pace it.
    return new Cap(OptionalInt.of(result), how.toString(), rateCap);
  }
}
