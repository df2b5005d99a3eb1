package io.queuepilot.controller.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScaler;
import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.controller.crd.ScaleDownBehavior;
import io.queuepilot.controller.k8s.Fixtures;
import io.queuepilot.controller.k8s.KubernetesController;
import io.queuepilot.controller.target.PodDeletionCosts;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The controller on {@link KwokCluster} (real API server, controller-manager, scheduler; KWOK
 * nodes) with a real PostgreSQL: idle worker pods are the ones deleted on scale-down while pods
 * holding jobs keep running; of two QueueScalers on one Deployment only the first acts; the
 * {@code queuepilot.io/paused} annotation pauses without touching the spec Helm owns.
 */
class ClusterScalingIT {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static final String NS = "cluster-it";
  static KwokCluster cluster;
  static KubernetesClient client;
  static KubernetesController controller;
  static JobQueue worker;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(KwokCluster.missing().isEmpty(), KwokCluster.missing().orElse(""));
    cluster = KwokCluster.start("cluster-scaling", 2);
    client = cluster.client();
    KubeApiServerBinaries.applyQueueScalerCrd(client);
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
    pg.loginAs("qp_cluster_controller", "queue_controller");
    worker = new PostgresJobQueue(pg.loginAs("qp_cluster_worker", "queue_worker"));
    client.resource(Fixtures.databaseSecret(NS, "queuepilot-db", pg.jdbcUrl(), "qp_cluster_controller",
        "qp_cluster_controller")).create();
    controller = KubernetesController.start(client, new SimpleMeterRegistry(), new KubernetesController.Options(
        List.of(NS), NS, "cluster-it-controller", URI.create("http://127.0.0.1:1"), Clock.systemUTC(), () -> {}));
    await().atMost(Duration.ofSeconds(30)).until(controller::leading);
  }

  @AfterAll
  static void stop() throws Exception {
    if (controller != null) controller.close();
    if (cluster != null) cluster.close();
  }

  static QueueScaler scaler(String name, String deployment, String jobType, int min) {
    QueueScaler qs = Fixtures.scaler(NS, name, deployment, "queuepilot-db", jobType);
    qs.getSpec().minReplicas = min;
    qs.getSpec().concurrencyPerReplica = 1;
    qs.getSpec().pollIntervalSeconds = 1;
    ScaleDownBehavior down = new ScaleDownBehavior();
    down.stabilizationWindowSeconds = 1;
    down.maxStep = 10;
    down.periodSeconds = 1;
    qs.getSpec().scaleDown = down;
    return qs;
  }

  static List<Pod> pods(String app) {
    return client.pods().inNamespace(NS).withLabel("app", app).list().getItems();
  }

  static Set<String> readyPods(String app) {
    return pods(app).stream().filter(KwokCluster::ready).map(p -> p.getMetadata().getName()).collect(Collectors.toSet());
  }

  static int replicas(String deployment) {
    return client.apps().deployments().inNamespace(NS).withName(deployment).get().getSpec().getReplicas();
  }

  static QueueScalerStatus status(String name) {
    QueueScaler qs = client.resources(QueueScaler.class).inNamespace(NS).withName(name).get();
    return qs == null ? null : qs.getStatus();
  }

  static Condition condition(String scaler, String type) {
    QueueScalerStatus s = status(scaler);
    if (s == null || s.conditions == null) return null;
    return s.conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
  }

  static List<Event> events(String scaler, String reason) {
    return client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> scaler.equals(e.getInvolvedObject().getName()) && reason.equals(e.getReason())).toList();
  }

  @Test
  void scaleDownDeletesIdlePodsAndBusyPodsKeepRunning() throws Exception {
    client.resource(Fixtures.deployment(NS, "drain", 2)).create();
    await().atMost(Duration.ofSeconds(60)).until(() -> readyPods("drain").size() == 2);
    Set<String> idle = readyPods("drain");
    // The two idle pods are clearly older: the ReplicaSet controller's own tie-break (most
    // recently ready first) would delete the busy ones. Only the deletion cost saves them.
    await().atMost(Duration.ofSeconds(30)).until(() -> pods("drain").stream()
        .allMatch(p -> KwokCluster.readyFor(p).compareTo(Duration.ofSeconds(5)) >= 0));
    client.apps().deployments().inNamespace(NS).withName("drain").scale(4);
    await().atMost(Duration.ofSeconds(60)).until(() -> readyPods("drain").size() == 4);
    List<String> busy = readyPods("drain").stream().filter(n -> !idle.contains(n)).sorted().toList();
    assertThat(busy).hasSize(2);
    Fixtures.enqueue(worker, "drain_job", 2);
    List<ClaimedJob> held = new ArrayList<>();
    for (String pod : busy) {
      List<ClaimedJob> got = worker.claim(pod, List.of("drain_job"), List.of(), 1);
      assertThat(got).as("job claimed by pod %s", pod).hasSize(1);
      held.addAll(got);
    }

    client.resource(scaler("drain", "drain", "drain_job", 0)).create();

    await().atMost(Duration.ofSeconds(60)).until(() -> replicas("drain") == 2 && pods("drain").size() == 2);
    assertThat(readyPods("drain")).as("the pods holding jobs keep running").containsExactlyInAnyOrderElementsOf(busy);
    Map<String, String> costs = pods("drain").stream().collect(Collectors.toMap(p -> p.getMetadata().getName(),
        p -> p.getMetadata().getAnnotations().getOrDefault(PodDeletionCosts.ANNOTATION, "absent")));
    assertThat(costs).containsExactlyInAnyOrderEntriesOf(Map.of(busy.get(0), "1", busy.get(1), "1"));

    // One job finishes: its pod is now idle and goes; the other keeps its job and keeps running.
    ClaimedJob finished = held.get(0); // claimed by busy.get(0)
    assertThat(worker.complete(finished.id(), finished.leaseToken(), "{}", 1)).isTrue();
    await().atMost(Duration.ofSeconds(60)).until(() -> replicas("drain") == 1 && pods("drain").size() == 1);
    assertThat(readyPods("drain")).containsExactly(busy.get(1));
    cluster.assertAllRunning();
  }

  /**
   * Fast idle scale-down on the real cluster: a burst scales the workers up, the jobs finish,
   * and the Deployment comes down within seconds although the scale-down window is the chart's
   * 300 s — and the pods the real ReplicaSet controller deletes are the idle ones, while the
   * one still holding a job keeps running.
   */
  @Test
  void idleCapacityGoesPromptlyAndTheReplicaSetDeletesTheIdlePods() throws Exception {
    client.resource(Fixtures.deployment(NS, "burst", 0)).create();
    // The burst is queued before the scaler's first observation, so the queue's work never grows
    // in its history (the arrival estimate is then at most the jobs in flight).
    Fixtures.enqueue(worker, "burst_job", 16);
    QueueScaler qs = scaler("burst", "burst", "burst_job", 0);
    qs.getSpec().concurrencyPerReplica = 4;
    qs.getSpec().maxReplicas = 10;
    ScaleDownBehavior chartDefaults = new ScaleDownBehavior(); // values.yaml's queueScaler.scaleDown
    chartDefaults.stabilizationWindowSeconds = 300;
    chartDefaults.maxStep = 1;
    chartDefaults.periodSeconds = 15;
    qs.getSpec().scaleDown = chartDefaults;
    client.resource(qs).create();

    // Up: 16 ready, nothing finished yet, so d = tokenBudget.expectedJobSeconds (default 60 s)
    // and no arrival rate (history < 30 s: λ = processing / d = 0); horizon = max(60 s target −
    // 30 s start-up, d) = 60 s; slots = 0 + 16 × 60 / 60 = 16 → ceil(16 / 4 per replica) = 4.
    // Later decisions cannot exceed it: ready + processing never grows past 16.
    await().atMost(Duration.ofSeconds(60)).until(() -> replicas("burst") == 4 && readyPods("burst").size() == 4);
    // The pod that keeps a job is the one the ReplicaSet controller would delete first on its
    // own, so only the deletion cost can save it. That order ranks readiness by log2 of its age;
    // with the jobs taken 6 s after the pods are Ready the scale-down comes at an age of about
    // 6 + 15..21 s, inside one such bucket (17.2..34.4 s), where the controller's own order is
    // known: crowded node first, then the lower UID.
    await().atMost(Duration.ofSeconds(30)).until(() -> pods("burst").stream()
        .allMatch(p -> KwokCluster.readyFor(p).compareTo(Duration.ofSeconds(6)) >= 0));
    List<Pod> up = pods("burst").stream().filter(KwokCluster::ready).toList();
    String busy = deletedFirstWithoutCost(up, Duration.ofSeconds(18));
    ClaimedJob kept = null;
    List<ClaimedJob> done = new ArrayList<>();
    for (Pod pod : up) {
      List<ClaimedJob> got = worker.claim(pod.getMetadata().getName(), List.of("burst_job"), List.of(), 4);
      assertThat(got).as("4 jobs claimed by pod %s", pod.getMetadata().getName()).hasSize(4);
      if (pod.getMetadata().getName().equals(busy)) {
        kept = got.get(0);
        done.addAll(got.subList(1, 4));
      } else {
        done.addAll(got);
      }
    }
    assertThat(kept).isNotNull();
    for (ClaimedJob job : done) assertThat(worker.complete(job.id(), job.leaseToken(), "{}", 1)).isTrue();
    Instant finished = Instant.now();

    // Down: 1 job in flight, 0 ready, 16 slots. The drain-aware rule removes the idle capacity at
    // once to the replicas the jobs in flight need (ceil(1 / 4) = 1) when over its 15 s lookback
    // (ScalingPolicy.DRAIN_LOOKBACK) at most half of the slots were busy. The observation just
    // before the lookback is one per 5 s (ScalingHistory.BUCKET) and reconciles run every 1 s
    // (pollIntervalSeconds), so the decision comes at most 15 + 5 + 1 = 21 s after the jobs
    // finished; the ReplicaSet controller and KWOK delete the pods within seconds of it. 40 s
    // allows 19 s for those; the window alone would hold the 4 replicas for 300 s and then step
    // down by 1 per 15 s (maxStep, periodSeconds): 330 s to reach 1.
    await().atMost(Duration.ofSeconds(40)).until(() -> replicas("burst") == 1 && pods("burst").size() == 1);
    Duration took = Duration.between(finished, Instant.now());
    assertThat(readyPods("burst")).as("the pod holding a job keeps running (scaled down %s after the jobs finished)", took)
        .containsExactly(busy);
    assertThat(pods("burst").get(0).getMetadata().getAnnotations()).containsEntry(PodDeletionCosts.ANNOTATION, "1");
    cluster.assertAllRunning();
    client.resources(QueueScaler.class).inNamespace(NS).withName("burst").delete();
  }

  /**
   * The pod the ReplicaSet controller deletes first among ready pods of equal deletion cost
   * (k8s.io/kubernetes pkg/controller ActivePodsWithRanks, LogarithmicScaleDown on): the most
   * pods of its ReplicaSet on its node, then the most recently ready by log2 of the nanoseconds
   * since (ranked as of {@code rankedIn} from now, about when the scale-down comes), then the lower UID.
   */
  static String deletedFirstWithoutCost(List<Pod> pods, Duration rankedIn) {
    Map<String, Long> perNode = pods.stream().collect(Collectors.groupingBy(p -> p.getSpec().getNodeName(),
        Collectors.counting()));
    Instant rankedAt = Instant.now().plus(rankedIn);
    java.util.Comparator<Pod> first = java.util.Comparator
        .comparing((Pod p) -> -perNode.get(p.getSpec().getNodeName()))
        .thenComparing(p -> (long) (Math.log(Duration.between(Instant.now().minus(KwokCluster.readyFor(p)), rankedAt)
            .toNanos()) / Math.log(2)))
        .thenComparing(p -> p.getMetadata().getUid());
    return pods.stream().min(first).orElseThrow().getMetadata().getName();
  }

  @Test
  void ofTwoQueueScalersOnOneDeploymentOnlyTheFirstActsUntilItIsDeleted() {
    client.resource(Fixtures.deployment(NS, "shared", 0)).create();
    client.resource(scaler("shared-first", "shared", "shared_job", 1)).create();
    await().atMost(Duration.ofSeconds(30)).until(() -> replicas("shared") == 1);
    client.resource(scaler("shared-second", "shared", "shared_job", 3)).create();

    await().atMost(Duration.ofSeconds(30)).until(() -> {
      Condition active = condition("shared-second", "ScalingActive");
      return active != null && "False".equals(active.getStatus()) && "ConflictingAutoscaler".equals(active.getReason());
    });
    assertThat(condition("shared-second", "ScalingActive").getMessage()).contains("QueueScaler shared-first");
    assertThat(condition("shared-second", "ConflictingAutoscaler").getStatus()).isEqualTo("True");
    await().atMost(Duration.ofSeconds(10)).until(() -> !events("shared-second", "ConflictingAutoscaler").isEmpty());
    assertThat(events("shared-second", "ConflictingAutoscaler").get(0).getMessage()).contains("QueueScaler shared-first");
    // the first keeps working and is not itself in conflict; the second never scales
    await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> replicas("shared") == 1);
    assertThat(condition("shared-first", "ConflictingAutoscaler").getStatus()).isEqualTo("False");

    client.resources(QueueScaler.class).inNamespace(NS).withName("shared-first").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> replicas("shared") == 3);
    await().atMost(Duration.ofSeconds(10))
        .until(() -> "False".equals(condition("shared-second", "ConflictingAutoscaler").getStatus()));
    client.resources(QueueScaler.class).inNamespace(NS).withName("shared-second").delete();
  }

  @Test
  void thePauseAnnotationPausesWithoutConflictingWithTheSpecOwner() throws Exception {
    client.resource(Fixtures.deployment(NS, "pausable", 0)).create();
    QueueScaler applied = scaler("pausable", "pausable", "pausable_job", 1);
    applied.getSpec().paused = false; // the chart always writes spec.paused
    client.resource(applied).fieldManager("helm").forceConflicts().serverSideApply();
    await().atMost(Duration.ofSeconds(30)).until(() -> replicas("pausable") == 1);
    await().atMost(Duration.ofSeconds(10)).until(() -> "false".equals(printedColumn("pausable", "PAUSED")));

    // the runbook's pause command, verbatim but for the names
    run(cluster.kubectl("-n", NS, "annotate", "queuescaler", "pausable", SpecMapping.PAUSED_ANNOTATION + "=true",
        "--overwrite"));
    // helm upgrade (server-side apply, no --force-conflicts) raising minReplicas goes through …
    QueueScaler upgraded = scaler("pausable", "pausable", "pausable_job", 2);
    upgraded.getSpec().paused = false;
    client.resource(upgraded).fieldManager("helm").serverSideApply();
    // … and the scaler stays paused
    await().atMost(Duration.ofSeconds(10)).until(() -> "paused".equals(status("pausable").limitedBy));
    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> replicas("pausable") == 1);
    // kubectl get shows it paused although spec.paused is false, and the condition says why
    assertThat(client.resources(QueueScaler.class).inNamespace(NS).withName("pausable").get().getSpec().paused).isFalse();
    assertThat(printedColumn("pausable", "PAUSED")).isEqualTo("true");
    assertThat(condition("pausable", "Paused").getReason()).isEqualTo("PausedByAnnotation");
    await().atMost(Duration.ofSeconds(10)).until(() -> !events("pausable", "Paused").isEmpty());

    // the resume command: the new minimum applies
    run(cluster.kubectl("-n", NS, "annotate", "queuescaler", "pausable", SpecMapping.PAUSED_ANNOTATION + "-"));
    await().atMost(Duration.ofSeconds(30)).until(() -> replicas("pausable") == 2);
    await().atMost(Duration.ofSeconds(10)).until(() -> "false".equals(printedColumn("pausable", "PAUSED")));

    // Why not spec.paused: once an operator patches it, the next apply by Helm conflicts.
    run(cluster.kubectl("-n", NS, "patch", "queuescaler", "pausable", "--type", "merge", "-p", "{\"spec\":{\"paused\":true}}"));
    QueueScaler again = scaler("pausable", "pausable", "pausable_job", 2);
    again.getSpec().paused = false;
    assertThatThrownBy(() -> client.resource(again).fieldManager("helm").serverSideApply())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(409));

    // a value that is neither true nor false is refused, naming the annotation
    run(cluster.kubectl("-n", NS, "annotate", "queuescaler", "pausable", SpecMapping.PAUSED_ANNOTATION + "=yes",
        "--overwrite"));
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      Condition ready = condition("pausable", "Ready");
      return ready != null && "InvalidSpec".equals(ready.getReason())
          && ready.getMessage().contains("metadata.annotations[queuepilot.io/paused] must be \"true\" or \"false\", was \"yes\"");
    });
    client.resources(QueueScaler.class).inNamespace(NS).withName("pausable").delete();
  }

  private static String run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
    return out;
  }

  /**
   * The value {@code kubectl get queuescaler <name>} prints under {@code column}: the CRD's
   * printer columns as the API server's Table response renders them (kubectl left-aligns each
   * column, so the value starts where its header does).
   */
  static String printedColumn(String name, String column) throws Exception {
    List<String> lines = run(cluster.kubectl("-n", NS, "get", "queuescaler", name)).lines().toList();
    assertThat(lines).as("header and one row").hasSize(2);
    int at = lines.get(0).indexOf(column);
    assertThat(at).as("column %s in %s", column, lines.get(0)).isNotNegative();
    String rest = lines.get(1).length() > at ? lines.get(1).substring(at) : "";
    return rest.isBlank() ? "" : rest.trim().split("\\s+")[0];
  }
}
