package io.queuepilot.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Recurring-burst forecast (docs/controller.md, "Recurring bursts"): a pure function of the
 * burst history kept in {@link ScalingHistory#bursts()}. A burst is work that lands on a quiet
 * queue (no job ready and at most {@link #QUIET_WORK} in flight for {@link #QUIET_BEFORE}) and grows by at least {@link #MIN_BURST_JOBS}
 * within {@link #BURST_SPAN}. Once {@link #OCCURRENCES} bursts came at a stable period (the
 * intervals agree within {@link #PERIOD_TOLERANCE}, at least {@link #MIN_TOLERANCE}) the next
 * one is predicted one period after the last: the replicas that start it within the wait target
 * ({@code jobs × d ÷ (concurrency × (target + d))}) are requested a pod start-up plus the jitter
 * seen before it is due — the decision asks for a cycle at that instant ({@link #prewarmAt}),
 * so no poll's worth of idle pods is paid for — and released when it has not come within the jitter after. While
 * the predicted burst (no larger than predicted) is served, the pre-warmed replicas are kept
 * instead of the reactive sizing, which would count the burst twice (as arrival rate and as
 * backlog) and read its first, short finishers as the job time — topped up, every
 * {@link #TOP_UP_CHECK}, when its backlog would not start within the target on them
 * ({@link #topUp}). Everything it returns goes
 * through the policy's budget cap and min/max; without a prediction it returns nothing.
 */
public final class BurstForecast {

  /** A burst lands on a queue that was quiet for this long (the shortest span the rate estimate uses). */
  static final Duration QUIET_BEFORE = Duration.ofSeconds(30);

  /** A quiet queue has at most this many jobs in flight (a quarter of the smallest burst). */
  static final long QUIET_WORK = 4;

  /** The arrivals of one burst are counted over this long after its onset. */
  static final Duration BURST_SPAN = Duration.ofSeconds(30);

  /** The smallest growth of the work counted as a burst (four replicas' worth at the default concurrency). */
  static final long MIN_BURST_JOBS = 16;

  /** Bursts at a stable period before one is predicted (two intervals that agree). */
  static final int OCCURRENCES = 3;

  /** Bursts kept in the history (the occurrences plus the one being counted). */
  static final int KEPT = OCCURRENCES + 1;

  /** Intervals agree when they differ by at most this fraction of the period ... */
  static final double PERIOD_TOLERANCE = 0.05;

  /** ... or by at most this much (a NOTIFY-driven onset is seen within a second; a polled one within a poll). */
  static final Duration MIN_TOLERANCE = Duration.ofSeconds(5);

  /** A burst up to this fraction larger than predicted is the predicted one (sized by what came). */
  static final double SIZE_TOLERANCE = 0.1;

  /** Shorter periods are a continuous load, left to the reactive sizing. */
  static final Duration MIN_PERIOD = Duration.ofSeconds(120);

  /**
   * While a burst is served and its fleet released, the decision asks for its next cycle this
   * soon: no NOTIFY comes once its arrivals stop, so without it the instant its last job starts
   * and each later finish (a pod to let go) would be seen only at the next poll — up to a poll of
   * every pre-warmed or reactive replica idle (docs/benchmarks.md §7.1.2).
   */
  static final Duration FOLLOW = Duration.ofSeconds(2);

  /** The decision interval without NOTIFY: an onset this early or late is still the predicted burst. */
  static final Duration MISS_GRACE = Duration.ofSeconds(ScalerDefaults.POLL_INTERVAL_SECONDS);

  private BurstForecast() {}

  /** The next burst: when, how many jobs (the most of the occurrences), the period and the jitter seen. */
  public record Prediction(Instant at, long jobs, Duration period, Duration jitter) {}

  /**
   * What the forecast asks of the decision: {@code floor} replicas at least (pre-warm), or
   * {@code burst} replicas instead of the reactive sizing (a burst being served), or, once the
   * predicted burst has been started in full, {@code release}: scale down at once to the
   * replicas its jobs in flight need (no more arrivals are expected before the next one) — also
   * for an unpredicted burst once the work has not grown since its span ({@code
   * arrivalsStopped}: every job of it started, nothing else came); all null: nothing. {@code
   * explanation} is appended to the reason ("" when nothing).
   */
  public record Plan(Integer floor, Integer burst, Integer release, String explanation, boolean arrivalsStopped) {
    static final Plan NONE = new Plan(null, null, null, "", false);

    Plan(Integer floor, Integer burst, Integer release, String explanation) {
      this(floor, burst, release, explanation, false);
    }

    /** The recommendation after the forecast, from the reactive sizing's {@code reactive}. */
    public int replicas(int reactive) {
      if (burst != null) return burst;
      if (floor != null) return Math.max(reactive, floor);
      return reactive;
    }
  }

  /**
   * The burst history after observing {@code s} at {@code now}: the burst being counted (if
   * any) grows to the largest growth of the work since its onset; a new one opens when the
   * work grows on a queue quiet for {@link #QUIET_BEFORE}; a counted one smaller than
   * {@link #MIN_BURST_JOBS} is dropped once its span is over; at most {@link #KEPT} are kept.
   * {@code observations} and {@code observingSince} are the history before this observation.
   */
  static List<ScalingHistory.Burst> observe(List<ScalingHistory.Burst> bursts,
      List<ScalingHistory.Observation> observations, Instant observingSince, QueueSnapshot s, Instant now) {
    List<ScalingHistory.Burst> out = new ArrayList<>(bursts.size() + 1);
    for (ScalingHistory.Burst b : bursts) {
      if (open(b, now) || b.jobs() >= MIN_BURST_JOBS) out.add(b);
    }
    ScalingHistory.Burst last = out.isEmpty() ? null : out.get(out.size() - 1);
    if (last != null && open(last, now)) {
      long grown = Math.max(last.jobs(), s.work() - last.base());
      if (grown != last.jobs()) out.set(out.size() - 1, new ScalingHistory.Burst(last.at(), last.base(), grown));
    } else if (!observations.isEmpty() && quiet(observations, observingSince, now)) {
      long before = observations.get(observations.size() - 1).work();
      if (s.work() > before) out.add(new ScalingHistory.Burst(now, before, s.work() - before));
    }
    while (out.size() > KEPT) out.remove(0);
    return out;
  }

  private static boolean open(ScalingHistory.Burst b, Instant now) {
    return now.isBefore(b.at().plus(BURST_SPAN));
  }

  /**
   * No job ready and at most {@link #QUIET_WORK} in flight in every observation of the last
   * {@link #QUIET_BEFORE}, and that long observed: a steady load with spare capacity also has
   * nothing ready, but jobs in flight, and its noise is not a burst.
   */
  private static boolean quiet(List<ScalingHistory.Observation> observations, Instant observingSince, Instant now) {
    Instant from = now.minus(QUIET_BEFORE);
    if (observingSince.isAfter(from)) return false;
    for (ScalingHistory.Observation o : observations) {
      if (!o.at().isBefore(from) && (o.ready() > 0 || o.work() > QUIET_WORK)) return false;
    }
    return true;
  }

  /**
   * The next burst predicted from the finished bursts of the history (not one still being
   * counted at {@code now}): empty unless the last {@link #OCCURRENCES} came at a stable
   * period of at least {@link #MIN_PERIOD}.
   */
  public static Optional<Prediction> predict(List<ScalingHistory.Burst> bursts, Instant now) {
    List<ScalingHistory.Burst> done = new ArrayList<>();
    for (ScalingHistory.Burst b : bursts) {
      if (!open(b, now) && b.jobs() >= MIN_BURST_JOBS) done.add(b);
    }
    if (done.size() < OCCURRENCES) return Optional.empty();
    List<ScalingHistory.Burst> recent = done.subList(done.size() - OCCURRENCES, done.size());
    long first = recent.get(0).at().toEpochMilli();
    long lastAt = recent.get(recent.size() - 1).at().toEpochMilli();
    double period = (lastAt - first) / (double) (OCCURRENCES - 1);
    double spread = 0;
    long jobs = 0;
    for (int i = 0; i < recent.size(); i++) {
      jobs = Math.max(jobs, recent.get(i).jobs());
      if (i > 0) {
        double interval = recent.get(i).at().toEpochMilli() - recent.get(i - 1).at().toEpochMilli();
        spread = Math.max(spread, Math.abs(interval - period));
      }
    }
    double tolerance = Math.max(MIN_TOLERANCE.toMillis(), PERIOD_TOLERANCE * period);
    if (period < MIN_PERIOD.toMillis() || 2 * spread > tolerance) return Optional.empty();
    // the jitter allowed around the predicted onset: what the intervals showed, at least a second
    long jitter = Math.max(1000, Math.round(spread));
    return Optional.of(new Prediction(Instant.ofEpochMilli(lastAt + Math.round(period)), jobs,
        Duration.ofMillis(Math.round(period)), Duration.ofMillis(jitter)));
  }

  /**
   * Replicas that start {@code jobs} of mean time {@code d} within the wait target on pods Ready
   * when they land: a slot starts its first job at once and one more each job time, so within
   * the target it starts {@code 1 + target ÷ d} (FIFO-start): {@code jobs × d ÷ (concurrency ×
   * (target + d))}. That is the expectation; the spread of job times can leave a burst's last
   * jobs a few seconds late on it (the bench's seed-1 spikes: 17 jobs 1–7 s over 60 s), which
   * {@link #topUp} covers while the burst is served — cheaper than the job time of slack the
   * pre-warm had before ({@code jobs × d ÷ (concurrency × target)}, one more replica for the
   * whole burst on most spikes; docs/benchmarks.md §7.1.6).
   */
  static int prewarmReplicas(long jobs, double d, ScalerSpec spec) {
    double target = seconds(spec.targetQueueWait());
    return (int) Math.ceil(jobs * d / (spec.concurrency() * (target + d)) - 1e-9);
  }

  /** While a predicted burst is served with jobs ready, the decision is taken again this often (the top-up check). */
  static final Duration TOP_UP_CHECK = Duration.ofSeconds(5);

  /**
   * Replicas to add to {@code planned} while a predicted burst is served so that its backlog
   * still starts within the target: before the oldest ready job's target ({@code left = target
   * − its age}) the running slots start about {@code slots × left ÷ d} jobs, a pod asked for now
   * {@code concurrency × (left − startup) ÷ d}; the replicas that cover the shortfall (none when
   * there is none, or when a new pod would come too late to help).
   */
  static int topUp(QueueSnapshot s, ScalerSpec spec, int planned, double d) {
    if (s.ready() == 0) return 0;
    double left = seconds(spec.targetQueueWait()) - s.oldestReadyAgeSeconds();
    double startup = seconds(spec.podStartup());
    double slots = (double) planned * spec.concurrency();
    double shortfall = s.ready() * d - slots * Math.max(0, left);
    if (shortfall <= 0 || left <= startup) return 0;
    return (int) Math.ceil(shortfall / (spec.concurrency() * (left - startup)) - 1e-9);
  }

  /**
   * While a predicted burst is served with jobs ready: the next cycle, {@link #TOP_UP_CHECK}
   * after {@code now}, to check its {@link #topUp} (no NOTIFY comes once its arrivals stop, and
   * {@link #followAt} waits until the slots would have started the backlog); else null.
   */
  public static Instant topUpAt(QueueSnapshot s, ScalerSpec spec, ScalingHistory h, Instant now) {
    if (s == null || s.ready() == 0) return null;
    List<ScalingHistory.Burst> bursts = h.bursts();
    if (bursts.isEmpty()) return null;
    ScalingHistory.Burst last = bursts.get(bursts.size() - 1);
    if (last.at().isAfter(now) || !serving(last, s, spec, now)) return null;
    Optional<Prediction> its = forecastOf(bursts, last, now);
    if (its.isEmpty() || !within(last.at(), its.get(), spec.podStartup())) return null;
    return now.plus(TOP_UP_CHECK);
  }

  /**
   * The forecast for the newest burst {@code last}: while its span is open the prediction from
   * the bursts before it; once over, it is one of the occurrences a prediction counts (which then
   * names the burst after it), so the prediction the history without it made at its onset.
   */
  private static Optional<Prediction> forecastOf(List<ScalingHistory.Burst> bursts, ScalingHistory.Burst last,
      Instant now) {
    return open(last, now) ? predict(bursts, now) : predict(bursts.subList(0, bursts.size() - 1), last.at());
  }

  /** What the forecast asks of the decision at {@code now} (see {@link Plan}). */
  public static Plan plan(QueueSnapshot s, ScalerSpec spec, ScalingHistory h, Instant now, double d) {
    List<ScalingHistory.Burst> bursts = h.bursts();
    ScalingHistory.Burst last = bursts.isEmpty() ? null : bursts.get(bursts.size() - 1);
    Optional<Prediction> next = predict(bursts, now);
    Duration startup = spec.podStartup();
    if (last != null && !last.at().isAfter(now) && serving(last, s, spec, now)) {
      // the jobs of this burst so far (the history's count is the last observation's)
      long soFar = Math.max(last.jobs(), s.work() - last.base());
      // what was predicted for this burst, also once its span is over (the prediction then names
      // the next burst, and the reactive sizing took over with its backlog still waiting: 11 → 23
      // on seed 1's spike 8, docs/benchmarks.md §7.1.6)
      Optional<Prediction> its = forecastOf(bursts, last, now);
      if (its.isPresent() && within(last.at(), its.get(), startup) && asPredicted(soFar, its.get())) {
        // the predicted burst, no larger than predicted: the pre-warmed replicas drain it; keep
        // them (a burst's first finishers are its short jobs, so the mean time seen now is low)
        return landed(last.at(), soFar, its.get(), h, d, spec, s);
      }
      // an unpredicted burst, or one larger than predicted: the reactive sizing decides (a load
      // that starts on a quiet queue may be a steady one; only a prediction says it is finite)
      return Plan.NONE;
    }
    Instant nextFrom = next.map(p -> prewarmFrom(p, startup)).orElse(Instant.MAX);
    if (last != null && s.ready() == 0 && now.isBefore(nextFrom)
        && now.isBefore(last.at().plus(BURST_SPAN).plus(spec.targetQueueWait().multipliedBy(2)))) {
      Optional<Prediction> itsForecast = predict(bursts.subList(0, bursts.size() - 1), last.at());
      boolean predicted = itsForecast.isPresent() && within(last.at(), itsForecast.get(), startup)
          && asPredicted(last.jobs(), itsForecast.get());
      boolean stopped = !workGrewSince(h.observations(), last.at().plus(BURST_SPAN), s);
      if (predicted || stopped) {
        // the predicted burst came, as large as predicted, and every job of it has started: no
        // arrivals are expected before the next one, so idle replicas go now. Likewise any burst
        // on a quiet queue whose work has only shrunk since its span: all of it has started and
        // nothing else came (a load that goes on grows the work, and keeps the reactive path)
        int release = (int) Math.ceil(s.processing() / (double) spec.concurrency() - 1e-9);
        return new Plan(null, null, release, String.format(Locale.ROOT,
            "; %s of %s (%d jobs) all started%s, next due %s: releasing idle replicas to the %d in flight ÷ %d"
                + " per replica → %d",
            predicted ? "forecast burst" : "burst", last.at(), last.jobs(),
            stopped ? ", no arrival since" : "", next.map(p -> p.at().toString()).orElse("not predicted"),
            s.processing(), spec.concurrency(), release), stopped);
      }
    }
    if (next.isEmpty()) return Plan.NONE;
    Prediction p = next.get();
    int floor = prewarmReplicas(p.jobs(), d, spec);
    if (within(now, p, startup) && s.work() > 0 && asPredicted(s.work(), p)) {
      // the predicted burst lands in this observation (the history counts it from the next)
      return landed(now, s.work(), p, h, d, spec, s);
    }
    Instant from = prewarmFrom(p, startup);
    // released once the burst is a jitter overdue: a burst seen later (by a poll) still finds the
    // pods, since that decision sees its backlog; a skipped one costs this one pre-warm
    Instant until = p.at().plus(p.jitter());
    if (now.isBefore(from) || !now.isBefore(until)) return Plan.NONE;
    return new Plan(floor, null, null, String.format(Locale.ROOT,
        "; forecast: a burst of %d jobs every %d s (the last %d), next due %s ± %.0f s: pre-warming %d × %.1f s ÷ (%d"
            + " per replica × (%.0f s target + %.1f s)) → %d until %s",
        p.jobs(), p.period().toSeconds(), OCCURRENCES, p.at(), p.jitter().toMillis() / 1000.0, p.jobs(), d,
        spec.concurrency(), seconds(spec.targetQueueWait()), d, floor, until));
  }

  /**
   * When the pre-warm for the predicted burst starts: a pod start-up plus the jitter the
   * intervals showed (at least a second, which also covers the cycle's observe and scale call)
   * before it is due.
   */
  static Instant prewarmFrom(Prediction p, Duration startup) {
    return p.at().minus(startup).minus(p.jitter());
  }

  /**
   * The instant after {@code now} the decision must be taken again for the predicted burst, or
   * null: its pre-warm start, and, while the pre-warm is in force, its end (a jitter after the
   * burst is due): every driver schedules a cycle then (docs/controller.md), as a poll would
   * come up to a poll late and a NOTIFY comes only with the burst — so a burst that does not
   * come is let go at once rather than a poll of pre-warmed replicas later.
   */
  public static Instant prewarmAt(List<ScalingHistory.Burst> bursts, Duration startup, Instant now) {
    Optional<Prediction> next = predict(bursts, now);
    if (next.isEmpty()) return null;
    Instant from = prewarmFrom(next.get(), startup);
    if (from.isAfter(now)) return from;
    Instant until = next.get().at().plus(next.get().jitter());
    return until.isAfter(now) ? until : null;
  }

  /**
   * Whether the work ({@code ready + processing}) rose between two observations at or after
   * {@code from}, or from the last of them to {@code s}; true (unknown) with none since then.
   * One observation per 5 s: a job arriving while another finishes within one can hide, but a
   * load that goes on shows; and a new arrival wakes the scaler by NOTIFY anyway.
   */
  static boolean workGrewSince(List<ScalingHistory.Observation> observations, Instant from, QueueSnapshot s) {
    long prev = -1;
    for (ScalingHistory.Observation o : observations) {
      if (o.at().isBefore(from)) continue;
      if (prev >= 0 && o.work() > prev) return true;
      prev = o.work();
    }
    return prev < 0 || s.work() > prev;
  }

  /**
   * The instant after {@code now} the decision must be taken again to follow a burst, or null:
   * from its onset until its release window closes ({@code onset + BURST_SPAN + 2 × target}),
   * while there is work or a replica runs. With jobs ready, once every replica asked for is
   * Ready ({@code podsReadyAt}, the last scale-up plus a start-up, has passed: no cycle is added
   * while a scale-up is under way, whose decisions stay the poll's and NOTIFY's), when the
   * {@code current} replicas' slots would have started them ({@code ready × d ÷ (current ×
   * concurrency)}, at least {@link #FOLLOW}); with none ready, {@link #FOLLOW} after {@code now},
   * so each pod whose jobs ended is let go within it.
   */
  public static Instant followAt(List<ScalingHistory.Burst> bursts, QueueSnapshot s, ScalerSpec spec, int current,
      double d, Instant podsReadyAt, Instant now) {
    if (bursts.isEmpty()) return null;
    ScalingHistory.Burst last = bursts.get(bursts.size() - 1);
    if (last.at().isAfter(now) || !now.isBefore(last.at().plus(BURST_SPAN).plus(spec.targetQueueWait().multipliedBy(2)))) {
      return null;
    }
    if (s.work() == 0 && current == 0) return null;
    if (s.ready() == 0) return now.plus(FOLLOW);
    if (podsReadyAt != null && podsReadyAt.isAfter(now)) return null;
    double emptiesIn = s.ready() * d / ((double) Math.max(1, current) * spec.concurrency());
    return now.plus(Duration.ofMillis(Math.max(FOLLOW.toMillis(), Math.round(emptiesIn * 1000))));
  }

  /**
   * The predicted burst, no larger than predicted, being served: the pre-warmed replicas drain
   * it; they are kept (a burst's first finishers are its short jobs, so the mean time seen
   * during it is low, and its arrival rate is the backlog itself).
   */
  private static Plan landed(Instant at, long soFar, Prediction p, ScalingHistory h, double d, ScalerSpec spec,
      QueueSnapshot s) {
    int kept = Math.max(h.currentReplicas(), prewarmReplicas(Math.max(p.jobs(), soFar), d, spec));
    int added = topUp(s, spec, kept, d);
    String topUp = added == 0 ? "" : String.format(Locale.ROOT,
        " + %d: %d ready × %.1f s > %d slots × %.1f s left of the oldest's target, a pod asked now starts jobs for"
            + " %.1f s of it",
        added, s.ready(), d, kept * spec.concurrency(), seconds(spec.targetQueueWait()) - s.oldestReadyAgeSeconds(),
        seconds(spec.targetQueueWait()) - s.oldestReadyAgeSeconds() - seconds(spec.podStartup()));
    return new Plan(null, kept + added, null, String.format(Locale.ROOT,
        "; forecast burst landed at %s (%d of %d predicted jobs so far): keeping max(%d running, %d × %.1f s ÷ (%d"
            + " per replica × (%.0f s target + %.1f s))) → %d%s",
        at, soFar, p.jobs(), h.currentReplicas(), Math.max(p.jobs(), soFar), d, spec.concurrency(),
        seconds(spec.targetQueueWait()), d, kept, topUp));
  }

  /** A burst of {@code jobs} is the predicted one when at most {@link #SIZE_TOLERANCE} larger. */
  private static boolean asPredicted(long jobs, Prediction p) {
    return jobs <= p.jobs() * (1 + SIZE_TOLERANCE);
  }

  /** Whether an onset at {@code at} is the predicted burst (within its pre-warm and miss window). */
  private static boolean within(Instant at, Prediction p, Duration startup) {
    return !at.isBefore(p.at().minus(startup).minus(p.jitter()).minus(MISS_GRACE))
        && at.isBefore(p.at().plus(p.jitter()).plus(MISS_GRACE));
  }

  /**
   * Whether the newest burst of the history (one that landed on a quiet queue) is being served at
   * {@code now}: its backlog is the burst itself, not a load that goes on.
   */
  static boolean serving(List<ScalingHistory.Burst> bursts, QueueSnapshot s, ScalerSpec spec, Instant now) {
    if (bursts.isEmpty()) return false;
    ScalingHistory.Burst last = bursts.get(bursts.size() - 1);
    return !last.at().isAfter(now) && serving(last, s, spec, now);
  }

  /** A burst is served while its arrivals are counted, then while its backlog can still meet the target. */
  private static boolean serving(ScalingHistory.Burst b, QueueSnapshot s, ScalerSpec spec, Instant now) {
    if (open(b, now)) return true;
    return s.ready() > 0 && now.isBefore(b.at().plus(BURST_SPAN).plus(spec.targetQueueWait()));
  }

  private static double seconds(Duration d) {
    return d.toMillis() / 1000.0;
  }
}
