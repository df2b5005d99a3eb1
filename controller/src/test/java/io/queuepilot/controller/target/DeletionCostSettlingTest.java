package io.queuepilot.controller.target;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** When a scale-down waits for freshly set pod-deletion costs, and that it waits at most once. */
class DeletionCostSettlingTest {

  private static final Instant T0 = Instant.parse("2026-12-02T02:00:00Z");
  private final MutableClock clock = new MutableClock(T0);
  private final DeletionCostSettling settling = new DeletionCostSettling(clock);

  @Test
  void costsAlreadyInPlaceScaleNow() {
    assertThat(settling.deferUntil("ns/w", 0)).isNull();
  }

  @Test
  void aPassThatPatchedWaitsTheSettleTimeThenScalesEvenIfItPatchesAgain() {
    assertThat(settling.deferUntil("ns/w", 2)).isEqualTo(T0.plus(DeletionCostSettling.SETTLE));
    // a NOTIFY-driven cycle inside the settle time: same instant, whether or not it patched
    clock.advance(Duration.ofMillis(300));
    assertThat(settling.deferUntil("ns/w", 0)).isEqualTo(T0.plus(DeletionCostSettling.SETTLE));
    clock.advance(Duration.ofMillis(300));
    assertThat(settling.deferUntil("ns/w", 1)).isEqualTo(T0.plus(DeletionCostSettling.SETTLE));
    // the first cycle after it scales, though jobs moved and it patched again: deferred once only
    clock.advance(DeletionCostSettling.SETTLE.minusMillis(600));
    assertThat(settling.deferUntil("ns/w", 3)).isNull();
    // the next scale-down is a new one
    clock.advance(Duration.ofSeconds(5));
    assertThat(settling.deferUntil("ns/w", 1)).isEqualTo(clock.instant().plus(DeletionCostSettling.SETTLE));
  }

  @Test
  void aDeferralNeverFollowedUpIsForgotten() {
    settling.deferUntil("ns/w", 1);
    clock.advance(DeletionCostSettling.FORGET_AFTER);
    assertThat(settling.deferUntil("ns/w", 1)).as("a new scale-down, not the follow-up of the old one")
        .isEqualTo(clock.instant().plus(DeletionCostSettling.SETTLE));
    clock.advance(DeletionCostSettling.FORGET_AFTER.plusSeconds(1));
    assertThat(settling.deferUntil("ns/w", 0)).isNull();
  }

  @Test
  void deploymentsAreSettledApart() {
    assertThat(settling.deferUntil("ns/a", 1)).isNotNull();
    assertThat(settling.deferUntil("ns/b", 0)).isNull();
    assertThat(settling.deferUntil("other/a", 1)).isNotNull();
  }
}
