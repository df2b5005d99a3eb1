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
    return new Step(t, new QueueSnapshot(ready, 0, processing, 0, 0, 0, avgSeconds, avgTokens, 10), replicas, limit);
  }

  static final Behavior DOWN_60S_STEP_2 = Behavior.of(Duration.ofSeconds(60), 2, Duration.ofSeconds(10));

  static Stream<Arguments> scenarios() {
    ScalerSpec base = ScalerSpec.of(0, 20, 4).withScaleDown(DOWN_60S_STEP_2);
    return Stream.of(
        Arguments.of("burst from zero: 500 jobs reach max in one step", base, 0, List.of(
            at(0, 0, 0, 0, LimitedBy.NONE),
            at(1, 500, 0, 20, LimitedBy.MAX))),
        Arguments.of("burst from zero below max: exactly ceil(work/concurrency)", base, 0, List.of(
            at(0, 37, 0, 10, LimitedBy.NONE))),
        Arguments.of("steady state: same load keeps the same count", base, 5, List.of(
            at(0, 10, 10, 5, LimitedBy.NONE),
            at(15, 8, 12, 5, LimitedBy.NONE),
            at(30, 11, 9, 5, LimitedBy.NONE),
            at(120, 12, 8, 5, LimitedBy.NONE))),
        Arguments.of("budget cap: 100k tokens/min, 2000 tokens/job, 30 s/job, 4 per replica → 6", 
            base.withBudget(Budget.tokens(100_000, 2_000L)), 0, List.of(
            statsAt(0, 200, 0, 30, 9_999, 6, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("budget cap from observed tokens per job (5000 tokens, 60 s) → 5",
            base.withBudget(Budget.tokens(100_000, null)), 0, List.of(
            statsAt(0, 200, 0, 60, 5_000, 5, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("requests/min cap: 120 rpm, 1 request/job, 10 s/job, 4 per replica → 5",
            base.withBudget(new Budget(OptionalLong.empty(), OptionalLong.of(120), OptionalLong.empty(), 1.0, 60)), 0, List.of(
            statsAt(0, 200, 0, 10, 0, 5, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("budget does not bind when the work is small", base.withBudget(Budget.tokens(100_000, 2_000L)), 0, List.of(
            statsAt(0, 8, 0, 30, 0, 2, LimitedBy.NONE))),
        Arguments.of("budget tighter than one replica still runs one", base.withBudget(Budget.tokens(1_000, 2_000L)), 0, List.of(
            statsAt(0, 50, 0, 30, 0, 1, LimitedBy.TOKEN_BUDGET))),
        Arguments.of("min: an empty queue keeps minReplicas", ScalerSpec.of(2, 10, 4), 2, List.of(
            at(0, 0, 0, 2, LimitedBy.MIN))),
        Arguments.of("min: scales up to min from zero at once", ScalerSpec.of(3, 10, 4), 0, List.of(
            at(0, 0, 0, 3, LimitedBy.MIN))),
        Arguments.of("max: caps a large queue", ScalerSpec.of(0, 7, 1), 2, List.of(
            at(0, 1_000, 10, 7, LimitedBy.MAX))),
        Arguments.of("max lowered below the running count applies at once", ScalerSpec.of(0, 3, 1), 8, List.of(
            at(0, 100, 0, 3, LimitedBy.MAX))),
        Arguments.of("stabilization: drain steps down only after the window, by maxStep per period", base, 0, List.of(
            at(0, 40, 0, 10, LimitedBy.NONE),
            at(10, 0, 0, 10, LimitedBy.STABILIZATION),
            at(59, 0, 0, 10, LimitedBy.STABILIZATION),
            at(61, 0, 0, 8, LimitedBy.STABILIZATION),
            at(65, 0, 0, 8, LimitedBy.STABILIZATION),
            at(71, 0, 0, 6, LimitedBy.STABILIZATION),
            at(81, 0, 0, 4, LimitedBy.STABILIZATION),
            at(91, 0, 0, 2, LimitedBy.STABILIZATION),
            at(101, 0, 0, 0, LimitedBy.NONE),
            at(111, 0, 0, 0, LimitedBy.NONE))),
        Arguments.of("stabilization: partial drain steps to the window maximum", base, 0, List.of(
            at(0, 40, 0, 10, LimitedBy.NONE),
            at(30, 20, 8, 10, LimitedBy.STABILIZATION),
            at(70, 20, 8, 8, LimitedBy.STABILIZATION),
            at(95, 20, 8, 7, LimitedBy.NONE),
            at(200, 20, 8, 7, LimitedBy.NONE))),
        Arguments.of("fresh controller does not scale down before it has watched a full window", base, 10, List.of(
            at(0, 0, 0, 10, LimitedBy.STABILIZATION),
            at(30, 0, 0, 10, LimitedBy.STABILIZATION),
            at(61, 0, 0, 8, LimitedBy.STABILIZATION))),
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
      history = history.record(d, now, KEEP);
    }
  }

  @Test
  void budgetReasonShowsTheArithmetic() {
    ScalerSpec spec = ScalerSpec.of(0, 20, 4).withBudget(Budget.tokens(100_000, 2_000L));
    ScalingDecision d = ScalingPolicy.decide(new QueueSnapshot(200, 0, 0, 0, 0, 0, 30.0, null, 0), spec,
        ScalingHistory.start(0, T0), T0);
    assertThat(d.reason()).contains("100000 tokens/min").contains("2000 tokens/job").contains("= 6");
    assertThat(d.recommendation()).isEqualTo(6);
  }

  @Test
  void specRejectsNonsenseNamingTheField() {
    assertThatThrownBy(() -> ScalerSpec.of(5, 2, 1)).hasMessageContaining("minReplicas (5) must be <= maxReplicas (2)");
    assertThatThrownBy(() -> ScalerSpec.of(0, 2, 0)).hasMessageContaining("concurrency must be >= 1");
    assertThatThrownBy(() -> Budget.tokens(-1, null)).hasMessageContaining("tokenBudget.tokensPerMinute must be > 0");
  }
}
