package io.queuepilot.controller.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.scaling.QueueSnapshot;
import io.queuepilot.scaling.ScalerSpec;
import io.queuepilot.scaling.ScalingDecision;
import io.queuepilot.scaling.ScalingHistory;
import io.queuepilot.scaling.ScalingHistoryStore;
import io.queuepilot.scaling.ScalingPolicy;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * {@code status.scalingState} carries the recurring-burst history: a new leader, with nothing in
 * memory, loads it from the status (as JSON, the way the API server stores it) and pre-warms for
 * the next burst exactly as the old leader would have.
 */
class StatusHistoryStoreTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final ScalerSpec SPEC = ScalerSpec.of(0, 50, 4)
      .withSizing(Duration.ofSeconds(60), Duration.ofSeconds(20));

  static QueueSnapshot snapshot(long ready, long processing) {
    return new QueueSnapshot(ready, 0, processing, 0, 0, ready > 0 ? 1 : 0, 8.0, 2000.0, 50);
  }

  /** The old leader: three 300-job spikes 600 s apart, decided and recorded as the Scaler does, until 1855. */
  static ScalingHistory oldLeader() {
    ScalingHistory h = ScalingHistory.start(0, T0);
    for (long t = 0; t < 1855; t += 5) {
      long sinceSpike = (t - 100) % 600;
      QueueSnapshot s = t >= 100 && sinceSpike < 45 ? snapshot(Math.max(0, 300 - 7 * sinceSpike), 40) : snapshot(0, 0);
      Instant now = T0.plusSeconds(t);
      ScalingDecision d = ScalingPolicy.decide(s, SPEC, h, now);
      h = h.record(d, s, now, Duration.ofMinutes(30)).withCurrent(d.replicas());
    }
    return h;
  }

  static QueueScalerStatus throughTheApiServer(QueueScalerStatus status) throws Exception {
    ObjectMapper json = new ObjectMapper();
    return json.readValue(json.writeValueAsString(status), QueueScalerStatus.class);
  }

  @Test
  void aNewLeaderKeepsTheForecastFromStatus() throws Exception {
    ScalingHistory h = oldLeader();
    assertThat(h.bursts()).hasSize(3);
    StatusHistoryStore oldStore = new StatusHistoryStore(ScalingHistoryStore.inMemory(), null);
    oldStore.save(h);
    QueueScalerStatus status = new QueueScalerStatus();
    status.scalingState = oldStore.toStatus();

    // the Lease moves: the new leader's memory is empty, it has only the stored status
    ScalingHistory loaded = new StatusHistoryStore(ScalingHistoryStore.inMemory(), throughTheApiServer(status))
        .load().orElseThrow();
    assertThat(loaded.bursts()).isEqualTo(h.bursts());

    // due at 1900: the pre-warm starts a 20 s start-up plus the jitter seen before (about 1879)
    Instant due = T0.plusSeconds(1885);
    ScalingDecision mine = ScalingPolicy.decide(snapshot(0, 0), SPEC, h, due);
    ScalingDecision theirs = ScalingPolicy.decide(snapshot(0, 0), SPEC, loaded, due);
    assertThat(mine.reason()).contains("pre-warming");
    assertThat(mine.replicas()).isGreaterThan(0);
    assertThat(theirs).isEqualTo(mine);

    // without the bursts in the status the new leader would not pre-warm
    status.scalingState.bursts = null;
    ScalingHistory forgetful = new StatusHistoryStore(ScalingHistoryStore.inMemory(), throughTheApiServer(status))
        .load().orElseThrow();
    assertThat(ScalingPolicy.decide(snapshot(0, 0), SPEC, forgetful, due).replicas()).isZero();
  }
}
