package io.queuepilot.bench;

import com.zaxxer.hikari.HikariDataSource;
import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.queuepilot.queue.roles.LoginRoles;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * Section 5, Kubernetes variant: a real kube-apiserver + etcd (fabric8 kube-api-test, the
 * binaries tools/k8s/prepare.sh builds, started offline), the generated CRD from crds/, a
 * Deployment and a QueueScaler, and the real controller process (queuepilot-controller.jar in
 * kubernetes mode, its kubeconfig pointing at that API server). Two watches record, on this
 * JVM's System.nanoTime, when the Deployment's spec.replicas and the QueueScaler's
 * status.desiredReplicas change after a burst's first commit (its NOTIFY).
 */
final class KubernetesControllerReaction {

  private static final String NS = "queuepilot-bench";
  private static final String DEPLOYMENT = "bench-worker";
  private static final String SCALER = "bench";
  private static final io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext QUEUE_SCALER =
      new io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext.Builder().withGroup("queuepilot.io")
          .withVersion("v1alpha1").withKind("QueueScaler").withPlural("queuescalers").withNamespaced(true).build();

  /** One observed value of a watched field. */
  record Seen(long atNanos, int value) {}

  private KubernetesControllerReaction() {}

  static void run(Report report, BenchServer server, Path logDir, BenchMain o) throws Exception {
    Path jar = o.controllerJar.toAbsolutePath();
    if (!Files.isReadable(jar)) {
      throw new IllegalStateException("controller jar " + jar + " missing (bench/run.sh builds it)");
    }
    Path crd = Path.of("crds", "queuescalers.queuepilot.io-v1.yml");
    if (!Files.isReadable(crd)) {
      throw new IllegalStateException("generated CRD " + crd.toAbsolutePath() + " missing (run from the repository root)");
    }
    int maxReplicas = o.controllerMaxReplicas;
    int perReplica = 10;
    int target = Math.min(maxReplicas, (o.burstJobs + perReplica - 1) / perReplica);
    report.line("### Kubernetes mode (real kube-apiserver)");
    report.line("");
    report.format("Controller (`queuepilot-controller.jar`, kubernetes mode, leader election off) against a real "
            + "kube-apiserver + etcd (fabric8 kube-api-test, binaries from tools/k8s/prepare.sh, offline); the generated "
            + "CRD from crds/, a Deployment at 0 replicas and a QueueScaler (min 0, max %d, concurrencyPerReplica %d, "
            + "pollIntervalSeconds 2, scaleDown window 0 s / maxStep %d / period 1 s so a drained queue goes back to 0 "
            + "quickly). %d bursts of %,d enqueues (8 connections, one commit each), each asking for %d replicas. "
            + "t0 = the burst's first commit (its NOTIFY); times are when this JVM's watch saw the change. Between bursts "
            + "the jobs are deleted and the bench waits until the controller has scaled back to 0.",
        maxReplicas, perReplica, maxReplicas, o.bursts, o.burstJobs, target);
    report.line("");

    BenchServer.Db db = server.freshDatabase("ctl_k8s_queuepilot");
    QueuePilotSystem.migrate(db);
    String user = ControllerReaction.CONTROLLER_USER;
    new LoginRoles(db.dataSource()).ensure(user, user, "queue_controller");

    long apiStart = System.nanoTime();
    KubeAPIServer api = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
        .withOfflineMode(true).withUpdateKubeConfig(false).build());
    api.start();
    double apiStartS = (System.nanoTime() - apiStart) / 1e9;
    Process controller = null;
    List<Watch> watches = new ArrayList<>();
    List<Double> deployFirst = new ArrayList<>();
    List<Double> deployFull = new ArrayList<>();
    List<Double> statusFirst = new ArrayList<>();
    List<Double> statusFull = new ArrayList<>();
    int missed = 0;
    String loadBefore = Machine.loadAverage();
    Path kubeconfig = Files.createTempFile("qp-bench-kubeconfig", ".yaml");
    try (KubernetesClient client = new KubernetesClientBuilder().withHttpClientFactory(new JdkHttpClientFactory())
        .withConfig(Config.fromKubeconfig(api.getKubeConfigYaml())).build();
        HikariDataSource service = ControllerReaction.servicePool(db)) {
      Files.writeString(kubeconfig, api.getKubeConfigYaml());
      try (InputStream in = Files.newInputStream(crd)) {
        var def = client.apiextensions().v1().customResourceDefinitions().load(in).item();
        client.resource(def).create();
        client.apiextensions().v1().customResourceDefinitions().withName(def.getMetadata().getName())
            .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                && c.getStatus().getConditions().stream()
                    .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())), 30, TimeUnit.SECONDS);
      }
      apply(client, """
          apiVersion: v1
          kind: Namespace
          metadata: {name: %s}
          """.formatted(NS));
      apply(client, """
          apiVersion: v1
          kind: Secret
          metadata: {name: queuepilot-db, namespace: %s}
          stringData: {url: "%s", username: %s, password: %s}
          """.formatted(NS, db.jdbcUrl(), user, user));
      apply(client, """
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: %1$s, namespace: %2$s}
          spec:
            replicas: 0
            selector: {matchLabels: {app: %1$s}}
            template:
              metadata: {labels: {app: %1$s}}
              spec: {containers: [{name: worker, image: "queuepilot/worker:bench"}]}
          """.formatted(DEPLOYMENT, NS));
      applyScaler(client, """
          apiVersion: queuepilot.io/v1alpha1
          kind: QueueScaler
          metadata: {name: %s, namespace: %s}
          spec:
            scaleTargetRef: {kind: Deployment, name: %s}
            databaseSecretRef: {name: queuepilot-db}
            jobTypes: [burst]
            minReplicas: 0
            maxReplicas: %d
            concurrencyPerReplica: %d
            pollIntervalSeconds: 2
            scaleDown: {stabilizationWindowSeconds: 0, maxStep: %d, periodSeconds: 1}
          """.formatted(SCALER, NS, DEPLOYMENT, maxReplicas, perReplica, maxReplicas));

      List<Seen> replicas = new CopyOnWriteArrayList<>();
      List<Seen> desired = new CopyOnWriteArrayList<>();
      watches.add(client.apps().deployments().inNamespace(NS).withName(DEPLOYMENT).watch(new Watcher<Deployment>() {
        @Override
        public void eventReceived(Action action, Deployment d) {
          long at = System.nanoTime();
          if (d.getSpec() != null && d.getSpec().getReplicas() != null) replicas.add(new Seen(at, d.getSpec().getReplicas()));
        }

        @Override
        public void onClose(WatcherException cause) {
          System.err.println("deployment watch closed: " + cause);
        }
      }));
      watches.add(client.genericKubernetesResources(QUEUE_SCALER).inNamespace(NS).withName(SCALER)
          .watch(new Watcher<GenericKubernetesResource>() {
            @Override
            public void eventReceived(Action action, GenericKubernetesResource r) {
              long at = System.nanoTime();
              Integer v = desiredReplicas(r);
              if (v != null) desired.add(new Seen(at, v));
            }

            @Override
            public void onClose(WatcherException cause) {
              System.err.println("queuescaler watch closed: " + cause);
            }
          }));

      ProcessBuilder pb = new ProcessBuilder(
          ProcessHandle.current().info().command().orElse("java"), "-Xmx512m", "-jar", jar.toString())
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logDir.resolve("controller-k8s.log").toFile()))
          .redirectErrorStream(true);
      Map<String, String> env = pb.environment();
      env.put("QUEUEPILOT_CONTROLLER_MODE", "kubernetes");
      env.put("KUBECONFIG", kubeconfig.toString());
      env.put("POD_NAMESPACE", NS);
      env.put("QUEUEPILOT_LEADER_ELECTION", "false");
      env.put("QUEUEPILOT_HTTP_PORT", "0");
      controller = pb.start();
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      // started = the first reconcile wrote a status, and the controller LISTENs
      while (desired.isEmpty() || !listening(db, user)) {
        if (!controller.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("controller did not start (see " + logDir.resolve("controller-k8s.log") + ")");
        }
        LockSupport.parkNanos(100_000_000L);
      }
      LockSupport.parkNanos(2_000_000_000L);
      ExecutorService producers = Executors.newFixedThreadPool(8);
      try {
        for (int b = 0; b < o.bursts; b++) {
          int rBefore = replicas.size();
          int dBefore = desired.size();
          long t0 = ControllerReaction.burst(service, producers, b, o.burstJobs);
          long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
          while ((!reached(replicas, rBefore, v -> v >= target) || !reached(desired, dBefore, v -> v >= target))
              && System.nanoTime() < until) {
            LockSupport.parkNanos(2_000_000L);
          }
          boolean any = false;
          any |= add(deployFirst, first(replicas, rBefore, v -> v > 0), t0);
          add(deployFull, first(replicas, rBefore, v -> v >= target), t0);
          any |= add(statusFirst, first(desired, dBefore, v -> v > 0), t0);
          add(statusFull, first(desired, dBefore, v -> v >= target), t0);
          if (!any) missed++;
          // drain: no work left; the controller scales back to 0 (window 0 s) before the next burst
          db.execute("DELETE FROM public.job_queue WHERE job_type = 'burst'");
          long drainUntil = System.nanoTime() + Duration.ofSeconds(o.k8sDrainTimeoutSeconds).toNanos();
          while (!(last(replicas) == 0 && last(desired) == 0)) {
            if (System.nanoTime() > drainUntil) {
              throw new IllegalStateException("controller did not scale back to 0 within " + o.k8sDrainTimeoutSeconds
                  + " s after burst " + (b + 1) + " (replicas " + last(replicas) + ", desired " + last(desired) + ")");
            }
            LockSupport.parkNanos(20_000_000L);
          }
          LockSupport.parkNanos(1_000_000_000L);
        }
      } finally {
        producers.shutdownNow();
      }
    } finally {
      watches.forEach(Watch::close);
      if (controller != null) {
        controller.destroy();
        if (!controller.waitFor(30, TimeUnit.SECONDS)) {
          controller.destroyForcibly();
        }
      }
      api.stop();
      Files.deleteIfExists(kubeconfig);
    }
    report.line("| measured (from the burst's first NOTIFY) | bursts | p50 ms | max ms | min ms |");
    report.line("|---|---:|---:|---:|---:|");
    row(report, "Deployment spec.replicas first raised", deployFirst);
    row(report, "Deployment spec.replicas reaching " + target, deployFull);
    row(report, "QueueScaler status.desiredReplicas first raised", statusFirst);
    row(report, "QueueScaler status.desiredReplicas reaching " + target, statusFull);
    report.line("");
    report.format("Bursts with no change seen within 30 s: %d. kube-apiserver + etcd start: %.1f s. Load before / after: %s / %s.",
        missed, apiStartS, loadBefore, Machine.loadAverage());
  }

  private static void apply(KubernetesClient client, String yaml) {
    HasMetadata item = client.resource(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).item();
    client.resource(item).create();
  }

  /** The QueueScaler through the generic API (the bench does not depend on the controller's classes). */
  private static void applyScaler(KubernetesClient client, String yaml) {
    GenericKubernetesResource r = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(yaml, GenericKubernetesResource.class);
    client.genericKubernetesResources(QUEUE_SCALER).inNamespace(NS).resource(r).create();
  }

  @SuppressWarnings("unchecked")
  private static Integer desiredReplicas(GenericKubernetesResource r) {
    Object status = r.getAdditionalProperties().get("status");
    if (!(status instanceof Map<?, ?> m)) return null;
    Object v = ((Map<String, Object>) m).get("desiredReplicas");
    return v instanceof Number n ? n.intValue() : null;
  }

  private static boolean listening(BenchServer.Db db, String user) {
    return db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = '"
        + user + "' AND query ILIKE 'LISTEN%'") > 0;
  }

  private static boolean reached(List<Seen> seen, int from, Predicate<Integer> p) {
    return first(seen, from, p) != null;
  }

  private static Seen first(List<Seen> seen, int from, Predicate<Integer> p) {
    for (int i = from; i < seen.size(); i++) {
      if (p.test(seen.get(i).value())) return seen.get(i);
    }
    return null;
  }

  private static int last(List<Seen> seen) {
    return seen.isEmpty() ? -1 : seen.getLast().value();
  }

  private static boolean add(List<Double> to, Seen s, long t0) {
    if (s == null) return false;
    to.add((s.atNanos() - t0) / 1e6);
    return true;
  }

  private static void row(Report report, String what, List<Double> ms) {
    if (ms.isEmpty()) {
      report.format("| %s | 0 | – | – | – |", what);
      return;
    }
    Stats s = Stats.of(ms);
    report.format("| %s | %d | %.0f | %.0f | %.0f |", what, s.samples(), s.p50Ms(), s.maxMs(), s.minMs());
  }
}
