package io.queuepilot.controller.k8s;

import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.controller.crd.ScalingState;
import io.queuepilot.scaling.ScalingHistory;
import io.queuepilot.scaling.ScalingHistoryStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A {@link ScalingHistoryStore} backed by {@code status.scalingState}: loads the newer of this
 * process's memory and what the status holds (a new leader has only the latter), saves to
 * memory and hands the history to the status patch ({@link #toStatus}). A state that cannot be
 * parsed is ignored (the scaler then starts a fresh window, holding scale-down) — never an error.
 */
final class StatusHistoryStore implements ScalingHistoryStore {

  private final ScalingHistoryStore memory;
  private final ScalingState stored;
  private ScalingHistory saved;

  StatusHistoryStore(ScalingHistoryStore memory, QueueScalerStatus previous) {
    this.memory = memory;
    this.stored = previous == null ? null : previous.scalingState;
  }

  @Override
  public Optional<ScalingHistory> load() {
    Optional<ScalingHistory> mine = memory.load();
    Optional<ScalingHistory> theirs = fromStatus(stored);
    if (mine.isEmpty()) return theirs;
    if (theirs.isEmpty()) return mine;
    return latest(theirs.get()).isAfter(latest(mine.get())) ? theirs : mine;
  }

  @Override
  public void save(ScalingHistory history) {
    memory.save(history);
    saved = history;
  }

  /** What to write to {@code status.scalingState}: the history saved this cycle, else the one stored. */
  ScalingState toStatus() {
    return saved == null ? stored : toState(saved);
  }

  private static Instant latest(ScalingHistory h) {
    Instant t = h.observingSince();
    for (ScalingHistory.Recommendation r : h.recommendations()) if (r.at().isAfter(t)) t = r.at();
    return t;
  }

  static ScalingState toState(ScalingHistory h) {
    ScalingState s = new ScalingState();
    s.currentReplicas = h.currentReplicas();
    s.observingSince = h.observingSince().toString();
    s.lastScaleTime = h.lastScaleTime() == null ? null : h.lastScaleTime().toString();
    s.lastScaleUpTime = h.lastScaleUpTime() == null ? null : h.lastScaleUpTime().toString();
    s.budgetCap = h.budgetCap();
    s.jobSecondsSeen = h.jobSecondsSeen();
    s.tokensPerJobSeen = h.tokensPerJobSeen();
    for (ScalingHistory.Recommendation r : h.recommendations()) {
      ScalingState.Recommendation x = new ScalingState.Recommendation();
      x.at = r.at().toString();
      x.replicas = r.replicas();
      s.recommendations.add(x);
    }
    for (ScalingHistory.Observation o : h.observations()) {
      ScalingState.Observation x = new ScalingState.Observation();
      x.at = o.at().toString();
      x.ready = o.ready();
      x.processing = o.processing();
      s.observations.add(x);
    }
    for (ScalingHistory.Burst b : h.bursts()) {
      ScalingState.Burst x = new ScalingState.Burst();
      x.at = b.at().toString();
      x.base = b.base();
      x.jobs = b.jobs();
      s.bursts.add(x);
    }
    return s;
  }

  static Optional<ScalingHistory> fromStatus(ScalingState s) {
    if (s == null || s.currentReplicas == null || s.observingSince == null) return Optional.empty();
    try {
      List<ScalingHistory.Recommendation> recs = new ArrayList<>();
      if (s.recommendations != null) {
        for (ScalingState.Recommendation r : s.recommendations) {
          recs.add(new ScalingHistory.Recommendation(Instant.parse(r.at), r.replicas));
        }
      }
      List<ScalingHistory.Observation> obs = new ArrayList<>();
      if (s.observations != null) {
        for (ScalingState.Observation o : s.observations) {
          obs.add(new ScalingHistory.Observation(Instant.parse(o.at), o.ready, o.processing));
        }
      }
      List<ScalingHistory.Burst> bursts = new ArrayList<>();
      if (s.bursts != null) {
        for (ScalingState.Burst b : s.bursts) {
          bursts.add(new ScalingHistory.Burst(Instant.parse(b.at), b.base, b.jobs));
        }
      }
      return Optional.of(new ScalingHistory(s.currentReplicas, recs, Instant.parse(s.observingSince),
          s.lastScaleTime == null ? null : Instant.parse(s.lastScaleTime), obs, s.budgetCap, s.jobSecondsSeen,
          s.tokensPerJobSeen, s.lastScaleUpTime == null ? null : Instant.parse(s.lastScaleUpTime), bursts));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }
}
