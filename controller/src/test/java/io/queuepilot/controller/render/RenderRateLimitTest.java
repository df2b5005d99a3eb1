package io.queuepilot.controller.render;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleTargetRef;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.controller.target.RenderApi;
import io.queuepilot.controller.target.RenderScaleTarget;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.scaling.ApplyStep;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.testkit.FakeRender;
import io.queuepilot.testkit.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Render's rate limits as its API reference documents them, against a fake that enforces both
 * the write limit (30 / minute) and the read limit (100 GETs / minute) and answers 429 with
 * Render's error body: {@code Ratelimit-Reset} in UTC epoch seconds (and tolerated as seconds
 * from now), and a NOTIFY burst that runs a cycle twice a second for minutes never draws a 429.
 */
class RenderRateLimitTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  static JobQueue producer;
  static JobQueue controllerQueue;

  MutableClock clock;
  FakeRender render;
  RenderApi api;

  @BeforeAll
  static void database() throws Exception {
    producer = new PostgresJobQueue(pg.superuser());
    controllerQueue = new PostgresJobQueue(pg.loginAs("qp_render_limits", "queue_controller"));
  }

  @BeforeEach
  void setUp() throws Exception {
    clock = new MutableClock();
    render = new FakeRender(clock);
    api = new RenderApi(render.baseUrl(), FakeRender.API_KEY, clock);
  }

  @AfterEach
  void tearDown() {
    render.close();
  }

  RenderScaler scaler(String serviceId, String jobType) {
    QueueScalerSpec s = new QueueScalerSpec();
    s.scaleTargetRef = ScaleTargetRef.render(serviceId, null);
    s.jobTypes = List.of(jobType);
    s.minReplicas = 1;
    s.maxReplicas = 50;
    s.concurrencyPerReplica = 1;
    s.scaleDown.stabilizationWindowSeconds = 0;
    s.scaleDown.periodSeconds = 1;
    s.scaleDown.maxStep = 50;
    return new RenderScaler(serviceId, s, controllerQueue, new RenderScaleTarget(api, serviceId),
        new ControllerMetrics(new SimpleMeterRegistry()), clock);
  }

  static void enqueue(String jobType, int n) {
    for (int i = 0; i < n; i++) producer.enqueue(JobQueue.NewJob.of(jobType, "{}", jobType + ":" + UUID.randomUUID()));
  }

  @Test
  void ratelimitResetInEpochSecondsHoldsWritesUntilThatInstant() {
    render.service("srv-epoch", 1, false);
    enqueue("limits_epoch", 5);
    render.rateLimitNextScales(1, 40);
    RenderScaler s = scaler("srv-epoch", "limits_epoch");

    CycleOutcome first = s.runOnce();
    Instant reset = clock.instant().plusSeconds(40);
    assertThat(((CycleOutcome.Decided) first).apply()).isInstanceOf(ApplyStep.ApplyFailed.class);
    assertThat(((ApplyStep.ApplyFailed) ((CycleOutcome.Decided) first).apply()).message())
        .contains("429: rate limit exceeded");
    assertThat(first.retryAt()).as("the epoch seconds read as an instant, not as 1.7e9 s from now").contains(reset);

    clock.advance(Duration.ofSeconds(39));
    s.runOnce();
    assertThat(render.scaleCalls()).as("no write before the reset").isEqualTo(1);
    clock.advance(Duration.ofSeconds(1));
    CycleOutcome.Decided after = (CycleOutcome.Decided) s.runOnce();
    assertThat(after.scaled()).isTrue();
    assertThat(render.numInstances("srv-epoch")).isEqualTo(5);
  }

  @Test
  void aRatelimitResetGivenAsSecondsFromNowIsToleratedToo() {
    render.resetAsDelta(true);
    render.service("srv-delta", 1, false);
    enqueue("limits_delta", 3);
    render.rateLimitNextScales(1, 40);

    CycleOutcome first = scaler("srv-delta", "limits_delta").runOnce();

    assertThat(first.retryAt()).contains(clock.instant().plusSeconds(40));
  }

  @Test
  void resetValuesAreEpochAboveTheThresholdAndBoundedEitherWay() {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    assertThat(RenderApi.resetInstant(now.getEpochSecond() + 45, now)).isEqualTo(now.plusSeconds(45));
    assertThat(RenderApi.resetInstant(45, now)).isEqualTo(now.plusSeconds(45));
    assertThat(RenderApi.resetInstant(now.getEpochSecond() - 10, now)).as("a reset in the past: now").isEqualTo(now);
    assertThat(RenderApi.resetInstant(now.getEpochSecond() + 86_400, now)).as("a day away: capped")
        .isEqualTo(now.plus(RenderApi.LONGEST_STOP));
    assertThat(RenderApi.resetInstant(999_999_999L, now)).as("below the threshold: a delta, capped")
        .isEqualTo(now.plus(RenderApi.LONGEST_STOP));
  }

  @Test
  void aNotifyBurstOfCyclesStaysInsideRendersReadAndWriteLimits() {
    render.service("srv-burst", 1, false);
    RenderScaler s = scaler("srv-burst", "limits_burst");
    int cycles = 0;
    // Two and a half minutes of NOTIFY wake-ups, two cycles a second, while uploads keep changing the queue.
    for (int tick = 0; tick < 300; tick++) {
      if (tick % 20 == 0) enqueue("limits_burst", 1 + tick % 7);
      if (tick % 30 == 15) {
        try (var c = pg.superuser().getConnection(); var st = c.createStatement()) {
          st.executeUpdate("UPDATE public.job_queue SET status = 'cancelled', updated_at = now() "
              + "WHERE job_type = 'limits_burst' AND status = 'pending'");
        } catch (java.sql.SQLException e) {
          throw new IllegalStateException(e);
        }
      }
      s.runOnce();
      cycles++;
      clock.advance(Duration.ofMillis(500));
    }
    assertThat(render.scaleCalls()).as("the queue changes made it write").isGreaterThan(5);
    assertThat(render.tooManyRequests()).as("429s from Render").isZero();
    // 300 cycles, each of which reads the service (target, autoscaling check, pre-write check)
    assertThat(render.readCalls()).as("GETs in 2.5 minutes").isLessThanOrEqualTo(3L * RenderApi.READS_PER_MINUTE);
    assertThat(cycles).isEqualTo(300);
  }
}
