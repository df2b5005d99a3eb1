package io.queuepilot.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Nearest-rank percentiles, the same definition the peers' scripts use. */
class StatsTest {

  @Test
  void nearestRankPercentilesOfOneToHundred() {
    List<Double> samples = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      samples.add((double) i);
    }
    Collections.shuffle(samples);
    Stats s = Stats.of(samples);
    assertThat(s.samples()).isEqualTo(100);
    assertThat(s.minMs()).isEqualTo(1.0);
    assertThat(s.p50Ms()).isEqualTo(50.0);
    assertThat(s.p99Ms()).isEqualTo(99.0);
    assertThat(s.maxMs()).isEqualTo(100.0);
    assertThat(s.avgMs()).isEqualTo(50.5);
  }

  @Test
  void singleSampleIsEveryPercentile() {
    Stats s = Stats.of(List.of(3.5));
    assertThat(s.p50Ms()).isEqualTo(3.5);
    assertThat(s.p99Ms()).isEqualTo(3.5);
  }

  @Test
  void noSamplesIsAnError() {
    assertThatThrownBy(() -> Stats.of(List.of())).hasMessageContaining("no samples");
  }
}
