package io.queuepilot.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.scaling.ScalerSpec.Behavior;
import io.queuepilot.scaling.ScalerSpec.Budget;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Table-driven tests of {@link ScalingPolicy}: each scenario is a list of observations at
 * given seconds, fed through the policy with the history it builds, and the replica count and
 * limit expected after each.
 */
class ScalingPolicyTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration KEEP = Duration.ofMinutes(30);

  /** One observation: at second {@code t} the queue shows {@code snapshot} (null = stats failed). */
  record Step(long t, QueueSnapshot snapshot, int expectReplicas, LimitedBy expectLimit) {}

  static Step at(long t, long ready, long processing, int replicas, LimitedBy limit) {
    return new Step(t, QueueSnapshot.of(ready, processing), replicas, limit);
  }

  static Step failedAt(long t, int replicas) {
    return new Step(t, null, replicas, LimitedBy.NONE);
  }

  static Step statsAt(long t, long ready, long processing, double avgSeconds, double avgTokens, int replicas, LimitedBy limit) {
    return new Step(t, new QueueSnapshot(ready, 0, processing, 0, 0, 0, avgSeconds, avgTokens, 100), replicas, limit);
  }

  /** Observed 10 s jobs (a full sample of 100 finished) — sizing arithmetic in whole numbers. */
  static Step obs(long t, long ready, long processing, int replicas, LimitedBy limit) {
    return new Step(t, new QueueSnapshot(ready, 0, processing, 0, 0, 0, 10.0, null, 100), replicas, limit);
  }

  /** Observed 10 s jobs, 600 finished in the 5-minute window (a 2 jobs/s long-run rate). */
  static Step five(long t, long ready, long processing, int replicas, LimitedBy limit) {
    return new Step(t, new QueueSnapshot(ready, 0, processing, 0, 0, 0, 10.0, null, 600), replicas, limit);
  }

  /** Observed jobs of {@code seconds} and {@code tokens}, with the shared budget's row {@code row}. */
  /** An empty queue (tokens per job observed, no job time) with the 1,000,000-token row. */
  static Step quietAt(long t) {
    return new Step(t, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE);
  }

  static Step rowAt(long t, long ready, long processing, double seconds, Double tokens, BudgetStatus row, int replicas,
      LimitedBy limit) {
    return new Step(t, new QueueSnapshot(ready, 0, processing, 0, 0, 0, seconds, tokens, 100, row), replicas, limit);
  }

  static BudgetStatus row(long tokensPerMinute, long tokensInWindow, long requestsInWindow) {
    return new BudgetStatus("openai", tokensPerMinute, 100_000, 60, tokensInWindow, requestsInWindow, 0, null);
  }

  static final Behavior DOWN_60S_STEP_2 = Behavior.of(Duration.ofSeconds(60), 2, Duration.ofSeconds(10));
  /** 60 s queue-wait target, 20 s pod start-up: a backlog drains over 40 s. */
  static final Duration TARGET_60 = Duration.ofSeconds(60);
  static final Duration STARTUP_20 = Duration.ofSeconds(20);

  /** The budget named "openai", nothing else configured: the row and the observations decide. */
  static final Budget ROW_BUDGET =
      new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), 1.0, 10).named("openai");

  static Stream<Arguments> scenarios() {
    ScalerSpec base = ScalerSpec.of(0, 20, 4).withScaleDown(DOWN_60S_STEP_2);
    ScalerSpec waits = ScalerSpec.of(0, 50, 4).withScaleDown(DOWN_60S_STEP_2).withSizing(TARGET_60, STARTUP_20);
    return Stream.of(
        // --- sizing for the queue-wait target (with 60 s expected jobs and a 60 s horizon the
        //     formula is ceil((ready + processing) / concurrency): the old zero-wait sizing) ---
        Arguments.of("burst from zero: 500 jobs reach max in one step", base, 0, List.of(
            at(0, 0, 0, 0, LimitedBy.NONE),
            at(1, 500, 0, 20, LimitedBy.MAX))),
        Arguments.of("expected 60 s jobs, 60 s target: 37 ready need 37 slots → 10", base, 0, List.of(
            at(0, 37, 0, 10, LimitedBy.NONE))),
        Arguments.of("wait target: 200 ready × 10 s / (60 s − 20 s start-up) = 50 slots → 13, not 50 for zero wait",
            waits, 0, List.of(
            obs(0, 200, 0, 13, LimitedBy.NONE))),
        Arguments.of("start-up longer than the target: the backlog drains over one job (40 × 10 s / 10 s → 10)",
            ScalerSpec.of(0, 50, 4).withSizing(Duration.ofSeconds(30), Duration.ofSeconds(40)), 0, List.of(
            obs(0, 40, 0, 10, LimitedBy.NONE))),
        Arguments.of("steady arrivals: 20 in flight of 10 s jobs = 2 arrivals/s × 10 s = 20 slots → 5, held", waits, 5,
            List.of(
            obs(0, 0, 20, 5, LimitedBy.NONE),
            obs(15, 0, 20, 5, LimitedBy.NONE),
            obs(30, 0, 20, 5, LimitedBy.NONE),
            obs(45, 0, 20, 5, LimitedBy.NONE),
            obs(60, 0, 20, 5, LimitedBy.NONE))),
        Arguments.of("growing backlog counts as arrivals: +80 work in 30 s with 20 in flight = 4.67/s → 46.7 slots + backlog",
            waits, 5, List.of(
            obs(0, 0, 20, 5, LimitedBy.NONE),
            // 30 s later: 80 ready, 20 in flight: growth 80/30 + 20/10 = 4.67/s × 10 s = 46.7 + 80 × 10/40 = 20 → 66.7
            // slots → 17 (5 running would see (80 + 2.67/s × 20 s) × 10 s ÷ 20 slots = 66.7 s of wait: no slack)
            obs(30, 80, 20, 17, LimitedBy.NONE))),
        // --- wait slack: the running count holds while its predicted wait stays within the target ---
        Arguments.of("wait slack holds the running count: (40 ready + 1.33/s × 20 s) × 10 s ÷ 20 slots = 33 s ≤ 60 − 20 − 5",
            waits, 5, List.of(
            obs(0, 0, 20, 5, LimitedBy.NONE),
            // the sizing asks for 11 (3.33/s × 10 s + 40 × 10 / 40 = 43.3 slots), the queue absorbs it within the target
            obs(30, 40, 20, 5, LimitedBy.STABILIZATION))),
        Arguments.of("no wait slack below minReplicas: a raised minimum applies although the queue is empty",
            ScalerSpec.of(3, 50, 4).withScaleDown(DOWN_60S_STEP_2).withSizing(TARGET_60, STARTUP_20), 1, List.of(
            obs(0, 0, 2, 3, LimitedBy.MIN))),
        Arguments.of("no wait slack from zero replicas: 40 ready and nothing running scale up at once",
            waits, 0, List.of(
            obs(0, 40, 0, 3, LimitedBy.NONE))),
        Arguments.of("no wait slack when the 5-minute rate exceeds the running slots (900 finished = 3/s × 10 s > 20 × 1.1)",
            waits, 5, List.of(
            new Step(0, new QueueSnapshot(0, 0, 20, 0, 0, 0, 10.0, null, 900), 5, LimitedBy.NONE),
            new Step(30, new QueueSnapshot(10, 0, 20, 0, 0, 0, 10.0, null, 900), 7, LimitedBy.NONE))),
        // --- the budget: headroom, reservation hold, one source of truth, cold start, no flip ---
        Arguments.of("budget cap with the reservation hold: 90 % of 100k ÷ (4 × 2000 × (30 + 60) / 30) = 3 (5 without the hold)",
            base.withBudget(Budget.tokens(100_000, 2_000L)), 0, List.of(
            statsAt(0, 200, 0, 30, 9_999, 3, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("budget cap from observed tokens per job: 90000 ÷ (4 × 5000 × 120 / 60) = 2",
            base.withBudget(Budget.tokens(100_000, null)), 0, List.of(
            statsAt(0, 200, 0, 60, 5_000, 2, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("requests/min cap: 108 ÷ (4 × 1 × 70 / 10) = 3",
            base.withBudget(new Budget(OptionalLong.empty(), OptionalLong.of(120), OptionalLong.empty(), 1.0, 60)), 0, List.of(
            statsAt(0, 200, 0, 10, 0, 3, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("budget does not bind when the work is small", base.withBudget(Budget.tokens(100_000, 2_000L)), 0, List.of(
            statsAt(0, 8, 0, 30, 0, 2, LimitedBy.NONE))),
        Arguments.of("budget tighter than one replica still runs one", base.withBudget(Budget.tokens(1_000, 2_000L)), 0, List.of(
            statsAt(0, 50, 0, 30, 0, 1, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("the database row wins over the spec's deprecated numbers: 100k from the row, not 10M",
            base.withBudget(Budget.tokens(10_000_000, 2_000L).named("openai")), 0, List.of(
            rowAt(0, 200, 0, 30, null, row(100_000, 0, 0), 3, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("cold start, nothing observed, no tokensPerJob: 25000 tokens/job assumed, never uncapped → 4",
            base.withBudget(new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), 1.0, 60)
                .named("openai")), 0, List.of(
            // 900000 ÷ (4 × 25000 × (60 + 60) / 60) = 4.5
            new Step(0, new QueueSnapshot(2_000, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 4,
                LimitedBy.TOKEN_BUDGET))),
        // --- a finite backlog whose whole reservation fits the budget (spikes) ---
        //     row: 1,000,000 tokens/60 s; observed 10 s jobs of 2000 tokens; rate cap
        //     900000 ÷ (4 × 2000 × (10 + 60) / 10) = 900000 ÷ 56000 = 16.07 → 16
        Arguments.of("backlog fits: 0 held + (400 ready + 0/s × 15 s) × 2000 = 800000 ≤ 900000 → 400 × 10 s ÷ (40 s + 10 s"
                + " first round) = 80 slots → 20 above the rate cap 16 (the sizing's 25 would start them in 40 − 10 s)",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            rowAt(0, 400, 0, 10, 2_000.0, row(1_000_000, 0, 0), 20, LimitedBy.TOKEN_BUDGET))),
        // --- a scale-up under way (docs/benchmarks.md §7.1.4): the 20 replicas asked for at t=0 are
        //     Ready at 20 s; at t=15 the backlog has waited 15 s, so a pod asked for now would leave
        //     60 − 20 − 15 = 25 s (400 × 10 ÷ 35 = 115 slots → 29), but the 20 starting ones have
        //     60 − 15 − 5 = 40 s from their Ready: 80 slots × (1 + 40 ÷ 10) ≥ 400, none is added ---
        Arguments.of("scale-up under way: the replicas already starting count from their Ready instant, not now + start-up",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            rowAt(0, 400, 0, 10, 2_000.0, row(1_000_000, 0, 0), 20, LimitedBy.TOKEN_BUDGET),
            new Step(15, new QueueSnapshot(400, 0, 0, 0, 0, 15, 10.0, 2_000.0, 100, row(1_000_000, 0, 0)), 20,
                LimitedBy.TOKEN_BUDGET))),
        // --- a burst on a quiet queue on the spec's expected job time (10 s, not observed): no
        //     first-round credit — the expected time is a guess (a lognormal's median is below its
        //     mean), the continuous drain's extra slots are its margin: aged 1 s, 300 × 10 ÷ 39 = 77
        //     slots → 20, not 300 × 10 ÷ (39 + 10) = 61 → 16 (the running 16) ---
        Arguments.of("a burst on an expected job time: the allowance drains it over the horizon without the first-round credit",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            // a minute quiet, so the burst's growth over the rate lookback (300 ÷ 60 s × 10 s ÷ 4 = 12.5)
            // stays within the rate cap's throughput (the allowance's precondition)
            quietAt(0), quietAt(5), quietAt(10), quietAt(15), quietAt(20), quietAt(25), quietAt(30), quietAt(35),
            quietAt(40), quietAt(45), quietAt(50), quietAt(55), quietAt(60),
            // the burst's first observation: not yet in the history, so no allowance on an unobserved time
            new Step(61, new QueueSnapshot(300, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 16,
                LimitedBy.TOKEN_BUDGET),
            new Step(62, new QueueSnapshot(300, 0, 0, 0, 0, 1, null, 2_000.0, 0, row(1_000_000, 0, 0)), 20,
                LimitedBy.TOKEN_BUDGET))),
        Arguments.of("backlog does not fit: 400000 held + 300 × 2000 = 1000000 > 900000 → the rate cap 16",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            rowAt(0, 300, 0, 10, 2_000.0, row(1_000_000, 400_000, 200), 16, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("backlog fits, 25 running: (40 in flight + 200 × 10 / 40) ÷ 4 = 23 but no cut below 25 while jobs wait"
                + " (300000 held + (200 + 4/s × 15 s) × 2000 = 820000)",
            waits.withBudget(ROW_BUDGET), 25, List.of(
            rowAt(0, 200, 40, 10, 2_000.0, row(1_000_000, 300_000, 150), 25, LimitedBy.STABILIZATION))),
        Arguments.of("arrivals above the rate cap's throughput (80 in flight = 8/s × 10 s = 20 replicas > 16): no allowance",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            rowAt(0, 200, 80, 10, 2_000.0, row(1_000_000, 0, 0), 16, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("a steady load's noise (backlog 100 × 10 / 40 = 25 slots < 40 arriving): the rate cap 16, no allowance",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            rowAt(0, 100, 40, 10, 2_000.0, row(1_000_000, 0, 0), 16, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("cold start: no allowance on the 25000 guess (20 × 25000 = 500000 would fit): 900000 ÷ 700000 = 1",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            rowAt(0, 20, 0, 10, null, row(1_000_000, 0, 0), 1, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("cold start with live reservations: 40000 tokens over 20 requests = 2000/job → 900000 ÷ (4 × 2000 × 2) = 56 → max",
            base.withBudget(new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), 1.0, 60)
                .named("openai")), 0, List.of(
            new Step(0, new QueueSnapshot(2_000, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 40_000, 20)), 20,
                LimitedBy.MAX))),
        // --- the allowance on an unobserved job time (docs/benchmarks.md §7.1.3): the expected 10 s,
        //     2000 tokens/job observed; rate cap 900000 ÷ (4 × 2000 × (10 + 60) / 10) = 16 ---
        Arguments.of("a cold load, job time not yet observed: no allowance (600000 would fit), the rate cap 16 — the"
                + " allowance would be cut back to a cap that rises as the estimate matures (up, down, up)",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            new Step(0, new QueueSnapshot(300, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 16,
                LimitedBy.TOKEN_BUDGET))),
        Arguments.of("a burst on a quiet queue, job time not yet observed: the allowance stands (the backlog is the"
                + " burst, not a load that goes on): 0 held + (300 + 5.9/s × 15 s) × 2000 = 777000 → 75 slots → 19",
            waits.withBudget(ROW_BUDGET), 0, List.of(
            new Step(0, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            new Step(15, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            new Step(30, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            // the burst's first observation: 300 ready at once read as 9.7/s (> the cap's 16 × 4 ÷ 10 s): the rate cap
            new Step(31, new QueueSnapshot(300, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 16,
                LimitedBy.TOKEN_BUDGET),
            // 20 s on (pods starting): 300 over 51 s = 5.9/s, within the rate cap; the burst is served
            new Step(51, new QueueSnapshot(300, 0, 0, 0, 0, 0, null, 2_000.0, 0, row(1_000_000, 0, 0)), 19,
                LimitedBy.TOKEN_BUDGET))),
        // --- a burst on a quiet queue whose arrival outruns the rate cap: its λ is the burst itself
        //     (300 over the 36 s lookback = 8.3/s, × 10 s ÷ 4 = 20.8 > the rate cap's 16), not a load
        //     the cap must sustain, so the allowance stands when its tokens fit (docs/benchmarks.md
        //     §7.1.5: the cold first spike with tokensPerJob configured was held at the rate cap,
        //     40 / 18 / 44 jobs late on seeds 1-3); a load that goes on is not a quiet-queue burst
        //     and keeps the rate cap (the cases above) ---
        Arguments.of("a quiet-queue burst faster than the rate cap, tokens per job configured: 0 held + (300 + 8.3/s ×"
                + " 15 s) × 2000 = 850000 ≤ 900000 → 300 × 10 s ÷ 35 s = 86 slots → 22 (16 without the exemption)",
            waits.withBudget(new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.of(2_000), 1.0, 10)
                .named("openai")), 0, List.of(
            new Step(0, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            new Step(15, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            new Step(30, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            // the burst's first observation: not yet in the history, the rate cap
            new Step(31, new QueueSnapshot(300, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 16,
                LimitedBy.TOKEN_BUDGET),
            // 5 s on, the burst served: the allowance despite λ × d ÷ 4 = 20.8 above the rate cap
            new Step(36, new QueueSnapshot(300, 0, 0, 0, 0, 5, null, null, 0, row(1_000_000, 0, 0)), 22,
                LimitedBy.TOKEN_BUDGET))),
        Arguments.of("the same backlog and arrival without a quiet queue before it (a load that goes on): the rate cap 16",
            waits.withBudget(new Budget(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.of(2_000), 1.0, 10)
                .named("openai")), 0, List.of(
            new Step(0, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            new Step(15, new QueueSnapshot(0, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 0, LimitedBy.NONE),
            // 20 s observed only: not a quiet queue for 30 s, so no burst is counted
            new Step(21, new QueueSnapshot(300, 0, 0, 0, 0, 0, null, null, 0, row(1_000_000, 0, 0)), 16,
                LimitedBy.TOKEN_BUDGET),
            new Step(36, new QueueSnapshot(300, 0, 0, 0, 0, 15, null, null, 0, row(1_000_000, 0, 0)), 16,
                LimitedBy.TOKEN_BUDGET))),
        Arguments.of("the cap rises only with a 5 % margin and falls only when half the headroom no longer holds it",
            ScalerSpec.of(0, 20, 4).withBudget(Budget.tokens(100_000, null)), 0, List.of(
            statsAt(0, 200, 0, 30, 2_000, 3, LimitedBy.TOKEN_BUDGET),
            statsAt(15, 200, 0, 30, 1_850, 3, LimitedBy.TOKEN_BUDGET),   // 4.05 now, 3.86 with margin: held at 3
            statsAt(30, 200, 0, 30, 1_700, 4, LimitedBy.TOKEN_BUDGET),   // 4.2 with margin: 4
            statsAt(45, 200, 0, 30, 1_900, 4, LimitedBy.TOKEN_BUDGET),   // 3.95, but 4.17 within half the headroom: kept
            statsAt(60, 200, 0, 30, 2_100, 3, LimitedBy.TOKEN_BUDGET))), // 3.77 even with half: cut to 3
        // --- min / max ---
        Arguments.of("min: an empty queue keeps minReplicas", ScalerSpec.of(2, 10, 4), 2, List.of(
            at(0, 0, 0, 2, LimitedBy.MIN))),
        Arguments.of("min: scales up to min from zero at once", ScalerSpec.of(3, 10, 4), 0, List.of(
            at(0, 0, 0, 3, LimitedBy.MIN))),
        Arguments.of("max: caps a large queue", ScalerSpec.of(0, 7, 1), 2, List.of(
            at(0, 1_000, 10, 7, LimitedBy.MAX))),
        Arguments.of("max lowered below the running count applies at once", ScalerSpec.of(0, 3, 1), 8, List.of(
            at(0, 100, 0, 3, LimitedBy.MAX))),
        // --- drain-aware scale-down ---
        Arguments.of("drained queue, nothing in flight: down once a whole 15 s saw no backlog, not after the window", base, 0,
            List.of(
            at(0, 40, 0, 10, LimitedBy.NONE),
            at(10, 0, 0, 10, LimitedBy.STABILIZATION),
            at(16, 0, 0, 10, LimitedBy.STABILIZATION), // 1..10 s may still have had the 40 ready of t=0
            at(26, 0, 0, 0, LimitedBy.NONE))),
        Arguments.of("after a burst: idle capacity goes at once down to the workers still busy (8 in flight → 2)", waits, 0,
            List.of(
            obs(0, 200, 0, 13, LimitedBy.NONE),
            obs(30, 0, 8, 13, LimitedBy.STABILIZATION), // the 15 s before may still have had the backlog of t=0
            obs(46, 0, 8, 2, LimitedBy.STABILIZATION),  // 8 in flight hold 2; the 11 idle go now
            // 8 in flight at 46 s and none at 62 s read as 0.35 arrivals/s over the last 32 s → 1
            obs(62, 0, 0, 1, LimitedBy.NONE),
            obs(78, 0, 0, 0, LimitedBy.NONE))),
        Arguments.of("steady arrivals keep the window: half idle but 2 jobs/s arriving → window, steps of 2 to the 5 whose 20 slots carry them",
            waits, 10, List.of(
            obs(0, 0, 20, 10, LimitedBy.STABILIZATION),
            obs(30, 0, 20, 10, LimitedBy.STABILIZATION),
            obs(61, 0, 20, 8, LimitedBy.STABILIZATION),
            // 2/s × 10 s = 20 slots ≤ 5 × 4; the 5-minute rate (100 finished: 0.33/s) is far below
            obs(71, 0, 20, 6, LimitedBy.STABILIZATION),
            obs(81, 0, 20, 5, LimitedBy.NONE),
            obs(91, 0, 20, 5, LimitedBy.NONE))),
        Arguments.of("partial drain: no step down while 20 ready would wait more than a quarter of the target at 9",
            base, 0, List.of(
            at(0, 40, 0, 10, LimitedBy.NONE),
            at(30, 20, 8, 10, LimitedBy.STABILIZATION),
            // 20 ready × 60 s ÷ 36 slots = 33 s > 15 s: the surplus rule keeps 10 (the sizing says 7)
            at(70, 20, 8, 10, LimitedBy.STABILIZATION),
            at(95, 20, 8, 10, LimitedBy.STABILIZATION),
            at(200, 20, 8, 10, LimitedBy.STABILIZATION))),
        Arguments.of("a scale-up is held for the whole scale-down window; steps after a step down follow the period",
            ScalerSpec.of(0, 50, 4).withScaleDown(Behavior.of(Duration.ofSeconds(300), 2, Duration.ofSeconds(10)))
                .withSizing(TARGET_60, STARTUP_20), 2, List.of(
            // 2 running would see (60 + 1.2/s × 20 s) × 10 s ÷ 8 slots = 105 s: up to 20 + 15 slots → 9
            five(300, 60, 20, 9, LimitedBy.NONE),
            five(330, 0, 20, 9, LimitedBy.STABILIZATION),
            five(345, 0, 20, 9, LimitedBy.STABILIZATION),
            five(360, 0, 20, 9, LimitedBy.STABILIZATION),
            five(375, 0, 20, 9, LimitedBy.STABILIZATION),
            five(390, 0, 20, 9, LimitedBy.STABILIZATION),
            // 600 finished in 5 min = 2/s × 10 s = 20 slots need 6 at ≤ 95 %, no backlog for 60 s:
            // only the scale-up hold keeps 9
            five(405, 0, 20, 9, LimitedBy.STABILIZATION),
            five(601, 0, 20, 7, LimitedBy.STABILIZATION),
            five(611, 0, 20, 6, LimitedBy.STABILIZATION),
            five(621, 0, 20, 6, LimitedBy.STABILIZATION))),
        Arguments.of("fresh controller does not scale down before it has watched 15 s of idle queue", base, 10, List.of(
            at(0, 0, 0, 10, LimitedBy.STABILIZATION),
            at(10, 0, 0, 10, LimitedBy.STABILIZATION),
            at(16, 0, 0, 0, LimitedBy.NONE))),
        Arguments.of("fresh controller with work in flight holds for the full window", base, 10, List.of(
            at(0, 0, 20, 10, LimitedBy.STABILIZATION),
            at(30, 0, 20, 10, LimitedBy.STABILIZATION),
            at(61, 0, 20, 8, LimitedBy.STABILIZATION))),
        Arguments.of("flapping input: alternating 40 / 0 every 5 s never scales down", base, 0, List.of(
            at(0, 40, 0, 10, LimitedBy.NONE),
            at(5, 0, 0, 10, LimitedBy.STABILIZATION),
            at(10, 40, 0, 10, LimitedBy.NONE),
            at(15, 0, 0, 10, LimitedBy.STABILIZATION),
            at(20, 40, 0, 10, LimitedBy.NONE),
            at(65, 0, 0, 10, LimitedBy.STABILIZATION),
            at(70, 40, 0, 10, LimitedBy.NONE),
            at(75, 4, 0, 10, LimitedBy.STABILIZATION),
            at(80, 40, 0, 10, LimitedBy.NONE))),
        Arguments.of("scale-up stabilization window ignores a one-off spike",
            base.withScaleUp(Behavior.of(Duration.ofSeconds(30), null, Duration.ZERO)), 2, List.of(
            at(0, 8, 0, 2, LimitedBy.NONE),
            at(10, 80, 0, 2, LimitedBy.STABILIZATION),
            at(20, 8, 0, 2, LimitedBy.NONE))),
        Arguments.of("scale-up maxStep limits one decision", base.withScaleUp(Behavior.of(Duration.ZERO, 5, Duration.ZERO)), 0, List.of(
            at(0, 500, 0, 5, LimitedBy.STABILIZATION),
            at(1, 500, 0, 10, LimitedBy.STABILIZATION))),
        Arguments.of("paused: nothing moves", base.withPaused(true), 3, List.of(
            at(0, 500, 0, 3, LimitedBy.PAUSED),
            at(100, 0, 0, 3, LimitedBy.PAUSED))),
        Arguments.of("missing data: keeps the last good count, never zero", base, 0, List.of(
            at(0, 40, 0, 10, LimitedBy.NONE),
            failedAt(100, 10),
            failedAt(500, 10),
            at(501, 40, 0, 10, LimitedBy.NONE))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("scenarios")
  void scenario(String name, ScalerSpec spec, int initialReplicas, List<Step> steps) {
    ScalingHistory history = ScalingHistory.start(initialReplicas, T0);
    List<String> trace = new ArrayList<>();
    for (Step step : steps) {
      Instant now = T0.plusSeconds(step.t());
      ScalingDecision d = ScalingPolicy.decide(step.snapshot(), spec, history, now);
      trace.add("t=" + step.t() + " → " + d.replicas() + " " + d.limitedBy() + " (" + d.reason() + ")");
      assertThat(d.replicas()).as("replicas at t=%d; trace:%n%s", step.t(), String.join("\n", trace))
          .isEqualTo(step.expectReplicas());
      assertThat(d.limitedBy()).as("limitedBy at t=%d; trace:%n%s", step.t(), String.join("\n", trace))
          .isEqualTo(step.expectLimit());
      assertThat(d.reason()).isNotBlank();
      history = history.record(d, step.snapshot(), now, KEEP);
    }
  }

  @Test
  void aJobTimeIsTrustedOnlyWithTwiceTheJobsInFlightFinished() {
    // the first finishers of a start are its short jobs: 40 finished with 30 in flight is not yet a mean
    assertThat(ScalingPolicy.fullSample(new QueueSnapshot(0, 0, 30, 0, 0, 0, 6.7, null, 40))).isFalse();
    assertThat(ScalingPolicy.fullSample(new QueueSnapshot(0, 0, 30, 0, 0, 0, 9.6, null, 60))).isTrue();
    assertThat(ScalingPolicy.fullSample(new QueueSnapshot(0, 0, 5, 0, 0, 0, 9.6, null, 19))).isFalse();
  }

  @Test
  void anEmptyQueueDoesNotOverwriteTheJobTimeSeen() {
    ScalerSpec spec = ScalerSpec.of(0, 50, 4).withSizing(TARGET_60, STARTUP_20);
    ScalingHistory h = ScalingHistory.start(0, T0);
    QueueSnapshot busy = new QueueSnapshot(10, 0, 8, 0, 0, 0, 10.0, null, 300);
    h = h.record(ScalingPolicy.decide(busy, spec, h, T0), busy, T0, KEEP);
    assertThat(h.jobSecondsSeen()).isEqualTo(10.0);
    // queue empty: the recent window's last 20 finishers are the burst's longest jobs (22 s), not its mean
    QueueSnapshot aging = new QueueSnapshot(0, 0, 0, 0, 0, 0, 22.0, null, 20);
    Instant later = T0.plusSeconds(280);
    h = h.record(ScalingPolicy.decide(aging, spec, h, later), aging, later, KEEP);
    assertThat(h.jobSecondsSeen()).as("the mean of a drained queue's aging window is biased long").isEqualTo(10.0);
  }

  @Test
  void theReasonShowsTheBacklogAllowanceArithmetic() {
    ScalerSpec spec = ScalerSpec.of(0, 50, 4).withSizing(TARGET_60, STARTUP_20).withBudget(ROW_BUDGET);
    ScalingDecision d = ScalingPolicy.decide(
        new QueueSnapshot(400, 0, 0, 0, 0, 0, 10.0, 2_000.0, 100, row(1_000_000, 0, 0)), spec,
        ScalingHistory.start(0, T0), T0);
    assertThat(d.replicas()).isEqualTo(20);
    assertThat(d.reason())
        .contains("0 held + (400 ready + 0.00/s × 15 s) × 2000 tokens/job = 800000 ≤ 900000")
        .contains("max((0 in flight + 400 ready × 10.0 s / (40 s + 10.0 s first round)) ÷ 4 = 20, 0 running) = 20");
    assertThat(d.budgetCap()).as("the history keeps the rate cap, not the allowance").isEqualTo(16);
  }

  @Test
  void theReasonShowsWhyAScaleUpUnderWayAddsNoReplica() {
    ScalerSpec spec = ScalerSpec.of(0, 50, 4).withSizing(TARGET_60, STARTUP_20).withBudget(ROW_BUDGET);
    ScalingHistory h = ScalingHistory.start(0, T0);
    QueueSnapshot first = new QueueSnapshot(400, 0, 0, 0, 0, 0, 10.0, 2_000.0, 100, row(1_000_000, 0, 0));
    ScalingDecision up = ScalingPolicy.decide(first, spec, h, T0);
    h = h.record(up, first, T0, KEEP);
    QueueSnapshot aged = new QueueSnapshot(400, 0, 0, 0, 0, 15, 10.0, 2_000.0, 100, row(1_000_000, 0, 0));
    ScalingDecision d = ScalingPolicy.decide(aged, spec, h, T0.plusSeconds(15));
    assertThat(d.replicas()).as(d.reason()).isEqualTo(20);
    assertThat(d.reason()).contains("400 ready × 10.0 s / (25 s + 10.0 s first round)) ÷ 4 = 20 (a scale-up under way:"
        + " its 20 × 4 slots ≥ 0 in flight + 400 ready × 10.0 s / (40 s from their Ready in 5 s + 10.0 s first round),"
        + " so none added), 20 running) = 20");
  }

  @Test
  void theReasonShowsTheWaitAndBudgetArithmetic() {
    ScalerSpec spec = ScalerSpec.of(0, 20, 4).withBudget(Budget.tokens(100_000, 2_000L))
        .withSizing(TARGET_60, STARTUP_20);
    ScalingDecision d = ScalingPolicy.decide(new QueueSnapshot(200, 0, 0, 0, 0, 0, 30.0, null, 100), spec,
        ScalingHistory.start(0, T0), T0);
    assertThat(d.reason())
        .contains("200 ready × 30.0 s / 40 s (60 s target − 20 s start-up)")
        .contains("100000 tokens/60s × 0.90")
        .contains("2000 tokens/job (configured)")
        .contains("(30.0 s + 60 s held) / 30.0 s) = 3");
    assertThat(d.recommendation()).isEqualTo(3);
    assertThat(d.budgetCap()).isEqualTo(3);
  }

  @Test
  void aScaleDownCarriesItsDrainPlanForTheTarget() {
    ScalerSpec spec = ScalerSpec.of(0, 50, 4).withSizing(TARGET_60, STARTUP_20);
    ScalingHistory h = ScalingHistory.start(13, T0);
    QueueSnapshot tail = new QueueSnapshot(0, 0, 2, 0, 0, 0, 10.0, null, 100);
    ScalingDecision d = ScalingPolicy.decide(tail, spec, h, T0.plusSeconds(30));
    assertThat(d.replicas()).isEqualTo(1);
    assertThat(d.drain()).isEqualTo(new ScalingDecision.Drain(12, 2, 50, true));
    assertThat(ScalingPolicy.decide(QueueSnapshot.of(400, 0), spec, h, T0).drain()).as("no drain on scale-up").isNull();
  }

  @Test
  void theHistoryStaysSmallEnoughForAStatusObject() {
    ScalerSpec spec = ScalerSpec.of(0, 50, 4);
    ScalingHistory h = ScalingHistory.start(0, T0);
    java.util.SplittableRandom r = new java.util.SplittableRandom(5);
    // NOTIFY-driven reconciles every 500 ms for 10 minutes
    for (int i = 0; i < 1200; i++) {
      Instant now = T0.plusMillis(500L * i);
      QueueSnapshot s = QueueSnapshot.of(r.nextInt(200), r.nextInt(40));
      h = h.record(ScalingPolicy.decide(s, spec, h, now), s, now, ScalingHistory.keepFor(spec));
    }
    assertThat(h.observations()).hasSizeLessThanOrEqualTo(
        (int) (ScalingHistory.OBSERVATIONS_KEPT.toSeconds() / ScalingHistory.BUCKET.toSeconds()) + 3);
    assertThat(h.recommendations()).hasSizeLessThanOrEqualTo(3 * 72);
    // compaction keeps the window's extremes: the maximum over the last 300 s is unchanged
    ScalingHistory full = ScalingHistory.start(0, T0);
    List<ScalingHistory.Recommendation> all = new ArrayList<>();
    for (int i = 0; i < 100; i++) all.add(new ScalingHistory.Recommendation(T0.plusMillis(700L * i), r.nextInt(50)));
    List<ScalingHistory.Recommendation> compacted = ScalingHistory.compact(all);
    assertThat(compacted.stream().mapToInt(ScalingHistory.Recommendation::replicas).max())
        .isEqualTo(all.stream().mapToInt(ScalingHistory.Recommendation::replicas).max());
    assertThat(compacted.stream().mapToInt(ScalingHistory.Recommendation::replicas).min())
        .isEqualTo(all.stream().mapToInt(ScalingHistory.Recommendation::replicas).min());
    assertThat(compacted.get(compacted.size() - 1)).isEqualTo(all.get(all.size() - 1));
    assertThat(full.recommendations()).isEmpty();
  }

  @Test
  void specRejectsNonsenseNamingTheField() {
    assertThatThrownBy(() -> ScalerSpec.of(5, 2, 1)).hasMessageContaining("minReplicas (5) must be <= maxReplicas (2)");
    assertThatThrownBy(() -> ScalerSpec.of(0, 2, 0)).hasMessageContaining("concurrency must be >= 1");
    assertThatThrownBy(() -> Budget.tokens(-1, null)).hasMessageContaining("tokenBudget.tokensPerMinute must be > 0");
  }

  /** The budget row's spec with the 60 s target and 20 s start-up: cap and sizing at the bench's numbers. */
  private static final ScalerSpec ROW_WAITS = ScalerSpec.of(0, 50, 4).withSizing(TARGET_60, STARTUP_20)
      .withBudget(ROW_BUDGET);

  static Stream<Arguments> nextCycles() {
    // nothing reserved, nothing finished: only the cold-start guess (25,000 tokens/job) caps
    QueueSnapshot cold = new QueueSnapshot(300, 0, 0, 0, 0, 1, null, null, 0, row(1_000_000, 0, 0));
    // the first worker has reserved: 2,000 tokens per request are known
    QueueSnapshot reserved = new QueueSnapshot(296, 0, 4, 0, 0, 21, null, null, 0, row(1_000_000, 8_000, 4));
    // nothing reserved or finished, but every ready job was enqueued with tokens_estimated 2,000 (V113)
    QueueSnapshot estimated = cold.withReadyEstimate(new QueueSnapshot.ReadyEstimate(300, 600_000, 2_000));
    // only 200 of the 300 ready jobs carry an estimate: it says nothing about the other 100
    QueueSnapshot partly = cold.withReadyEstimate(new QueueSnapshot.ReadyEstimate(200, 400_000, 2_000));
    return Stream.of(
        Arguments.of("every ready job estimated at enqueue: the cap uses its 2,000 tokens/job before any pod claims —"
            + " 900,000 ÷ (4 × 2,000 × (10 s + 60 s) / 10 s) = 16 — and no first-claim cycle is needed", estimated, 0,
            false, 16, null),
        Arguments.of("an estimate on only some ready jobs is no estimate: the cold-start guess's 1 and its first-claim"
            + " cycle", partly, 0, false, 1, 81L),
        Arguments.of("a cold start scales to what the guess allows and asks for a cycle when its first pod is Ready"
            + " (start-up 20 s + 1 s to claim)", cold, 0, false, 1, 81L),
        Arguments.of("once a reservation shows the tokens per job, the poll and NOTIFY suffice; the burst landed on a"
            + " quiet queue, so its backlog is allowed (4 + 296 × 10 s / 19 s) ÷ 4 = 40: the sizing's (50.3 + 74) ÷ 4 = 32",
            reserved, 1, true, 32, null),
        Arguments.of("the same backlog of a load that started cold (no quiet queue before it), job time unobserved:"
            + " the rate cap 16, not the (4 + 296 × 10 s / 40 s) ÷ 4 = 20 the sizing asks", reserved, 1, false, 16, null),
        Arguments.of("a cold start already scaled up (at 60 s by the history) waits for the same instant", cold, 1, false,
            1, 81L));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("nextCycles")
  void asksForItsNextCycleWhenTheColdStartCapCanBeCorrected(String name, QueueSnapshot s, int current,
      boolean quietBefore, int expect, Long againAtSecond) {
    ScalingHistory h = ScalingHistory.start(current, T0);
    if (current > 0) {
      // the scale-up 0 → current happened at 60 s; with quietBefore the queue was observed empty from 0 s
      h = ScalingHistory.start(0, T0);
      if (quietBefore) {
        QueueSnapshot empty = QueueSnapshot.of(0, 0);
        for (long t : new long[] {0, 10, 20, 30, 40, 50}) {
          h = h.record(new ScalingDecision(0, 0, 0, LimitedBy.NONE, "idle"), empty, T0.plusSeconds(t), KEEP);
        }
      }
      ScalingDecision up = new ScalingDecision(current, 0, current, LimitedBy.NONE, "up");
      h = h.record(up, QueueSnapshot.of(300, 0), T0.plusSeconds(60), KEEP).withCurrent(current);
    }
    Instant now = T0.plusSeconds(current > 0 ? 70 : 60);
    ScalingDecision d = ScalingPolicy.decide(s, ROW_WAITS, h, now);
    assertThat(d.replicas()).as(d.reason()).isEqualTo(expect);
    assertThat(d.decideAgainAt()).as(d.reason())
        .isEqualTo(againAtSecond == null ? null : T0.plusSeconds(againAtSecond));
  }

  /**
   * A backlog whose tokens fit is allowed the replicas that start it within what is left of the
   * target: its oldest job has waited already (the cold first spike's 21 s to the first pod), so
   * it drains over 60 − 20 − 21 = 19 s, not 40 — else its last jobs miss the SLO.
   */
  @Test
  void theBacklogAllowanceCountsTheWaitTheBacklogHasAlreadyHad() {
    ScalingHistory h = ScalingHistory.start(1, T0);
    QueueSnapshot empty = new QueueSnapshot(0, 0, 0, 0, 0, 0, 10.0, 2000.0, 100, row(1_000_000, 0, 0));
    h = h.record(ScalingPolicy.decide(empty, ROW_WAITS, h, T0), empty, T0, KEEP).withCurrent(1);
    Instant now = T0.plusSeconds(60);
    QueueSnapshot fresh = new QueueSnapshot(296, 0, 4, 0, 0, 0, 10.0, 2000.0, 100, row(1_000_000, 8_000, 4));
    QueueSnapshot aged = new QueueSnapshot(296, 0, 4, 0, 0, 21, 10.0, 2000.0, 100, row(1_000_000, 8_000, 4));
    ScalingDecision f = ScalingPolicy.decide(fresh, ROW_WAITS, h, now);
    ScalingDecision a = ScalingPolicy.decide(aged, ROW_WAITS, h, now);
    // (4 in flight + 296 × 10 s / (40 s + 10 s first round)) ÷ 4 = 16 for a fresh backlog: the rate cap's 16
    assertThat(f.replicas()).as(f.reason()).isEqualTo(16);
    assertThat(f.limitedBy()).isEqualTo(LimitedBy.TOKEN_BUDGET);
    // (4 + 296 × 10 s / (19 s + 10 s)) ÷ 4 = 27 allowed, below the sizing's (52 + 74 slots) ÷ 4 = 32
    assertThat(a.replicas()).as(a.reason()).isEqualTo(27);
  }
}
