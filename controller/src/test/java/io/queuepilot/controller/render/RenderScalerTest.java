package io.queuepilot.controller.render;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.scaling.ApplyStep;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleTargetRef;
import io.queuepilot.controller.k8s.Fixtures;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.controller.target.RenderApi;
import io.queuepilot.controller.target.RenderScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeRender;
import io.queuepilot.testkit.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standalone Render mode end to end: real PostgreSQL queue (logged in as a
 * queue_controller member), the real RenderApi client, and a loopback server speaking Render's
 * API (202 on scale, 429 with Ratelimit-Reset, autoscaling-enabled services), enforcing
 * Render's read and write limits: Ratelimit-Reset in UTC epoch seconds (and tolerated as a
 * delta), and a NOTIFY burst of cycles that never draws a 429.
 */
class RenderScalerTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  static JobQueue producer;
  static JobQueue controllerQueue;

  FakeRender render;
  MutableClock clock;
  RenderApi api;

  @BeforeAll
  static void database() throws Exception {
    producer = new PostgresJobQueue(pg.superuser());
    controllerQueue = new PostgresJobQueue(pg.loginAs("qp_render_ctl", "queue_controller"));
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

  static QueueScalerSpec spec(String serviceId, String jobType, int min, int max, int concurrency) {
    QueueScalerSpec s = new QueueScalerSpec();
    s.scaleTargetRef = ScaleTargetRef.render(serviceId, null);
    s.jobTypes = List.of(jobType);
    s.minReplicas = min;
    s.maxReplicas = max;
    s.concurrencyPerReplica = concurrency;
    s.scaleDown.stabilizationWindowSeconds = 0;
    return s;
  }

  RenderScaler scaler(QueueScalerSpec spec) {
    return new RenderScaler(spec.scaleTargetRef.name, spec, controllerQueue, new RenderScaleTarget(api, spec.scaleTargetRef.name),
        new ControllerMetrics(new SimpleMeterRegistry()), clock);
  }

  static CycleOutcome.Decided decided(CycleOutcome o) {
    assertThat(o).isInstanceOf(CycleOutcome.Decided.class);
    return (CycleOutcome.Decided) o;
  }

  static void enqueue(String jobType, int n) {
    for (int i = 0; i < n; i++) producer.enqueue(JobQueue.NewJob.of(jobType, "{}", jobType + ":" + UUID.randomUUID()));
  }

  @Test
  void scalesTheServiceWithABearerKeyAndA202() {
    render.service("srv-a", 1, false);
    enqueue("render_a", 40);

    CycleOutcome.Decided o = decided(scaler(spec("srv-a", "render_a", 1, 20, 4)).runOnce());

    assertThat(o.apply()).isEqualTo(new ApplyStep.Applied(1, 10));
    assertThat(o.decision().replicas()).isEqualTo(10);
    assertThat(render.numInstances("srv-a")).isEqualTo(10);
    FakeRender.Request post = render.requests().stream().filter(r -> r.method().equals("POST")).findFirst().orElseThrow();
    assertThat(post.path()).isEqualTo("/v1/services/srv-a/scale");
    assertThat(post.authorization()).isEqualTo("Bearer " + FakeRender.API_KEY);
    assertThat(post.body()).isEqualTo("{\"numInstances\":10}");
    assertThat(render.requests().get(0).method()).as("reads the service before writing").isEqualTo("GET");
  }

  @Test
  void clampsToRendersOneToHundredInstances() {
    render.service("srv-low", 3, false);
    CycleOutcome.Decided low = decided(scaler(spec("srv-low", "render_empty", 0, 10, 4)).runOnce());
    assertThat(low.decision().replicas()).as("zero wanted, Render's minimum is 1").isEqualTo(1);
    assertThat(render.numInstances("srv-low")).isEqualTo(1);

    render.service("srv-high", 1, false);
    enqueue("render_big", 400);
    CycleOutcome.Decided high = decided(scaler(spec("srv-high", "render_big", 1, 300, 1)).runOnce());
    assertThat(high.decision().replicas()).as("300 wanted, Render's maximum is 100").isEqualTo(100);
    assertThat(render.numInstances("srv-high")).isEqualTo(100);
  }

  @Test
  void a429WithRatelimitResetHoldsWritesUntilTheReset() {
    render.service("srv-429", 1, false);
    enqueue("render_429", 20);
    render.rateLimitNextScales(1, 30);
    RenderScaler s = scaler(spec("srv-429", "render_429", 1, 20, 4));

    CycleOutcome.Decided first = decided(s.runOnce());
    assertThat(first.scaled()).isFalse();
    assertThat(((ApplyStep.ApplyFailed) first.apply()).message()).contains("429");
    assertThat(first.retryAt()).contains(clock.instant().plusSeconds(30));
    assertThat(render.numInstances("srv-429")).as("kept the last good count").isEqualTo(1);

    clock.advance(Duration.ofSeconds(10));
    CycleOutcome.Decided second = decided(s.runOnce());
    assertThat(((ApplyStep.ApplyFailed) second.apply()).message()).contains("rate limit");
    assertThat(render.scaleCalls()).as("no write sent before Ratelimit-Reset").isEqualTo(1);

    clock.advance(Duration.ofSeconds(21));
    CycleOutcome.Decided third = decided(s.runOnce());
    assertThat(third.scaled()).isTrue();
    assertThat(render.numInstances("srv-429")).isEqualTo(5);
    assertThat(render.scaleCalls()).isEqualTo(2);
  }

  @Test
  void theRenderProcessRescuesTheStaleJobsOfItsSpecOnly() throws Exception {
    render.service("srv-stale", 1, false);
    UUID mine = Fixtures.staleJob(producer, pg.superuser(), "render_stale");
    UUID other = Fixtures.staleJob(producer, pg.superuser(), "render_other_app");

    CycleOutcome o = scaler(spec("srv-stale", "render_stale", 1, 4, 2)).runOnce();

    assertThat(o.rescue().jobs()).extracting(JobQueue.RequeuedJob::jobId).containsExactly(mine);
    assertThat(producer.claim("w-rescue", List.of("render_stale", "render_other_app"), List.of(), 5))
        .as("only the spec's job is claimable again; the other application's stays with its worker")
        .extracting(JobQueue.ClaimedJob::id).containsExactly(mine);
  }

  @Test
  void neverMoreThanThirtyWritesPerMinute() throws Exception {
    render.service("srv-busy", 1, false);
    for (int i = 0; i < RenderApi.WRITES_PER_MINUTE; i++) {
      api.scale("srv-busy", 1 + (i % 2));
      clock.advance(Duration.ofSeconds(1));
    }
    assertThatThrownBy(() -> api.scale("srv-busy", 5))
        .isInstanceOf(ScaleTargetException.class)
        .hasMessageContaining("rate limit")
        .extracting(e -> ((ScaleTargetException) e).kind()).isEqualTo(ScaleTargetException.Kind.RATE_LIMITED);
    assertThat(render.scaleCalls()).isEqualTo(30);

    clock.advance(Duration.ofSeconds(31)); // the first write is now older than a minute
    api.scale("srv-busy", 5);
    assertThat(render.scaleCalls()).isEqualTo(31);
    assertThat(render.numInstances("srv-busy")).isEqualTo(5);
  }

  @Test
  void refusesAServiceWithRenderAutoscalingEnabled() {
    render.service("srv-auto", 2, true);
    enqueue("render_auto", 40);

    CycleOutcome o = scaler(spec("srv-auto", "render_auto", 1, 20, 4)).runOnce();

    assertThat(o).isInstanceOf(CycleOutcome.Conflicting.class);
    assertThat(((CycleOutcome.Conflicting) o).conflict()).contains("srv-auto").contains("autoscaling enabled")
        .contains("refuses");
    assertThat(o.decided()).isEmpty();
    assertThat(render.scaleCalls()).isZero();
    assertThat(render.numInstances("srv-auto")).isEqualTo(2);
    assertThat(o.queue().snapshotOrNull().ready()).as("still observes the queue").isEqualTo(40);
  }

  @Test
  void wrongKeyAndUnknownServiceAreClearErrors() {
    render.service("srv-k", 1, false);
    RenderApi wrong = new RenderApi(render.baseUrl(), "wrong", clock);
    assertThatThrownBy(() -> wrong.getService("srv-k"))
        .hasMessage("Render refused the API key on GET service srv-k (HTTP 401 Unauthorized: unauthorized); "
            + "check RENDER_API_KEY / the apiKeySecretRef Secret")
        .extracting(e -> ((ScaleTargetException) e).kind()).isEqualTo(ScaleTargetException.Kind.FORBIDDEN);
    assertThatThrownBy(() -> api.getService("srv-missing"))
        .extracting(e -> ((ScaleTargetException) e).kind()).isEqualTo(ScaleTargetException.Kind.NOT_FOUND);
  }

  @Test
  void notReadyWhileRenderRefusesTheKeyAndReadyAgainOnceItIsAccepted() {
    render.service("srv-ready", 1, false);
    RenderScaler s = scaler(spec("srv-ready", "ready_job", 1, 4, 2));
    assertThat(s.ready()).as("before the first cycle").isFalse();
    s.runOnce();
    assertThat(s.ready()).isTrue();

    render.acceptKey("rnd_rotated"); // the key in the Secret was revoked
    clock.advance(RenderApi.READ_CACHE); // the next poll reads the service again
    s.runOnce();
    assertThat(s.ready()).isFalse();
    assertThat(((CycleOutcome.TargetUnavailable) s.lastOutcome()).message()).contains("HTTP 401 Unauthorized");

    render.acceptKey(FakeRender.API_KEY);
    clock.advance(Duration.ofSeconds(1));
    s.runOnce();
    assertThat(s.ready()).isTrue();
  }

  @Test
  void yamlConfigHasTheCrdSpecSchema(@TempDir Path dir) throws Exception {
    Path ok = dir.resolve("scaler.yaml");
    Files.writeString(ok, """
        scaleTargetRef:
          kind: RenderService
          name: srv-yaml
        jobTypes: [document_extraction]
        minReplicas: 1
        maxReplicas: 8
        concurrencyPerReplica: 2
        tokenBudget:
          tokensPerMinute: 90000
        scaleDown:
          stabilizationWindowSeconds: 120
        """);
    QueueScalerSpec spec = RenderScalerConfig.load(ok);
    assertThat(spec.scaleTargetRef.name).isEqualTo("srv-yaml");
    assertThat(spec.maxReplicas).isEqualTo(8);
    assertThat(spec.tokenBudget.tokensPerMinute).isEqualTo(90_000L);
    assertThat(spec.scaleDown.maxStep).as("defaults as in the CRD").isEqualTo(2);

    Path typo = dir.resolve("typo.yaml");
    Files.writeString(typo, "scaleTargetRef: {kind: RenderService, name: srv-x}\nmaxReplica: 3\n");
    assertThatThrownBy(() -> RenderScalerConfig.load(typo))
        .hasMessageStartingWith(typo + ": unknown key 'spec.maxReplica' (line 2, column ")
        .hasMessageContaining("known keys there: ").hasMessageContaining("maxReplicas, minReplicas")
        .message().doesNotContain("\n").doesNotContain("io.queuepilot").doesNotContain("Class");

    Path nested = dir.resolve("nested.yaml");
    Files.writeString(nested, "scaleTargetRef: {kind: RenderService, name: srv-x}\nscaleDown:\n  stabilizationWindowSecs: 3\n");
    assertThatThrownBy(() -> RenderScalerConfig.load(nested))
        .hasMessageContaining("unknown key 'spec.scaleDown.stabilizationWindowSecs' (line 3,")
        .hasMessageContaining("stabilizationWindowSeconds");

    Path badValue = dir.resolve("bad-value.yaml");
    Files.writeString(badValue, "scaleTargetRef: {kind: RenderService, name: srv-x}\nmaxReplicas: ten\n");
    assertThatThrownBy(() -> RenderScalerConfig.load(badValue))
        .hasMessageContaining("bad value for 'spec.maxReplicas' (line 2,").hasMessageContaining("expected a whole number")
        .message().doesNotContain("\n");

    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "scaleTargetRef: {kind: RenderService, name: srv-x}\nminReplicas: 5\nmaxReplicas: 2\n");
    assertThatThrownBy(() -> RenderScalerConfig.load(bad))
        .hasMessageContaining("spec.minReplicas must be less than or equal to spec.maxReplicas");

    Path deployment = dir.resolve("deployment.yaml");
    Files.writeString(deployment, "scaleTargetRef: {name: worker}\n");
    assertThatThrownBy(() -> RenderScalerConfig.load(deployment)).hasMessageContaining("kind must be RenderService");
  }

  /** A scaler that follows the queue closely (concurrency 1, no scale-down window): many writes. */
  RenderScaler eagerScaler(String serviceId, String jobType) {
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

  // Render's rate limits as its API reference documents them, against the fake that enforces
  // both the write limit (30 / minute) and the read limit (100 GETs / minute) with Render's 429 body.

  @Test
  void ratelimitResetInEpochSecondsHoldsWritesUntilThatInstant() {
    render.service("srv-epoch", 1, false);
    enqueue("limits_epoch", 5);
    render.rateLimitNextScales(1, 40);
    RenderScaler s = eagerScaler("srv-epoch", "limits_epoch");

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

    CycleOutcome first = eagerScaler("srv-delta", "limits_delta").runOnce();

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
    RenderScaler s = eagerScaler("srv-burst", "limits_burst");
    int cycles = 0;
    // Two and a half minutes of NOTIFY wake-ups, two cycles a second, while uploads keep changing the queue.
    for (int tick = 0; tick < 300; tick++) {
      if (tick % 20 == 0) enqueue("limits_burst", 1 + tick % 7);
      if (tick % 30 == 15) {
        try (var c = pg.superuser().getConnection(); var st = c.createStatement()) {
          // cancel_job moves each job to job_history (the live table holds no finished rows since V081)
          st.execute("SELECT public.cancel_job(j.id) FROM public.job_queue j "
              + "WHERE j.job_type = 'limits_burst' AND j.status = 'pending'");
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
