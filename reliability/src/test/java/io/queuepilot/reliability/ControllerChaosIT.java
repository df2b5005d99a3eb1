package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.queuepilot.testkit.WorkerProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Two real controller processes (the shaded controller jar) with Lease leader election against
 * a real kube-apiserver + etcd (fabric8 kube-api-test, binaries from tools/k8s/prepare.sh) and
 * the real PostgreSQL, reaching the database through their own {@link FaultProxy}:
 * <ul>
 *   <li>the leader SIGKILLed mid-scale: the standby takes the Lease within the lease time and
 *       finishes the scale-up; every step is at most maxStep and the count never overshoots;</li>
 *   <li>the database unreachable from the controller: replicas stay where they were (although
 *       the queue was emptied meanwhile) and the status says why; after the link returns the
 *       controller acts again;</li>
 *   <li>invalid QueueScalers are refused by the API server with a message naming the field.</li>
 * </ul>
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControllerChaosIT {

  static final String NS = "reliability";
  static final String JOB_TYPE = "ctrl_chaos";
  static final ResourceDefinitionContext SCALERS = new ResourceDefinitionContext.Builder()
      .withGroup("queuepilot.io").withVersion("v1alpha1").withPlural("queuescalers").withKind("QueueScaler").withNamespaced(true).build();

  static KubeAPIServer apiServer;
  static KubernetesClient client;
  static Path kubeconfig;
  static ChaosWorld world;
  static FaultProxy controllerLink;
  static final List<ControllerProcess> controllers = new ArrayList<>();

  /** One controller JVM. */
  record ControllerProcess(String name, Process process, Path log) {
    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  static Optional<Path> binaries() {
    String dir = System.getenv("KUBE_API_TEST_DIR");
    Path root = (dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".kubeapitest")).resolve("k8s");
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> dirs = Files.list(root)) {
      return dirs.filter(d -> Files.isExecutable(d.resolve("kube-apiserver")) && Files.isExecutable(d.resolve("etcd"))).findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(binaries().isPresent(),
        "kube-apiserver/etcd not found under ~/.kubeapitest/k8s: run tools/k8s/prepare.sh (scripts/test.sh does it)");
    Path jar = Path.of(System.getProperty("reliability.controllerJar", "../controller/target/queuepilot-controller.jar"));
    assertThat(jar).as("controller jar (./mvnw -pl controller -am package)").isRegularFile();
    world = ChaosWorld.create("controller", Duration.ofSeconds(60));
    controllerLink = FaultProxy.start("controller-db", world.pg().port());
    apiServer = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig().withOfflineMode(true).withUpdateKubeConfig(false).build());
    apiServer.start();
    String yaml = apiServer.getKubeConfigYaml();
    kubeconfig = world.root().resolve("kubeconfig.yaml");
    Files.writeString(kubeconfig, yaml);
    client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(yaml)).build();

    Path crdFile = Path.of(System.getProperty("reliability.repoRoot", ".."), "crds", "queuescalers.queuepilot.io-v1.yml");
    try (InputStream in = Files.newInputStream(crdFile)) {
      CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions().load(in).item();
      client.resource(crd).create();
      client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
          .waitUntilCondition(c -> c.getStatus() != null && c.getStatus().getConditions().stream()
              .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())), 30, TimeUnit.SECONDS);
    }
    client.resource("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + NS + "\n").create();
    client.resource("""
        apiVersion: v1
        kind: Secret
        metadata: {name: queuepilot-db, namespace: %s}
        stringData: {url: "%s", username: chaos_controller, password: chaos_controller}
        """.formatted(NS, world.pg().jdbcUrl(controllerLink.port()))).create();
    client.resource("""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: workers, namespace: %s}
        spec:
          replicas: 0
          selector: {matchLabels: {app: workers}}
          template:
            metadata: {labels: {app: workers}}
            spec: {containers: [{name: worker, image: "queuepilot/worker:test"}]}
        """.formatted(NS)).create();
    for (String name : List.of("ctrl-a", "ctrl-b")) {
      controllers.add(startController(jar, name));
    }
    await("a leader is elected").atMost(Duration.ofSeconds(90)).until(() -> leaseHolder() != null);
  }

  static ControllerProcess startController(Path jar, String name) throws IOException {
    Path log = world.root().resolve("logs").resolve(name + ".log");
    Files.createDirectories(log.getParent());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("QUEUEPILOT_") || k.startsWith("KUBERNETES_") || k.startsWith("POD_"));
    pb.environment().putAll(Map.of(
        "QUEUEPILOT_CONTROLLER_MODE", "kubernetes",
        "KUBECONFIG", kubeconfig.toString(),
        "POD_NAMESPACE", NS,
        "POD_NAME", name,
        "QUEUEPILOT_WATCH_NAMESPACES", NS,
        "QUEUEPILOT_LEADER_ELECTION", "true",
        "QUEUEPILOT_HTTP_PORT", Integer.toString(WorkerProcess.freePort()),
        "QUEUEPILOT_LOG_FORMAT", "text"));
    return new ControllerProcess(name, pb.start(), log);
  }

  @AfterAll
  static void stop() throws Exception {
    for (ControllerProcess c : controllers) {
      c.process().destroy();
      if (!c.process().waitFor(20, TimeUnit.SECONDS)) {
        c.kill();
      }
    }
    if (client != null) {
      client.close();
    }
    if (apiServer != null) {
      apiServer.stop();
    }
    if (controllerLink != null) {
      controllerLink.close();
    }
    if (world != null) {
      world.close();
    }
  }

  static String leaseHolder() {
    Lease l = client.leases().inNamespace(NS).withName("queuepilot-controller").get();
    return l == null || l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
  }

  static int replicas() {
    Integer r = client.apps().deployments().inNamespace(NS).withName("workers").get().getSpec().getReplicas();
    return r == null ? 0 : r;
  }

  static GenericKubernetesResource scaler(String name) {
    return client.genericKubernetesResources(SCALERS).inNamespace(NS).withName(name).get();
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> condition(String scaler, String type) {
    GenericKubernetesResource r = scaler(scaler);
    if (r == null || !(r.getAdditionalProperties().get("status") instanceof Map<?, ?> status)) {
      return null;
    }
    Object conds = status.get("conditions");
    if (!(conds instanceof List<?> list)) {
      return null;
    }
    return list.stream().map(o -> (Map<String, Object>) o).filter(m -> type.equals(m.get("type"))).findFirst().orElse(null);
  }

  static void enqueue(int n) throws Exception {
    try (Connection c = world.superuser().getConnection(); Statement s = c.createStatement()) {
      s.execute("SELECT public.enqueue_job('" + JOB_TYPE + "', '{}'::jsonb, '" + JOB_TYPE + ":' || gen_random_uuid()) "
          + "FROM generate_series(1, " + n + ")");
    }
  }

  @Test
  @Order(1)
  void leaderKilledMidScaleStandbyTakesOverAndFinishesTheScale() throws Exception {
    client.resource("""
        apiVersion: queuepilot.io/v1alpha1
        kind: QueueScaler
        metadata: {name: failover, namespace: %s}
        spec:
          scaleTargetRef: {kind: Deployment, name: workers}
          databaseSecretRef: {name: queuepilot-db}
          jobTypes: [%s]
          minReplicas: 0
          maxReplicas: 20
          concurrencyPerReplica: 4
          pollIntervalSeconds: 1
          heartbeatTimeoutSeconds: 60
          scaleUp: {stabilizationWindowSeconds: 0, maxStep: 2}
          scaleDown: {stabilizationWindowSeconds: 0, maxStep: 20, periodSeconds: 0}
        """.formatted(NS, JOB_TYPE)).create();
    List<Integer> timeline = new CopyOnWriteArrayList<>();
    // every change of spec.replicas, from a watch (polling could miss two decisions in quick succession)
    timeline.add(replicas());
    io.fabric8.kubernetes.client.Watch watch = client.apps().deployments().inNamespace(NS).withName("workers")
        .watch(new io.fabric8.kubernetes.client.Watcher<io.fabric8.kubernetes.api.model.apps.Deployment>() {
          @Override
          public void eventReceived(Action action, io.fabric8.kubernetes.api.model.apps.Deployment d) {
            Integer r = d.getSpec().getReplicas();
            int v = r == null ? 0 : r;
            synchronized (timeline) {
              if (timeline.get(timeline.size() - 1) != v) {
                timeline.add(v);
              }
            }
          }

          @Override
          public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {
            // the test ends the watch
          }
        });
    try {
      enqueue(80); // 80 jobs / 4 per replica = 20 replicas, at most 2 more per decision
      await("scale-up under way").atMost(Duration.ofSeconds(60)).until(() -> replicas() >= 4);
      String leader = leaseHolder();
      Lease lease = client.leases().inNamespace(NS).withName("queuepilot-controller").get();
      Duration leaseDuration = Duration.ofSeconds(lease.getSpec().getLeaseDurationSeconds());
      ControllerProcess victim = controllers.stream().filter(c -> c.name().equals(leader)).findFirst().orElseThrow();
      int atKill = replicas();
      victim.kill();
      Instant killed = Instant.now();
      String standby = controllers.stream().map(ControllerProcess::name).filter(n -> !n.equals(leader)).findFirst().orElseThrow();
      await("standby holds the Lease").atMost(leaseDuration.multipliedBy(3)).pollInterval(Duration.ofMillis(100))
          .until(() -> standby.equals(leaseHolder()));
      Duration takeover = Duration.between(killed, Instant.now());
      await("standby finishes the scale-up").atMost(Duration.ofSeconds(90)).until(() -> replicas() == 20);
      Duration finished = Duration.between(killed, Instant.now());
      // stays there: nothing doubled afterwards
      Instant settle = Instant.now().plusSeconds(3);
      await().atMost(Duration.ofSeconds(20)).until(() -> !Instant.now().isBefore(settle));
      assertThat(replicas()).isEqualTo(20);

      // the Lease can only be taken once it expired: leaseDuration after the dead leader's last
      // renewal (up to one retry period before the kill), plus the standby's retry period (2 s)
      assertThat(takeover).as("standby takes over within the lease time + retry periods")
          .isLessThanOrEqualTo(leaseDuration.plusSeconds(2 + 2 + 1));
      List<Integer> steps = new ArrayList<>();
      for (int i = 1; i < timeline.size(); i++) {
        steps.add(timeline.get(i) - timeline.get(i - 1));
      }
      assertThat(steps).as("replica timeline " + timeline + ": every decision at most maxStep up, none lost (no step down)")
          .allMatch(d -> d > 0 && d <= 2);
      assertThat(timeline).as("never above the target").allMatch(r -> r <= 20);
      assertThat(timeline.get(timeline.size() - 1)).isEqualTo(20);
      System.out.println("RELIABILITY controller failover: timeline " + timeline);
      ScenarioReport.row("controller leader SIGKILLed mid-scale (maxStep 2, Lease " + leaseDuration.toSeconds() + " s)", 80,
          "1 leader kill at " + atKill + "/20 replicas; replica timeline " + timeline,
          "n/a (no workers: scale target only)", "—", 0, 0, "—",
          "standby leader after " + ScenarioReport.seconds(takeover.toMillis() / 1000.0) + ", scale finished "
              + ScenarioReport.seconds(finished.toMillis() / 1000.0) + " after the kill");
    } finally {
      watch.close();
    }
  }

  @Test
  @Order(2)
  void databaseUnreachableFromTheControllerKeepsReplicasAndSaysWhy() throws Exception {
    await().atMost(Duration.ofSeconds(90)).until(() -> replicas() == 20);
    controllerLink.blackhole(true);
    controllerLink.cutAll();
    Instant cut = Instant.now();
    // the queue empties meanwhile: a controller reading a failed query as "no work" would scale to 0
    try (Connection c = world.superuser().getConnection(); Statement s = c.createStatement()) {
      // cancel_job moves each job into job_history (V081)
      s.execute("WITH cancelled AS (SELECT public.cancel_job(j.id) FROM public.job_queue j WHERE j.job_type = '" + JOB_TYPE
          + "' AND j.status IN ('pending', 'processing', 'dead_letter')) SELECT count(*) FROM cancelled");
    }
    await("status says the database is unreachable").atMost(Duration.ofSeconds(90)).until(() -> {
      Map<String, Object> c = condition("failover", "DatabaseReachable");
      return c != null && "False".equals(c.get("status"));
    });
    Duration noticed = Duration.between(cut, Instant.now());
    Map<String, Object> cond = condition("failover", "DatabaseReachable");
    Instant hold = Instant.now().plusSeconds(10);
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      assertThat(replicas()).as("replicas stay while the database is unreachable").isEqualTo(20);
      return !Instant.now().isBefore(hold);
    });
    controllerLink.blackhole(false);
    Instant healed = Instant.now();
    await("controller acts again once the link returns").atMost(Duration.ofSeconds(90)).until(() -> replicas() == 0);
    Duration recovery = Duration.between(healed, Instant.now());
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      Map<String, Object> c = condition("failover", "DatabaseReachable");
      return c != null && "True".equals(c.get("status"));
    });
    assertThat(String.valueOf(cond.get("message"))).as("the status message says why").isNotBlank();
    assertThat(String.valueOf(cond.get("reason"))).isIn("QueryFailed", "RequeueFailed");
    System.out.println("RELIABILITY controller db unreachable: condition " + cond);
    ScenarioReport.row("database unreachable from the controller (blackhole + cut)", 80,
        "controller's DB link blackholed 10 s+; queue emptied meanwhile; replicas held at 20; DatabaseReachable=False/"
            + cond.get("reason") + " after " + ScenarioReport.seconds(noticed.toMillis() / 1000.0),
        "n/a (cancelled while unreachable)", "—", 0, 0, "—",
        "scaled to the (empty) queue " + ScenarioReport.seconds(recovery.toMillis() / 1000.0) + " after the link returned");
  }

  @Test
  @Order(3)
  void invalidQueueScalersAreRefusedNamingTheField() {
    String base = """
        apiVersion: queuepilot.io/v1alpha1
        kind: QueueScaler
        metadata: {name: %s, namespace: %s}
        spec:
          databaseSecretRef: {name: queuepilot-db}
        %s
        """;
    String target = "  scaleTargetRef: {kind: Deployment, name: workers}\n";
    Map<String, String> invalid = Map.of(
        "min-above-max", target + "  minReplicas: 5\n  maxReplicas: 2\n",
        "negative-budget", target + "  tokenBudget: {tokensPerMinute: -1}\n",
        "zero-concurrency", target + "  concurrencyPerReplica: 0\n",
        "negative-step", target + "  scaleUp: {maxStep: -3}\n",
        "wrong-type", target + "  maxReplicas: \"ten\"\n",
        "unknown-target-kind", "  scaleTargetRef: {kind: StatefulSet, name: workers}\n",
        "render-without-api-key", "  scaleTargetRef: {kind: RenderService, name: srv-123}\n",
        "no-target", "  minReplicas: 1\n");
    Map<String, String> refusals = new java.util.TreeMap<>();
    invalid.forEach((name, spec) -> {
      String yaml = base.formatted(name, NS, spec);
      assertThatThrownBy(() -> client.resource(yaml).create()).as(name).isInstanceOf(KubernetesClientException.class)
          .satisfies(e -> {
            KubernetesClientException k = (KubernetesClientException) e;
            assertThat(k.getCode()).as(name).isEqualTo(422);
            assertThat(k.getMessage()).as(name).containsPattern("spec\\.");
            refusals.put(name, k.getStatus().getMessage());
          });
    });
    assertThat(client.genericKubernetesResources(SCALERS).inNamespace(NS).list().getItems())
        .extracting(r -> r.getMetadata().getName()).containsExactly("failover");
    refusals.forEach((k, v) -> System.out.println("RELIABILITY invalid QueueScaler " + k + ": " + v));
    try {
      Path out = Path.of(System.getProperty("reliability.reportDir", "target/reliability-report"), "invalid-queuescalers.txt");
      Files.createDirectories(out.getParent());
      Files.write(out, refusals.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
