package io.queuepilot.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.scaling.ScalerSpec.Budget;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The recurring-burst forecast: which bursts it learns, when it predicts, what it pre-warms and
 * for how long, driven through the real {@link ScalingPolicy} and {@link ScalingHistory#record}
 * as the {@link Scaler} does (15 s polls, a decision on every observation).
 */
class BurstForecastTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration KEEP = Duration.ofMinutes(30);
  /** 4 per replica, 60 s wait target, 20 s start-up, no budget. */
  private static final ScalerSpec SPEC = ScalerSpec.of(0, 50, 4)
      .withSizing(Duration.ofSeconds(60), Duration.ofSeconds(20));
  /** Mean job time the snapshots report (a full sample). */
  private static final double D = 8.0;

  /** The policy and its history over simulated time, one decision per observation. */
  static final class Run {
    final ScalerSpec spec;
    ScalingHistory h = ScalingHistory.start(0, T0);
    final List<ScalingDecision> decisions = new ArrayList<>();
    final List<Long> times = new ArrayList<>();

    Run(ScalerSpec spec) {
      this.spec = spec;
    }

    ScalingDecision at(long t, long ready, long processing) {
      return at(t, snapshot(ready, processing, null));
    }

    ScalingDecision at(long t, QueueSnapshot s) {
      Instant now = T0.plusSeconds(t);
      ScalingDecision d = ScalingPolicy.decide(s, spec, h, now);
      h = h.record(d, s, now, KEEP).withCurrent(d.replicas());
      decisions.add(d);
      times.add(t);
      return d;
    }

    /**
     * Quiet polls every 15 s from {@code from} (inclusive) to {@code to} (exclusive), and a cycle
     * at the instant a decision asks for one before the next poll, as every driver schedules it.
     */
    void quiet(long from, long to) {
      for (long t = from; t < to; t += 15) {
        at(t, 0, 0);
        java.time.Instant again = last().decideAgainAt();
        if (again != null && again.isBefore(T0.plusSeconds(Math.min(t + 15, to)))) {
          at(Duration.between(T0, again).toSeconds(), 0, 0);
        }
      }
    }

    /** A 300-job spike at {@code t}: seen at once, drained over a minute, then quiet until {@code next}. */
    void spike(long t, long jobs, long next) {
      at(t, jobs, 0);
      at(t + 5, jobs - 48, 48);
      at(t + 20, jobs / 2, 48);
      at(t + 45, 0, 40);
      quiet(t + 60, next);
    }

    ScalingDecision last() {
      return decisions.get(decisions.size() - 1);
    }
  }

  static QueueSnapshot snapshot(long ready, long processing, BudgetStatus row) {
    return new QueueSnapshot(ready, 0, processing, 0, 0, ready > 0 ? 1 : 0, D, 2000.0, 50, row);
  }

  /** Three 300-job spikes 600 s apart (at 100, 700, 1300) with quiet polls between, until {@code until}. */
  static Run threeSpikes(ScalerSpec spec, long until) {
    Run r = new Run(spec);
    r.quiet(0, 100);
    r.spike(100, 300, 700);
    r.spike(700, 300, 1300);
    r.spike(1300, 300, until);
    return r;
  }

  @Test
  void afterThreeBurstsAtAStablePeriodItPreWarmsTheDrainReplicasAStartUpBeforeTheNext() {
    Run r = threeSpikes(SPEC, 1855);
    assertThat(r.h.bursts()).extracting(ScalingHistory.Burst::jobs).containsExactly(300L, 300L, 300L);
    assertThat(r.last().replicas()).as("outside the pre-warm window: " + r.last().reason()).isZero();
    // due at 1900 ± 1 s: pods requested a 20 s start-up plus the 1 s jitter before, at 1879 — and the
    // decision asks for its cycle then, rather than pre-warming up to a poll early
    assertThat(r.last().decideAgainAt()).isEqualTo(T0.plusSeconds(1879));
    assertThat(r.at(1870, 0, 0).replicas()).as("not a poll early: " + r.last().reason()).isZero();
    assertThat(r.last().decideAgainAt()).isEqualTo(T0.plusSeconds(1879));
    ScalingDecision d = r.at(1879, 0, 0);
    // the pre-warm is in force until the burst is a jitter overdue: the next cycle is asked for then
    // (a burst that lands wakes it sooner by NOTIFY; one that does not is let go at once)
    assertThat(d.decideAgainAt()).as(d.reason()).isEqualTo(T0.plusSeconds(1901));
    // 300 jobs × 8 s ÷ (4 per replica × (60 s target + 8 s)) = 8.8 → 9 (a slot starts its first job
    // at once and one more each job time), not one slot per job (75)
    assertThat(d.replicas()).as(d.reason()).isEqualTo(9);
    assertThat(d.reason()).contains("forecast: a burst of 300 jobs every 600 s", "pre-warming", "→ 9");
    assertThat(r.at(1885, 0, 0).replicas()).as("held until it lands").isEqualTo(9);
    // it lands as predicted: the pre-warmed replicas drain it, the reactive sizing (λ·d + backlog) does not
    // decide — but 280 ready × 8 s = 2240 slot-seconds > 36 slots × 59 s left: topped up by
    // ceil(116 ÷ (4 × 39 s a pod asked now has)) = 1
    d = r.at(1900, 280, 20);
    assertThat(d.replicas()).as(d.reason()).isEqualTo(10);
    assertThat(d.reason()).contains("forecast burst landed", "+ 1: 280 ready");
    assertThat(r.at(1905, 252, 48).replicas()).isEqualTo(10);
    r.at(1920, 150, 40);
    r.at(1935, 10, 40);
    // every job of it has started and nothing more arrives: idle replicas go at once, not after
    // the idle lookback (which still sees the jobs ready 10 s ago)
    d = r.at(1945, 0, 30);
    assertThat(d.reason()).contains("all started", "releasing idle replicas");
    assertThat(d.replicas()).as(d.reason()).isEqualTo(8);
    assertThat(d.drain()).isNotNull();
    assertThat(d.drain().idleScaleDown()).isTrue();
  }

  static QueueSnapshot aged(long ready, long processing, double oldestAge) {
    return new QueueSnapshot(ready, 0, processing, 0, 0, oldestAge, D, 2000.0, 50, null);
  }

  /**
   * A predicted burst whose backlog the pre-warmed replicas would not start within the target is
   * topped up while it is served (checked every 5 s), and it stays the predicted burst after its
   * 30 s span: the reactive sizing, which counts it twice, does not take over.
   */
  @Test
  void aPredictedBurstIsToppedUpWhenItsBacklogWouldStartLateAndStaysPredictedAfterItsSpan() {
    Run r = threeSpikes(SPEC, 1879);
    assertThat(r.at(1879, 0, 0).replicas()).isEqualTo(9);
    // landing: 64 ready × 8 s = 512 slot-seconds ≤ 36 slots × 60 s: the 9 suffice
    ScalingDecision d = r.at(1900, aged(64, 36, 0));
    assertThat(d.replicas()).as(d.reason()).isEqualTo(9);
    assertThat(d.reason()).contains("forecast burst landed").doesNotContain("left of the oldest");
    // (its next cycle: the pre-warm's end at 1901 s comes before the 5 s check)
    assertThat(d.decideAgainAt()).as(d.reason()).isEqualTo(T0.plusSeconds(1901));
    // 264 ready × 8 s = 2112 > 36 slots × 55 s left = 1980: short 132 slot-seconds, a pod asked now
    // serves 35 s of them: + ceil(132 ÷ (4 × 35)) = 1
    d = r.at(1905, aged(264, 36, 5));
    assertThat(d.replicas()).as(d.reason()).isEqualTo(10);
    assertThat(d.reason()).contains("+ 1: 264 ready × 8.0 s > 36 slots × 55.0 s left");
    assertThat(d.decideAgainAt()).as(d.reason()).isEqualTo(T0.plusSeconds(1910));
    // 40 slots now carry it: kept, not cut back
    d = r.at(1910, aged(224, 40, 10));
    assertThat(d.replicas()).as(d.reason()).isEqualTo(10);
    // after the burst's 30 s span (1930 s) its backlog still waits: the forecast made for it keeps deciding
    d = r.at(1935, aged(100, 40, 35));
    assertThat(d.reason()).as(d.reason()).contains("forecast burst landed");
    assertThat(d.replicas()).as(d.reason()).isEqualTo(10);
    // 100 ready × 8 s = 800 > 40 slots × 12 s left, but a pod asked now would come after the target: none added
    d = r.at(1948, aged(100, 40, 48));
    assertThat(d.replicas()).as(d.reason()).isEqualTo(10);
    assertThat(d.reason()).contains("forecast burst landed").doesNotContain("left of the oldest");
  }

  @Test
  void aSteadyLoadWithSpareCapacityIsNotQuiet() {
    Run r = new Run(SPEC);
    r.quiet(0, 90);
    // nothing ever ready (spare capacity), 30–50 jobs in flight, the work jumping by 20 now and then
    for (int i = 0; i < 300; i++) r.at(90 + 5L * i, 0, i % 6 == 0 ? 50 : 30);
    assertThat(r.h.bursts()).extracting(b -> Duration.between(T0, b.at()).toSeconds())
        .as("only the load's start on the quiet queue").containsExactly(90L);
  }

  @Test
  void aSkippedBurstCostsOnePreWarmAndThenThePatternIsNoLongerPredicted() {
    Run r = threeSpikes(SPEC, 1855);
    r.quiet(1855, 3200);
    long on = -1;
    long off = -1;
    for (int i = 0; i < r.decisions.size(); i++) {
      long t = r.times.get(i);
      if (t < 1800) continue;
      if (on < 0 && r.decisions.get(i).replicas() > 0) on = t;
      if (on >= 0 && off < 0 && r.decisions.get(i).replicas() == 0) off = t;
      if (t > 1900 + 30) {
        assertThat(r.decisions.get(i).replicas()).as("no pre-warm after the miss, t=" + t + ": "
            + r.decisions.get(i).reason()).isZero();
      }
    }
    assertThat(on).as("it pre-warmed for the burst due at 1900, at the cycle it asked for").isEqualTo(1879);
    // released at the cycle the pre-warm asked for a jitter (1 s) after the due time, not at the next
    // poll (1915): start-up + 2 × jitter of pre-warmed replicas
    assertThat(off).isEqualTo(1901);
    assertThat(off - on).isLessThanOrEqualTo(20 + 2);
  }

  @Test
  void theFloorGoesThroughTheBudgetCap() {
    // 100,000 tokens/60 s × 0.9 ÷ (4 × 2000 × (8 + 60) / 8) = 1 replica
    ScalerSpec spec = SPEC.withBudget(new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), 1.0,
        8.0).named("openai"));
    BudgetStatus row = new BudgetStatus("openai", 100_000, 10_000, 60, 0, 0, 0, null);
    Run r = new Run(spec);
    for (long t = 0; t < 100; t += 15) r.at(t, snapshot(0, 0, row));
    for (long start : new long[] {100, 700, 1300}) {
      r.at(start, snapshot(300, 0, row));
      r.at(start + 5, snapshot(296, 4, row));
      for (long t = start + 20; t < start + 600; t += 15) r.at(t, snapshot(0, 0, row));
    }
    ScalingDecision d = r.at(1879, snapshot(0, 0, row));
    assertThat(d.reason()).contains("pre-warming");
    assertThat(d.replicas()).as(d.reason()).isEqualTo(1);
    assertThat(d.limitedBy()).isEqualTo(LimitedBy.TOKEN_BUDGET);
  }

  @Test
  void aSteadyNoisyQueueIsNeverABurst() {
    Run r = new Run(SPEC);
    r.quiet(0, 90);
    // a noisy load: a few jobs ready in most observations, growing and shrinking
    long[] ready = {3, 0, 7, 12, 2, 9, 0, 15, 4, 8};
    for (int i = 0; i < 400; i++) r.at(90 + 5L * i, ready[i % ready.length], 20 + (i * 7) % 9);
    // only its start on the quiet queue counts as one burst; it is never quiet again, so never another
    assertThat(r.h.bursts()).extracting(b -> Duration.between(T0, b.at()).toSeconds()).containsExactly(90L);
    // and without a prediction the forecast adds nothing to any decision
    assertThat(r.decisions).allSatisfy(d -> assertThat(d.reason()).doesNotContain("forecast", "burst"));
  }

  @Test
  void theBurstHistoryStaysBounded() {
    Run r = new Run(SPEC);
    r.quiet(0, 100);
    for (int k = 0; k < 12; k++) r.spike(100 + 600L * k, 300, 700 + 600L * k);
    assertThat(r.h.bursts()).hasSize(BurstForecast.KEPT);
  }

  static ScalingHistory.Burst burst(long t, long jobs) {
    return new ScalingHistory.Burst(T0.plusSeconds(t), 0, jobs);
  }

  static Stream<Arguments> histories() {
    return Stream.of(
        Arguments.of("three at 600 s", List.of(burst(0, 300), burst(600, 300), burst(1200, 300)), 1800L, 300L),
        Arguments.of("sizes differ: the largest", List.of(burst(0, 250), burst(600, 310), burst(1200, 280)), 1800L, 310L),
        Arguments.of("within 5 s of each other", List.of(burst(0, 300), burst(602, 300), burst(1200, 300)), 1800L, 300L),
        Arguments.of("only two", List.of(burst(600, 300), burst(1200, 300)), null, null),
        Arguments.of("unstable period", List.of(burst(0, 300), burst(600, 300), burst(1000, 300)), null, null),
        Arguments.of("period under 120 s: a continuous load", List.of(burst(0, 300), burst(90, 300), burst(180, 300)),
            null, null),
        Arguments.of("a small one is not a burst", List.of(burst(0, 300), burst(600, 10), burst(1200, 300)), null, null),
        Arguments.of("the last three decide", List.of(burst(0, 300), burst(500, 300), burst(1100, 300), burst(1700, 300)),
            2300L, 300L));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("histories")
  void predictsOnlyAStablePeriod(String name, List<ScalingHistory.Burst> bursts, Long dueAt, Long jobs) {
    var p = BurstForecast.predict(bursts, T0.plusSeconds(1790));
    if (dueAt == null) {
      assertThat(p).isEmpty();
    } else {
      assertThat(p).isPresent();
      assertThat(Duration.between(T0, p.get().at()).toSeconds()).isEqualTo(dueAt);
      assertThat(p.get().jobs()).isEqualTo(jobs);
    }
  }

  @Test
  void aBurstNeedsAQuietQueueBeforeIt() {
    Run r = new Run(SPEC);
    r.quiet(0, 100);
    r.at(100, 2, 0);
    r.at(105, 5, 0);
    // one burst from its onset at 100 (the first growth on the quiet queue), counted over its span
    r.at(110, 300, 5);
    r.at(200, 0, 0);
    assertThat(r.h.bursts()).as("one burst, from 100; none opened while its jobs were ready")
        .extracting(b -> Duration.between(T0, b.at()).toSeconds()).containsExactly(100L);
    assertThat(r.h.bursts().get(0).jobs()).isEqualTo(305);
    r.quiet(215, 300);
    r.at(300, 0, 0);
    r.at(305, 8, 0);
    r.quiet(320, 400);
    assertThat(r.h.bursts()).as("8 jobs: below the burst size, dropped once its span is over")
        .extracting(b -> Duration.between(T0, b.at()).toSeconds()).containsExactly(100L);
  }

  /** One unpredicted 300-job burst at 100 on a quiet queue, scaled up reactively, served until 135. */
  static Run oneBurst() {
    Run r = new Run(SPEC);
    r.quiet(0, 100);
    r.at(100, 300, 0);
    r.at(105, 252, 48);
    r.at(125, 120, 48);
    r.at(135, 20, 48);
    return r;
  }

  @Test
  void anUnpredictedBurstWhoseWorkOnlyShrankIsReleasedToItsJobsInFlightAtOnce() {
    Run r = oneBurst();
    int running = r.last().replicas();
    assertThat(running).as(r.last().reason()).isGreaterThan(10);
    // every job started, the work shrank since the burst's span (68 → 40): no load goes on, so the
    // replicas its 40 jobs in flight need stay and idle ones go now — not after the idle lookback
    // (which still sees the jobs ready 10 s ago) or the scale-up's stabilization window
    ScalingDecision d = r.at(145, 0, 40);
    assertThat(d.reason()).contains("burst of", "all started, no arrival since", "releasing idle replicas");
    assertThat(d.replicas()).as(d.reason()).isEqualTo(10);
    assertThat(d.drain()).isNotNull();
    assertThat(d.drain().idleScaleDown()).isTrue();
    // and it follows the drain: the next cycle 2 s later, where each pod whose jobs ended goes
    assertThat(d.decideAgainAt()).isEqualTo(T0.plusSeconds(147));
    d = r.at(147, 0, 13);
    assertThat(d.replicas()).as(d.reason()).isEqualTo(4);
    d = r.at(149, 0, 0);
    assertThat(d.replicas()).as(d.reason()).isZero();
    assertThat(d.decideAgainAt()).as("nothing left to follow: the poll and NOTIFY suffice").isNull();

  }

  @Test
  void aReleasedBurstIsNotScaledBackUpForTheRateItsOwnJobsLeaveInTheEstimate() {
    Run r = oneBurst();
    r.at(145, 0, 40);
    // its long jobs finish slower than the mean job time says, so the rate estimate (growth of the
    // work + jobs in flight ÷ d over its lookback) reads arrivals where none came
    r.at(150, 0, 38);
    r.at(155, 0, 37);
    r.at(160, 0, 36);
    ScalingDecision d = r.at(165, 0, 0);
    assertThat(d.replicas()).as(d.reason()).isZero();
    // nothing ready, the work only shrank since the burst: no 0 → N → 0 flap at the next cycles
    for (long t = 167; t < 200; t += 2) {
      d = r.at(t, 0, 0);
      assertThat(d.replicas()).as(d.reason()).isZero();
    }
  }

  @Test
  void aBurstFollowedByALoadThatGoesOnIsNotReleased() {
    Run r = oneBurst();
    int running = r.last().replicas();
    // the work grew after the burst's span (68 → 70, nothing ready): arrivals go on, so neither now
    // nor when it shrinks later is the burst released; the reactive path decides
    ScalingDecision d = r.at(140, 0, 70);
    assertThat(d.reason()).doesNotContain("releasing idle replicas");
    assertThat(d.replicas()).as(d.reason()).isEqualTo(running);
    d = r.at(145, 0, 60);
    assertThat(d.reason()).doesNotContain("releasing idle replicas");
    assertThat(d.replicas()).as(d.reason()).isEqualTo(running);
  }

  @Test
  void aBurstIsFollowedOnlyOnceItsReplicasAreReady() {
    Run r = new Run(SPEC);
    r.quiet(0, 100);
    ScalingDecision up = r.at(100, 300, 0);
    assertThat(up.replicas()).isGreaterThan(0);
    // a scale-up under way (pods Ready at 120): no added cycle, the poll and NOTIFY decide it as before
    assertThat(up.decideAgainAt()).as(up.reason()).isNull();
    assertThat(r.at(105, 252, 48).decideAgainAt()).isNull();
    // Ready: the next cycle when its slots would have started the jobs ready, 120 × 8 s ÷ slots
    ScalingDecision d = r.at(125, 120, 48);
    double slots = d.replicas() * 4.0;
    assertThat(d.decideAgainAt()).as(d.reason())
        .isEqualTo(T0.plusSeconds(125).plusMillis(Math.max(2000, Math.round(120 * D / slots * 1000))));
  }
}
