package io.queuepilot.scaling;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What the policy remembers between decisions for one scaler: the replica count currently
 * applied, the recommendations of recent decisions (for stabilization windows), recent queue
 * observations (for the arrival-rate estimate and the drain check), when recording started,
 * when the target was last scaled (and last scaled up), the budget cap in force, and the last observed mean job
 * time and tokens per job (so a quiet spell longer than {@code queue_stats}' 5-minute window
 * does not send the next burst back to cold-start estimates). Immutable; each method returns
 * a new history. Kept small enough for a status object: recommendations are compacted to the
 * highest and lowest per {@link #BUCKET} (all a window maximum or minimum needs), observations
 * to one per {@link #BUCKET} over the last {@link #OBSERVATIONS_KEPT}; the recurring-burst
 * history ({@link BurstForecast}) to the last {@link BurstForecast#KEPT} bursts.
 */
public record ScalingHistory(
    int currentReplicas,
    List<Recommendation> recommendations,
    Instant observingSince,
    Instant lastScaleTime,
    List<Observation> observations,
    Integer budgetCap,
    Double jobSecondsSeen,
    Double tokensPerJobSeen,
    Instant lastScaleUpTime,
    List<Burst> bursts) {

  /** Recommendations and observations closer together than this are compacted. */
  public static final Duration BUCKET = Duration.ofSeconds(5);

  /** How far back observations are kept (the rate estimate looks back 60 s, the drain check 15 s). */
  public static final Duration OBSERVATIONS_KEPT = Duration.ofSeconds(90);

  /** One recommendation at a point in time. */
  public record Recommendation(Instant at, int replicas) {}

  /** The queue counts of one observation. */
  public record Observation(Instant at, long ready, long processing) {
    /** Jobs ready plus in flight. */
    public long work() {
      return ready + processing;
    }
  }

  /**
   * One burst on a quiet queue ({@link BurstForecast}): its onset, the work (ready + in flight)
   * just before it, and the most the work grew above that within the burst's span.
   */
  public record Burst(Instant at, long base, long jobs) {}

  public ScalingHistory {
    if (currentReplicas < 0) throw new IllegalArgumentException("currentReplicas must be >= 0");
    recommendations = List.copyOf(recommendations);
    observations = observations == null ? List.of() : List.copyOf(observations);
    bursts = bursts == null ? List.of() : List.copyOf(bursts);
  }

  /** A history without observations or budget cap. */
  public ScalingHistory(int currentReplicas, List<Recommendation> recommendations, Instant observingSince,
      Instant lastScaleTime) {
    this(currentReplicas, recommendations, observingSince, lastScaleTime, List.of(), null, null, null, null, List.of());
  }

  /** A history that has not recorded when it last scaled up nor any burst (stored before those were kept). */
  public ScalingHistory(int currentReplicas, List<Recommendation> recommendations, Instant observingSince,
      Instant lastScaleTime, List<Observation> observations, Integer budgetCap, Double jobSecondsSeen,
      Double tokensPerJobSeen) {
    this(currentReplicas, recommendations, observingSince, lastScaleTime, observations, budgetCap, jobSecondsSeen,
        tokensPerJobSeen, null, List.of());
  }

  /** How long a history must reach back for {@code spec}'s stabilization windows. */
  public static Duration keepFor(ScalerSpec spec) {
    Duration longest = spec.scaleDown().stabilizationWindow().compareTo(spec.scaleUp().stabilizationWindow()) > 0
        ? spec.scaleDown().stabilizationWindow() : spec.scaleUp().stabilizationWindow();
    return longest.plusMinutes(1);
  }

  /** A fresh history: nothing recorded yet, the target runs {@code currentReplicas}. */
  public static ScalingHistory start(int currentReplicas, Instant now) {
    return new ScalingHistory(currentReplicas, List.of(), now, null, List.of(), null, null, null, null, List.of());
  }

  /** The same history with the replica count observed on the target. */
  public ScalingHistory withCurrent(int replicas) {
    return new ScalingHistory(replicas, recommendations, observingSince, lastScaleTime, observations, budgetCap,
        jobSecondsSeen, tokensPerJobSeen, lastScaleUpTime, bursts);
  }

  /** {@link #record(ScalingDecision, QueueSnapshot, Instant, Duration)} without an observation. */
  public ScalingHistory record(ScalingDecision d, Instant now, Duration keep) {
    return record(d, null, now, keep);
  }

  /**
   * Records a decision: its recommendation joins the history (entries older than
   * {@code keep} are dropped), the observation {@code s} (may be null) joins the observations
   * and, when the decision changed the count, the new count and scale time.
   */
  public ScalingHistory record(ScalingDecision d, QueueSnapshot s, Instant now, Duration keep) {
    Instant cutoff = now.minus(keep);
    List<Recommendation> recs = new ArrayList<>(recommendations.size() + 1);
    for (Recommendation r : recommendations) {
      if (!r.at().isBefore(cutoff)) recs.add(r);
    }
    recs.add(new Recommendation(now, d.recommendation()));
    List<Observation> obs = new ArrayList<>(observations.size() + 1);
    Instant obsCutoff = now.minus(OBSERVATIONS_KEPT);
    for (Observation o : observations) {
      if (!o.at().isBefore(obsCutoff)) obs.add(o);
    }
    if (s != null) {
      Observation o = new Observation(now, s.ready(), s.processing());
      // one observation per bucket, the latest of it: the rate estimate needs spacing, not density
      if (obs.size() >= 2 && Duration.between(obs.get(obs.size() - 2).at(), now).compareTo(BUCKET) < 0) {
        obs.set(obs.size() - 1, o);
      } else {
        obs.add(o);
      }
    }
    Integer cap = d.budgetCap() != null ? d.budgetCap() : budgetCap;
    Double seconds = jobSecondsSeen;
    Double tokens = tokensPerJobSeen;
    // only a trusted sample (ScalingPolicy.fullSample): a few early or late finishers are biased;
    // and only while work is in the queue: once it is empty the recent window ages out its
    // earliest (short) finishers first, so its last 20 are a burst's longest jobs
    if (s != null && s.avgDurationSeconds() != null && s.avgDurationSeconds() > 0 && ScalingPolicy.fullSample(s)
        && s.work() > 0) {
      seconds = s.avgDurationSeconds();
    }
    if (s != null && s.avgTokensPerJob() != null && s.avgTokensPerJob() > 0) tokens = s.avgTokensPerJob();
    boolean up = d.changes() && d.replicas() > d.currentReplicas();
    // the burst history sees this observation against the observations before it
    List<Burst> seen = s == null ? bursts : BurstForecast.observe(bursts, observations, observingSince, s, now);
    return new ScalingHistory(d.replicas(), compact(recs), observingSince, d.changes() ? now : lastScaleTime, obs, cap,
        seconds, tokens, up ? now : lastScaleUpTime, seen);
  }

  /**
   * Keeps, per {@link #BUCKET} of time, only the highest and the lowest recommendation (the
   * latest of equals), and always the newest: window maxima and minima are unchanged.
   */
  static List<Recommendation> compact(List<Recommendation> recs) {
    if (recs.size() < 3) return recs;
    List<Recommendation> out = new ArrayList<>();
    int i = 0;
    while (i < recs.size()) {
      Instant bucketStart = recs.get(i).at();
      Recommendation hi = recs.get(i);
      Recommendation lo = recs.get(i);
      int j = i;
      while (j < recs.size() && Duration.between(bucketStart, recs.get(j).at()).compareTo(BUCKET) < 0) {
        Recommendation r = recs.get(j);
        if (r.replicas() >= hi.replicas()) hi = r;
        if (r.replicas() <= lo.replicas()) lo = r;
        j++;
      }
      Recommendation last = recs.get(j - 1);
      List<Recommendation> keep = new ArrayList<>(List.of(lo, hi, last));
      keep.sort((a, b) -> a.at().compareTo(b.at()));
      Recommendation prev = null;
      for (Recommendation r : keep) {
        if (r != prev) out.add(r);
        prev = r;
      }
      i = j;
    }
    return out;
  }
}
