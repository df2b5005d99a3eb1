package io.queuepilot.cli.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.scaling.ScalerSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The real scaler on the seeded issue-15 traces (bench world of {@link ScalerBench}): with the
 * scaler's cap alone — the workers not checking the budget — the provider never sees more than
 * the shared budget in any 60 s; on the seeded noisy trace the count does not flap, and the
 * noisy and ramping traces meet the SLO within 1.1× the oracle schedule's replica-minutes.
 */
class ScalingBenchTracesTest {

  static Comparison.Outcome capAlone(String trace) {
    return capAlone(trace, 1);
  }

  /** The bench's world: every job enqueued with its tokens as tokens_estimated. */
  static Comparison.Outcome capAlone(String trace, long seed) {
    return capAlone(trace, seed, ScalerBench.TOKENS_ESTIMATED);
  }

  /** {@code estimated}: the jobs' tokens_estimated, null for jobs enqueued without one. */
  static Comparison.Outcome capAlone(String trace, long seed, Long estimated) {
    ScalerSpec spec = ScalerBench.benchSpec();
    Workload w = Workload.of(BenchTraces.generate(trace, seed), JobTimes.parse("lognormal:8,0.6"),
        ScalerBench.TOKENS_PER_JOB, estimated, seed);
    return ScalerCommand.compare(spec, 15, w, ScalerBench.CONCURRENCY, ScalerBench.STARTUP_SECONDS, 0.1,
        ScalerBench.TOKENS_PER_MINUTE, ScalerBench.REQUESTS_PER_MINUTE, false, 0, 1800, ScalerBench.SLO_SECONDS);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"burst-2000", "daily-ramp", "noisy-5", "spikes-300", "budget-bound"})
  void theScalerCapAloneKeepsEveryTraceInsideTheBudget(String trace) {
    Comparison.Outcome o = capAlone(trace);
    assertThat(o.queuePilot().secondsOverTokenBudget()).as("seconds over the token budget").isZero();
    assertThat(o.queuePilot().secondsOverRequestBudget()).as("seconds over the request budget").isZero();
    assertThat(o.queuePilot().completed()).isEqualTo(o.queuePilot().workload().jobs().size());
    assertThat(o.queuePilot().firstScaleCallSeconds()).isLessThanOrEqualTo(1.0);
  }

  @Test
  void noisyLoadMeetsTheSloWithoutFlapping() {
    Comparison.Outcome o = capAlone("noisy-5");
    World.Result qp = o.queuePilot();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    // issue 15's target: at most 1 direction change in any 300 s window (measured 1, the hour 1)
    assertThat(qp.maxReversalsPerWindow()).isLessThanOrEqualTo(1);
    assertThat(qp.reversals()).isLessThanOrEqualTo(2);
    assertThat(qp.replicaSeconds()).isLessThan(o.kedaHpa().replicaSeconds());
    // issue 15's target against the clairvoyant oracle schedule: ≤ 1.1× (measured 1.03×,
    // docs/benchmarks.md section 7), and the oracle itself meets the SLO
    assertThat(o.oracle().sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.replicaSeconds() / o.oracle().replicaSeconds()).isLessThanOrEqualTo(1.1);
  }

  /**
   * Seeds 2 and 3 of the noisy trace: their cold start (a load that goes on, job time not yet
   * observed) once got the budget's backlog allowance, was cut back to the expected time's rate
   * cap and raised again as the estimate matured — 2 direction changes within 300 s, seed 2 at
   * 1.11× (docs/benchmarks.md 7.1.3; measured after: 1 and 1, 1.09× and 1.07×).
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {2, 3})
  void noisyLoadOnOtherSeedsChangesDirectionAtMostOncePerWindow(long seed) {
    Comparison.Outcome o = capAlone("noisy-5", seed);
    World.Result qp = o.queuePilot();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.maxReversalsPerWindow()).isLessThanOrEqualTo(1);
    assertThat(o.oracle().sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.replicaSeconds() / o.oracle().replicaSeconds()).isLessThanOrEqualTo(1.1);
    assertThat(qp.secondsOverTokenBudget()).isZero();
  }

  @Test
  void theDailyRampMeetsTheSloWithinATenthOfTheOracle() {
    Comparison.Outcome o = capAlone("daily-ramp");
    World.Result qp = o.queuePilot();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    // issue 15's target: ≤ 1.1× the oracle schedule's replica-minutes (measured 1.08×)
    assertThat(qp.replicaSeconds() / o.oracle().replicaSeconds()).isLessThanOrEqualTo(1.1);
  }

  @Test
  void spikesUseTheBudgetForAFiniteBacklog() {
    Comparison.Outcome o = capAlone("spikes-300");
    World.Result qp = o.queuePilot();
    // measured (seed 1): 169 of 3,600 jobs over 60 s, 1.64× the oracle schedule, with the backlog
    // allowance (a whole 300-job spike, 600,000 tokens, fits 1,000,000 × 0.9); 199 and 1.71×
    // without it. The SLO is not met (the first, cold spike runs on one pod until tokens are
    // seen; docs/benchmarks.md section 7): a regression guard, while the oracle meets it
    assertThat(o.oracle().sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isLessThanOrEqualTo(170);
    assertThat(qp.replicaSeconds() / o.oracle().replicaSeconds()).isLessThanOrEqualTo(1.65);
    assertThat(qp.secondsOverTokenBudget()).isZero();
  }

  /**
   * The cold first spike when the tokens per job are known from its first second (the spec's
   * {@code tokenBudget.tokensPerJob}, as an estimate at enqueue would make them): its 300 jobs
   * over 5 s read as 6.4–8.6 arrivals/s, λ × d ÷ 4 above the rate cap of 13, and the budget's
   * backlog allowance was refused for a "load the cap cannot sustain" — held at 13 replicas, 40
   * of its jobs waited past 60 s (seed 1; 18 and 44 on seeds 2 and 3). A burst that landed on a
   * quiet queue is a spike by construction: the allowance stands when its tokens fit
   * (docs/benchmarks.md 7.1.5; measured after: 0 late, 18 replicas at 35 s).
   */
  @Test
  void aColdSpikeWithKnownTokensPerJobGetsItsBacklogAllowanceAndNoJobIsLate() {
    ScalerSpec bench = ScalerBench.benchSpec();
    ScalerSpec spec = bench.withBudget(new ScalerSpec.Budget(java.util.OptionalLong.empty(),
        java.util.OptionalLong.empty(), java.util.OptionalLong.of(ScalerBench.TOKENS_PER_JOB), 1.0, 8.0).named("openai"));
    int[] all = BenchTraces.generate("spikes-300", 1).arrivals();
    LoadTrace first = new LoadTrace("first-spike", java.util.Arrays.copyOf(all, 600));
    Workload w = Workload.of(first, JobTimes.parse("lognormal:8,0.6"), ScalerBench.TOKENS_PER_JOB, 1);
    Comparison.Outcome o = ScalerCommand.compare(spec, 15, w, ScalerBench.CONCURRENCY, ScalerBench.STARTUP_SECONDS,
        0.1, ScalerBench.TOKENS_PER_MINUTE, ScalerBench.REQUESTS_PER_MINUTE, false, 0, 1800, ScalerBench.SLO_SECONDS);
    World.Result qp = o.queuePilot();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.secondsOverTokenBudget()).isZero();
    assertThat(qp.secondsOverRequestBudget()).isZero();
  }

  /**
   * Issue 15's target on spikes, seeds 1–3: ≤ 1.1× the oracle schedule's replica-minutes with no
   * job over 60 s (docs/benchmarks.md 7.1.6). What it took: the ready jobs' tokens_estimated in
   * queue_stats (V113: the cold first spike is sized before its first pod claims), pre-warmed
   * spikes on the FIFO-start count (one replica fewer) topped up while served when the backlog
   * would start late, and a predicted burst still served as predicted after its 30 s span
   * (measured in the bench: 218.7 / 214.9 / 218.5 replica-minutes, 1.092× / 1.097× / 1.097×; 1.13–1.14×
   * before).
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void spikesMeetTheSloWithinATenthOfTheOracle(long seed) {
    Comparison.Outcome o = capAlone("spikes-300", seed);
    World.Result qp = o.queuePilot();
    assertThat(o.oracle().sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.replicaSeconds() / o.oracle().replicaSeconds()).isLessThanOrEqualTo(1.1);
    assertThat(qp.secondsOverTokenBudget()).isZero();
  }

  /**
   * Jobs enqueued without an estimate (the product's upload path, docs/controller.md): the cold
   * first spike waits for its first pod's reservation as before (24.5 replica-minutes), and no
   * job is late; the pre-warm on the FIFO-start count with its top-up alone takes the trace from
   * 1.13× to 1.1105 here (seed 1, cap alone; the bench: 227.3 → 222.4 replica-minutes,
   * docs/benchmarks.md 7.1.6).
   */
  @Test
  void spikesWithoutEstimatesAddNoLateJob() {
    Comparison.Outcome o = capAlone("spikes-300", 1, null);
    World.Result qp = o.queuePilot();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.replicaSeconds() / o.oracle().replicaSeconds()).isLessThanOrEqualTo(NO_ESTIMATE_BOUND);
    assertThat(qp.secondsOverTokenBudget()).isZero();
  }

  private static final double NO_ESTIMATE_BOUND = 1.111;

  @Test
  void recurringSpikesArePreWarmedByTheForecastAndAddNoLateJob() {
    Comparison.Outcome o = capAlone("spikes-300");
    World.Result qp = o.queuePilot();
    // the first spike alone (the same first 600 s): cold, unpredictable, its late jobs are the floor
    int[] all = BenchTraces.generate("spikes-300", 1).arrivals();
    LoadTrace first = new LoadTrace("first-spike", java.util.Arrays.copyOf(all, 600));
    Workload w = Workload.of(first, JobTimes.parse("lognormal:8,0.6"), ScalerBench.TOKENS_PER_JOB,
        ScalerBench.TOKENS_ESTIMATED, 1);
    World.Result alone = ScalerCommand.compare(ScalerBench.benchSpec(), 15, w, ScalerBench.CONCURRENCY,
        ScalerBench.STARTUP_SECONDS, 0.1, ScalerBench.TOKENS_PER_MINUTE, ScalerBench.REQUESTS_PER_MINUTE, false, 0, 1800,
        ScalerBench.SLO_SECONDS).queuePilot();
    // measured (seed 1, 2026-12-01): no late job — the cold first spike's cap is corrected when its
    // first pod is Ready (a cycle asked for then) and its backlog allowance counts the wait it has
    // had; spikes 4 to 12 are pre-warmed at the cycle the forecast asks for, every burst (predicted
    // or not) is released to its jobs in flight once all of it started, followed every 2 s — and
    // 1.16× the oracle schedule counting the pre-warm for the 13th spike the forecast expects after
    // the trace (1.27× before, without that pre-warm billed; 1.64× without the forecast); 1.14×
    // (227.5 replica-minutes, 2026-12-02) since the backlog allowance credits each slot's first job
    // and adds no pod while a scale-up under way starts the backlog in time (1.16× before: the
    // reactive spikes 2 and 3 on 21 replicas instead of 17); 1.1349 (227.3, 2026-12-02, 1.1360
    // before) since a quiet-queue burst keeps the allowance while its own arrival reads as a rate
    // above the cap (the cold first spike keeps its 27 until 92 s instead of being cut at 90 s with
    // 9 still ready); issue 15 asks for 1.1× (not met, docs/benchmarks.md 7.1.5); met since the jobs'
    // estimates reach the cap (V113) and pre-warmed spikes run one replica fewer, topped up while
    // served (1.088, 2026-12-02, docs/benchmarks.md 7.1.6; seeds 2–3 in spikesMeetTheSloWithinATenthOfTheOracle)
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isZero();
    assertThat(qp.sloViolations(ScalerBench.SLO_SECONDS)).isLessThanOrEqualTo(alone.sloViolations(ScalerBench.SLO_SECONDS));
    assertThat(qp.replicaSeconds() / o.oracle().replicaSeconds()).isLessThanOrEqualTo(1.1);
    // the after-trace pre-warm is simulated and billed: the run goes on past the trace's 7,200 s
    assertThat(qp.simulatedSeconds()).isGreaterThan(7200 + ScalerBench.STARTUP_SECONDS);
    assertThat(qp.secondsOverTokenBudget()).isZero();
  }
}
