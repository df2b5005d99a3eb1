package io.queuepilot.controller.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.MutableClock;
import java.util.Map;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.controller.crd.QueueScaler;
import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.controller.crd.TokenBudget;
import io.queuepilot.controller.db.NotificationHub;
import io.queuepilot.controller.db.QueueConnections;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The reconciler against the fabric8 mock API server (CRUD mode) and a real PostgreSQL with the
 * production migrations; the controller logs in as a member of queue_controller through the
 * Secret the QueueScaler names. Each test uses its own job type so the queue rows do not mix.
 */
@EnableKubernetesMockClient(crud = true)
class QueueScalerReconcilerTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static KubernetesClient client;
  static QueueConnections connections;
  static NotificationHub notifications;
  static JobQueue producer;
  static JobQueue worker;

  static final String NS = "test";
  QueueScalerReconciler reconciler;
  SimpleMeterRegistry registry;
  MutableClock clock;

  @BeforeAll
  static void database() throws Exception {
    pg.loginAs("qp_controller", "queue_controller");
    connections = new QueueConnections(PostgresJobQueue::new);
    notifications = new NotificationHub(Duration.ofSeconds(1), Duration.ofMillis(500));
    producer = new PostgresJobQueue(pg.superuser());
    worker = new PostgresJobQueue(pg.loginAs("qp_worker", "queue_worker"));
  }

  @AfterAll
  static void close() {
    notifications.close();
    connections.close();
  }

  @BeforeEach
  void setUp() {
    clock = new MutableClock();
    registry = new SimpleMeterRegistry();
    reconciler = new QueueScalerReconciler(new SecretReader(client), new ScaleTargets(client, URI.create("http://127.0.0.1:1"), clock),
        connections, notifications, new KubernetesEventRecorder(client, clock), new ControllerMetrics(registry), clock, () -> true);
    client.secrets().inNamespace(NS).resource(Fixtures.databaseSecret(NS, "db", pg.jdbcUrl(), "qp_controller", "qp_controller"))
        .createOr(r -> r.update());
  }

  QueueScaler create(QueueScaler qs) {
    return client.resource(qs).create();
  }

  /** One reconcile as JOSDK would run it, with the status patched back to the API server. */
  QueueScaler reconcile(QueueScaler qs) {
    QueueScaler current = client.resources(QueueScaler.class).inNamespace(NS).withName(qs.getMetadata().getName()).get();
    var control = reconciler.reconcile(current, null);
    assertThat(control.isPatchStatus()).isTrue();
    assertThat(control.getScheduleDelay()).isPresent();
    return client.resources(QueueScaler.class).inNamespace(NS).resource(control.getResource().orElseThrow()).updateStatus();
  }

  int replicas(String deployment) {
    return client.apps().deployments().inNamespace(NS).withName(deployment).get().getSpec().getReplicas();
  }

  static Condition condition(QueueScalerStatus s, String type) {
    return s.conditions.stream().filter(c -> type.equals(c.getType())).findFirst()
        .orElseThrow(() -> new AssertionError("no condition " + type + " in " + s.conditions));
  }

  List<Event> events(String scaler) {
    return client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> scaler.equals(e.getInvolvedObject().getName())).toList();
  }

  /** A second controller replica that takes over the Lease: same API server and database, empty memory. */
  QueueScalerReconciler newLeader() {
    return new QueueScalerReconciler(new SecretReader(client), new ScaleTargets(client, URI.create("http://127.0.0.1:1"), clock),
        connections, notifications, new KubernetesEventRecorder(client, clock), new ControllerMetrics(new SimpleMeterRegistry()),
        clock, () -> true);
  }

  QueueScaler reconcileWith(QueueScalerReconciler r, String name) {
    QueueScaler current = client.resources(QueueScaler.class).inNamespace(NS).withName(name).get();
    var control = r.reconcile(current, null);
    return client.resources(QueueScaler.class).inNamespace(NS).resource(control.getResource().orElseThrow()).updateStatus();
  }

  @Test
  void aNewLeaderContinuesTheScaleDownWindowFromStatusNeitherForgettingNorJumping() {
    client.resource(Fixtures.deployment(NS, "leader-worker", 0)).create();
    QueueScaler qs = create(Fixtures.scaler(NS, "leader", "leader-worker", "db", "leader_job"));
    Fixtures.enqueue(producer, "leader_job", 40);
    // T0: 40 ready, expected 60 s jobs within the 60 s target → 10 replicas
    reconcile(qs);
    assertThat(replicas("leader-worker")).isEqualTo(10);
    List<JobQueue.ClaimedJob> claimed = worker.claim("leader-worker-0", List.of("leader_job"), List.of(), 36);
    clock.advance(Duration.ofSeconds(30));
    QueueScalerStatus s = reconcile(qs).getStatus();
    assertThat(replicas("leader-worker")).as("inside the 300 s window: holds").isEqualTo(10);
    assertThat(s.scalingState.recommendations).extracting(r -> r.replicas).contains(10);
    assertThat(s.scalingState.observingSince).isEqualTo("2026-01-01T00:00:00Z");

    // the Lease moves at T0+40: the new leader has nothing in memory
    clock.advance(Duration.ofSeconds(10));
    QueueScalerReconciler leader = newLeader();
    s = reconcileWith(leader, "leader").getStatus();
    assertThat(replicas("leader-worker")).as("the new leader does not jump").isEqualTo(10);
    assertThat(s.scalingState.observingSince).as("the window continues").isEqualTo("2026-01-01T00:00:00Z");

    // 16 jobs finish; at T0+301 the T0 recommendation has left the window: the window started at
    // T0 for the new leader too, so it steps down by maxStep 2
    for (int i = 0; i < 16; i++) {
      worker.complete(claimed.get(i).id(), claimed.get(i).leaseToken(), null, 100);
    }
    clock.advance(Duration.ofSeconds(261));
    QueueScaler before = client.resources(QueueScaler.class).inNamespace(NS).withName("leader").get();
    s = reconcileWith(leader, "leader").getStatus();
    assertThat(replicas("leader-worker")).as(s.reason).isEqualTo(8);

    // the same moment for a leader whose store forgot the window: it would hold until T0+340
    client.apps().deployments().inNamespace(NS).withName("leader-worker").scale(10);
    before.getStatus().scalingState = null;
    client.resources(QueueScaler.class).inNamespace(NS).resource(before).updateStatus();
    s = reconcileWith(newLeader(), "leader").getStatus();
    assertThat(replicas("leader-worker")).as("forgetful: " + s.reason).isEqualTo(10);
    assertThat(s.limitedBy).isEqualTo("stabilization");
  }

  @Test
  void burstScalesTheDeploymentToMaxInOneStep() {
    client.resource(Fixtures.deployment(NS, "burst-worker", 1)).create();
    QueueScaler qs = create(Fixtures.scaler(NS, "burst", "burst-worker", "db", "burst_job"));
    Fixtures.enqueue(producer, "burst_job", 500);

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(replicas("burst-worker")).isEqualTo(20);
    assertThat(s.currentReplicas).isEqualTo(20);
    assertThat(s.desiredReplicas).isEqualTo(20);
    assertThat(s.limitedBy).isEqualTo("max");
    assertThat(s.queue.ready).isEqualTo(500);
    assertThat(s.lastScaleTime).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("True");
    assertThat(condition(s, "DatabaseReachable").getStatus()).isEqualTo("True");
    assertThat(condition(s, "TargetFound").getStatus()).isEqualTo("True");
    assertThat(condition(s, "ConflictingAutoscaler").getStatus()).isEqualTo("False");
    assertThat(condition(s, "ScalingLimited").getReason()).isEqualTo("MaxReplicas");
    assertThat(events("burst")).extracting(Event::getReason).contains("Scaled", "ScalingLimited");
    assertThat(events("burst")).filteredOn(e -> e.getReason().equals("Scaled")).first()
        .extracting(Event::getMessage).asString().contains("from 1 to 20");
    assertThat(registry.get("queuepilot.scaler.replicas").tag("queuescaler", "burst").tag("kind", "desired").gauge().value()).isEqualTo(20.0);
    assertThat(registry.get("queuepilot.queue.jobs").tag("queuescaler", "burst").tag("state", "ready").gauge().value()).isEqualTo(500.0);
  }

  @Test
  void tokenBudgetLowersTheCountAndSaysSo() {
    client.resource(Fixtures.deployment(NS, "budget-worker", 0)).create();
    QueueScaler qs = Fixtures.scaler(NS, "budget", "budget-worker", "db", "budget_job");
    qs.getSpec().tokenBudget = new TokenBudget();
    qs.getSpec().tokenBudget.tokensPerMinute = 40_000L;
    qs.getSpec().tokenBudget.tokensPerJob = 2_000L;
    // a replica holds 4 × 2000 tokens × (30 s + 60 s held) / 30 s = 24000 of the 90 % of 40000 → 1
    qs.getSpec().tokenBudget.expectedJobSeconds = 30.0;
    create(qs);
    Fixtures.enqueue(producer, "budget_job", 100);

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(replicas("budget-worker")).isEqualTo(1);
    assertThat(s.limitedBy).isEqualTo("tokenBudget");
    assertThat(s.reason).contains("40000 tokens/60s × 0.90").contains("60 s held");
    assertThat(condition(s, "ScalingLimited").getStatus()).isEqualTo("True");
    assertThat(condition(s, "ScalingLimited").getReason()).isEqualTo("TokenBudget");
    assertThat(events("budget")).extracting(Event::getReason).contains("ScalingLimited");
  }

  /**
   * A spec naming a budget row that is not there (a typo, or workers that never configured it)
   * is said, not only logged: TokenBudgetFound=False with one Warning Event, the fallback numbers
   * cap meanwhile; once the row exists the condition turns True and the row's limits cap.
   */
  @Test
  void aNamedBudgetThatIsMissingIsAConditionAndAnEventUntilItExists() throws Exception {
    client.resource(Fixtures.deployment(NS, "named-worker", 0)).create();
    QueueScaler qs = Fixtures.scaler(NS, "named", "named-worker", "db", "named_job");
    qs.getSpec().tokenBudget = new TokenBudget();
    qs.getSpec().tokenBudget.name = "named-it";
    qs.getSpec().tokenBudget.tokensPerMinute = 80_000L; // fallback
    qs.getSpec().tokenBudget.tokensPerJob = 2_000L;
    qs.getSpec().tokenBudget.expectedJobSeconds = 30.0;
    create(qs);
    Fixtures.enqueue(producer, "named_job", 100);

    QueueScalerStatus s = reconcile(qs).getStatus();
    Condition found = condition(s, "TokenBudgetFound");
    assertThat(found.getStatus()).isEqualTo("False");
    assertThat(found.getReason()).isEqualTo("BudgetUnavailable");
    assertThat(found.getMessage()).contains("'named-it'").contains("configure_token_budget");
    // the fallback: a replica holds 4 × 2000 × (30 + 60) / 30 = 24000 of 90 % of 80000 → 3
    assertThat(replicas("named-worker")).isEqualTo(3);
    assertThat(condition(s, "Ready").getStatus()).as("still scaling, on the fallback").isEqualTo("True");
    clock.advance(Duration.ofSeconds(5));
    reconcile(qs);
    assertThat(events("named")).filteredOn(e -> "TokenBudgetUnavailable".equals(e.getReason()))
        .as("one Event per transition").hasSize(1).allSatisfy(e -> assertThat(e.getType()).isEqualTo("Warning"));

    try (var c = pg.superuser().getConnection(); var st = c.createStatement()) {
      st.execute("SELECT public.configure_token_budget('named-it', 40000, 1000, 60)");
    }
    clock.advance(Duration.ofSeconds(5));
    s = reconcile(qs).getStatus();
    assertThat(condition(s, "TokenBudgetFound").getStatus()).isEqualTo("True");
    assertThat(condition(s, "TokenBudgetFound").getMessage()).contains("40000 tokens, 1000 requests per 60 s");
    // the row's 40000: 24000 of 36000 → 1; the running 3 exceed the budget with work waiting: cut at once
    assertThat(replicas("named-worker")).as(s.reason).isEqualTo(1);
  }

  @Test
  void aDrainedQueueScalesDownOnceFifteenSecondsWereIdleNotAfterTheWindow() throws Exception {
    client.resource(Fixtures.deployment(NS, "drain-worker", 0)).create();
    QueueScaler qs = Fixtures.scaler(NS, "drain", "drain-worker", "db", "drain_job");
    qs.getSpec().scaleDown.stabilizationWindowSeconds = 60;
    qs.getSpec().scaleDown.maxStep = 3;
    qs.getSpec().scaleDown.periodSeconds = 10;
    create(qs);
    Fixtures.enqueue(producer, "drain_job", 40);
    reconcile(qs);
    assertThat(replicas("drain-worker")).isEqualTo(10);

    Fixtures.drain(pg.superuser(), "drain_job");
    clock.advance(Duration.ofSeconds(30));
    QueueScalerStatus s = reconcile(qs).getStatus();
    assertThat(replicas("drain-worker")).as("the 15 s before may have had the backlog: holds").isEqualTo(10);
    assertThat(s.limitedBy).isEqualTo("stabilization");

    // 30 s to 45 s saw an empty queue with nothing in flight: the idle capacity goes at once
    // (drain-aware), without the 60 s window or the steps of 3
    clock.advance(Duration.ofSeconds(16));
    s = reconcile(qs).getStatus();
    assertThat(replicas("drain-worker")).as(s.reason).isEqualTo(0);
    assertThat(s.reason).contains("capacity idle");
  }

  @Test
  void staleJobIsRequeuedAndCounted() throws Exception {
    client.resource(Fixtures.deployment(NS, "stale-worker", 1)).create();
    QueueScaler qs = create(Fixtures.scaler(NS, "stale", "stale-worker", "db", "stale_job"));
    var jobId = Fixtures.staleJob(worker, pg.superuser(), "stale_job");

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(s.requeuedTotal).isEqualTo(1);
    assertThat(s.deadLetteredTotal).isZero();
    assertThat(events("stale")).extracting(Event::getReason).contains("RequeuedStaleJobs");
    List<JobQueue.ClaimedJob> again = worker.claim("worker-2", List.of("stale_job"), List.of(), 5);
    assertThat(again).extracting(JobQueue.ClaimedJob::id).containsExactly(jobId);
    assertThat(registry.get("queuepilot.requeued.jobs").tag("queuescaler", "stale").counter().count()).isEqualTo(1.0);
  }

  @Test
  void aRequeueCountSurvivesALostStatusPatchAndAStaleCachedStatus() throws Exception {
    client.resource(Fixtures.deployment(NS, "lost-worker", 1)).create();
    create(Fixtures.scaler(NS, "lost", "lost-worker", "db", "lost_job"));
    Fixtures.staleJob(worker, pg.superuser(), "lost_job");

    // the cycle that requeues the job: its status patch never reaches the API server
    var lost = reconciler.reconcile(asFirstSeen("lost"), null);
    assertThat(lost.getResource().orElseThrow().getStatus().requeuedTotal).isEqualTo(1);
    // the next cycle, woken at once by the requeue's NOTIFY, reads the status from a cache that has
    // seen no patch; the job is not requeued again, so only memory knows the count
    QueueScalerStatus s = patch(reconciler.reconcile(asFirstSeen("lost"), null)).getStatus();
    assertThat(s.requeuedTotal).isEqualTo(1);
    assertThat(s.deadLetteredTotal).isZero();
    // once more on the stale object after that patch landed: still not written lower
    assertThat(patch(reconciler.reconcile(asFirstSeen("lost"), null)).getStatus().requeuedTotal).isEqualTo(1);
    // a new leader has no memory: it continues from status
    clock.advance(Duration.ofSeconds(5));
    assertThat(reconcileWith(newLeader(), "lost").getStatus().requeuedTotal).isEqualTo(1);
  }

  /** The QueueScaler as a cache that has not yet seen any status patch would hand it over. */
  QueueScaler asFirstSeen(String name) {
    QueueScaler q = client.resources(QueueScaler.class).inNamespace(NS).withName(name).get();
    q.setStatus(null);
    return q;
  }

  QueueScaler patch(UpdateControl<QueueScaler> control) {
    return client.resources(QueueScaler.class).inNamespace(NS).resource(control.getResource().orElseThrow()).updateStatus();
  }

  @Test
  void theRescuerRequeuesOnlyTheScalersJobTypesAndLanes() throws Exception {
    client.resource(Fixtures.deployment(NS, "scoped-worker", 1)).create();
    QueueScaler spec = Fixtures.scaler(NS, "scoped", "scoped-worker", "db", "scoped_job");
    spec.getSpec().lanes = List.of("lane-a");
    QueueScaler qs = create(spec);
    UUID mine = Fixtures.staleJob(worker, pg.superuser(), "scoped_job", "lane-a");
    UUID otherLane = Fixtures.staleJob(worker, pg.superuser(), "scoped_job", "lane-b");
    UUID otherType = Fixtures.staleJob(worker, pg.superuser(), "other_app_job", "lane-a");

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(s.requeuedTotal).isEqualTo(1);
    assertThat(status(mine)).isEqualTo("pending");
    assertThat(status(otherLane)).as("another lane's stale job is not this scaler's to rescue").isEqualTo("processing");
    assertThat(status(otherType)).as("another job type's stale job is not this scaler's to rescue").isEqualTo("processing");
  }

  @Test
  void theRescuerUsesTheScalersHeartbeatTimeout() throws Exception {
    client.resource(Fixtures.deployment(NS, "patient-worker", 1)).create();
    QueueScaler spec = Fixtures.scaler(NS, "patient", "patient-worker", "db", "patient_job");
    spec.getSpec().heartbeatTimeoutSeconds = 900; // the job's heartbeat is 600 s old
    QueueScaler qs = create(spec);
    UUID job = Fixtures.staleJob(worker, pg.superuser(), "patient_job");

    assertThat(reconcile(qs).getStatus().requeuedTotal).isZero();
    assertThat(status(job)).isEqualTo("processing");
  }

  @Test
  void aReplicaThatIsNotTheLeaderRescuesNothing() throws Exception {
    QueueScalerReconciler standby = new QueueScalerReconciler(new SecretReader(client),
        new ScaleTargets(client, URI.create("http://127.0.0.1:1"), clock), connections, notifications,
        new KubernetesEventRecorder(client, clock), new ControllerMetrics(registry), clock, () -> false);
    client.resource(Fixtures.deployment(NS, "standby-worker", 1)).create();
    QueueScaler qs = create(Fixtures.scaler(NS, "standby", "standby-worker", "db", "standby_job"));
    UUID job = Fixtures.staleJob(worker, pg.superuser(), "standby_job");

    QueueScaler current = client.resources(QueueScaler.class).inNamespace(NS).withName("standby").get();
    QueueScalerStatus s = standby.reconcile(current, null).getResource().orElseThrow().getStatus();

    assertThat(s.requeuedTotal).isZero();
    assertThat(status(job)).isEqualTo("processing");
    assertThat(condition(s, "DatabaseReachable").getStatus()).as("observing still works").isEqualTo("True");
  }

  String status(UUID job) throws Exception {
    try (var c = pg.superuser().getConnection();
        var st = c.prepareStatement("SELECT status FROM public.job_queue WHERE id = ?")) {
      st.setObject(1, job);
      try (var rs = st.executeQuery()) {
        assertThat(rs.next()).as("job " + job + " exists").isTrue();
        return rs.getString(1);
      }
    }
  }

  @Test
  void hpaOnTheSameDeploymentMeansHandsOff() {
    client.resource(Fixtures.deployment(NS, "hpa-worker", 2)).create();
    client.resource(Fixtures.hpa(NS, "cpu-hpa", "hpa-worker")).create();
    QueueScaler qs = create(Fixtures.scaler(NS, "hpa", "hpa-worker", "db", "hpa_job"));
    Fixtures.enqueue(producer, "hpa_job", 60);

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(replicas("hpa-worker")).isEqualTo(2);
    assertThat(condition(s, "ConflictingAutoscaler").getStatus()).isEqualTo("True");
    assertThat(condition(s, "ConflictingAutoscaler").getMessage()).contains("HorizontalPodAutoscaler cpu-hpa");
    assertThat(condition(s, "ScalingActive").getStatus()).isEqualTo("False");
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("False");
    assertThat(s.queue.ready).as("still observes the queue").isEqualTo(60);
    assertThat(events("hpa")).extracting(Event::getReason).contains("ConflictingAutoscaler").doesNotContain("Scaled");
  }

  @Test
  void failedQueryKeepsTheLastGoodCountInsteadOfScalingToZero() {
    client.resource(Fixtures.deployment(NS, "dbfail-worker", 5)).create();
    client.secrets().inNamespace(NS).resource(Fixtures.databaseSecret(NS, "bad-db",
        pg.jdbcUrl().replace(pg.databaseName(), "no_such_database"), "qp_controller", "qp_controller"))
        .create();
    QueueScaler qs = Fixtures.scaler(NS, "dbfail", "dbfail-worker", "bad-db", "dbfail_job");
    qs.getSpec().scaleDown.stabilizationWindowSeconds = 0;
    create(qs);

    QueueScalerStatus s = reconcile(qs).getStatus();
    clock.advance(Duration.ofMinutes(10));
    s = reconcile(qs).getStatus();

    assertThat(replicas("dbfail-worker")).isEqualTo(5);
    assertThat(condition(s, "DatabaseReachable").getStatus()).isEqualTo("False");
    assertThat(condition(s, "DatabaseReachable").getMessage()).contains("queue_stats failed");
    assertThat(condition(s, "ScalingActive").getReason()).isEqualTo("DatabaseUnavailable");
    assertThat(s.desiredReplicas).isEqualTo(5);
    assertThat(events("dbfail")).extracting(Event::getReason).containsOnlyOnce("DatabaseUnavailable");
  }

  @Test
  void missingSecretAndMissingDeploymentBecomeConditions() {
    QueueScaler qs = create(Fixtures.scaler(NS, "missing", "no-such-deployment", "no-such-secret", "missing_job"));

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(condition(s, "DatabaseReachable").getStatus()).isEqualTo("False");
    assertThat(condition(s, "DatabaseReachable").getMessage()).contains("secret test/no-such-secret not found");
    assertThat(condition(s, "TargetFound").getStatus()).isEqualTo("False");
    assertThat(condition(s, "TargetFound").getMessage()).contains("deployment test/no-such-deployment not found");
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("False");
    assertThat(events("missing")).extracting(Event::getReason).contains("TargetNotFound", "DatabaseUnavailable");
  }

  @Test
  void pausedObservesButNeverScales() {
    client.resource(Fixtures.deployment(NS, "paused-worker", 1)).create();
    QueueScaler qs = Fixtures.scaler(NS, "paused", "paused-worker", "db", "paused_job");
    qs.getSpec().paused = true;
    create(qs);
    Fixtures.enqueue(producer, "paused_job", 50);

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(replicas("paused-worker")).isEqualTo(1);
    assertThat(s.limitedBy).isEqualTo("paused");
    assertThat(s.queue.ready).isEqualTo(50);
    assertThat(condition(s, "ScalingActive").getReason()).isEqualTo("Paused");
    assertThat(condition(s, "Ready").getStatus()).isEqualTo("True");
  }

  @Test
  void invalidSpecIsReportedNotApplied() {
    client.resource(Fixtures.deployment(NS, "invalid-worker", 3)).create();
    QueueScaler qs = Fixtures.scaler(NS, "invalid", "invalid-worker", "db", "invalid_job");
    qs.getSpec().minReplicas = 9;
    qs.getSpec().maxReplicas = 2;
    create(qs); // the mock server has no CEL; the real API server rejects this (see QueueScalerIT)

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(replicas("invalid-worker")).isEqualTo(3);
    assertThat(condition(s, "Ready").getReason()).isEqualTo("InvalidSpec");
    assertThat(condition(s, "Ready").getMessage()).contains("spec.minReplicas must be less than or equal to spec.maxReplicas");
  }

  @Test
  void kedaScaledObjectOnTheSameDeploymentMeansHandsOff() {
    client.resource(Fixtures.deployment(NS, "keda-worker", 3)).create();
    GenericKubernetesResource so = new GenericKubernetesResourceBuilder()
        .withApiVersion("keda.sh/v1alpha1").withKind("ScaledObject")
        .withNewMetadata().withName("keda-pg").withNamespace(NS).endMetadata()
        .addToAdditionalProperties("spec", Map.of("scaleTargetRef", Map.of("name", "keda-worker"),
            "triggers", List.of(Map.of("type", "postgresql"))))
        .build();
    client.genericKubernetesResources(KubernetesDeploymentScaleTargetAccess.KEDA).inNamespace(NS).resource(so).create();
    QueueScaler qs = create(Fixtures.scaler(NS, "keda", "keda-worker", "db", "keda_job"));
    Fixtures.enqueue(producer, "keda_job", 60);

    QueueScalerStatus s = reconcile(qs).getStatus();

    assertThat(replicas("keda-worker")).isEqualTo(3);
    assertThat(condition(s, "ConflictingAutoscaler").getMessage()).contains("KEDA ScaledObject keda-pg");
  }

  @Test
  void rotatedDatabaseSecretClosesTheOldPool() throws Exception {
    pg.loginAs("qp_controller_2", "queue_controller");
    try (QueueConnections own = new QueueConnections(PostgresJobQueue::new)) {
      QueueScalerReconciler r = new QueueScalerReconciler(new SecretReader(client),
          new ScaleTargets(client, URI.create("http://127.0.0.1:1"), clock), own, notifications,
          new KubernetesEventRecorder(client, clock), new ControllerMetrics(registry), clock, () -> true);
      client.resource(Fixtures.deployment(NS, "rotate-worker", 1)).create();
      client.secrets().inNamespace(NS).resource(Fixtures.databaseSecret(NS, "rotating", pg.jdbcUrl(), "qp_controller", "qp_controller")).create();
      create(Fixtures.scaler(NS, "rotate", "rotate-worker", "rotating", "rotate_job"));
      r.reconcile(client.resources(QueueScaler.class).inNamespace(NS).withName("rotate").get(), null);
      assertThat(own.openPools()).isEqualTo(1);

      client.secrets().inNamespace(NS).resource(Fixtures.databaseSecret(NS, "rotating", pg.jdbcUrl(), "qp_controller_2", "qp_controller_2")).update();
      var control = r.reconcile(client.resources(QueueScaler.class).inNamespace(NS).withName("rotate").get(), null);

      assertThat(own.openPools()).as("the old credentials' pool is closed").isEqualTo(1);
      assertThat(condition(control.getResource().orElseThrow().getStatus(), "DatabaseReachable").getStatus()).isEqualTo("True");
    }
  }
}
