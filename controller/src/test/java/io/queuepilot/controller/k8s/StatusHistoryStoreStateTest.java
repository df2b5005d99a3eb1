package io.queuepilot.controller.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.controller.crd.ScalingState;
import io.queuepilot.scaling.ScalingHistory;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code status.scalingState} keeps when the scaler last scaled up, so a new leader keeps holding a scale-up. */
class StatusHistoryStoreStateTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void theLastScaleUpSurvivesTheRoundTripThroughStatus() {
    ScalingHistory h = new ScalingHistory(9, List.of(new ScalingHistory.Recommendation(T0.plusSeconds(30), 9)), T0,
        T0.plusSeconds(40), List.of(), null, 10.0, null, T0.plusSeconds(30), List.of());
    ScalingState s = StatusHistoryStore.toState(h);
    assertThat(s.lastScaleUpTime).isEqualTo("2026-01-01T00:00:30Z");
    ScalingHistory back = StatusHistoryStore.fromStatus(s).orElseThrow();
    assertThat(back.lastScaleUpTime()).isEqualTo(T0.plusSeconds(30));
    assertThat(back.lastScaleTime()).isEqualTo(T0.plusSeconds(40));
  }

  @Test
  void aStatusWrittenBeforeTheFieldLoadsWithoutIt() {
    ScalingState s = StatusHistoryStore.toState(ScalingHistory.start(3, T0));
    s.lastScaleUpTime = null;
    assertThat(StatusHistoryStore.fromStatus(s).orElseThrow().lastScaleUpTime()).isNull();
  }
}
