package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.queuepilot.queue.testing.PostgresExtension;
import java.io.InputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * `helm install` of the chart into a real kube-apiserver + etcd (kube-api-test): every object
 * is accepted, an upgrade keeps the replica count the controller set, and the controller's
 * ServiceAccount can do its job and nothing else: checked call by call with its token, and by
 * running the real controller jar with only that token against a real PostgreSQL — it scales
 * the workers, patches status, writes Events, holds the Lease, and is never refused.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChartInstallIT {

  static final String NAMESPACE = "queuepilot";
  static final String RELEASE = "qp";
  static final String WORKER = "qp-queuepilot-worker";
  static final String CONTROLLER = "qp-queuepilot-controller";

  static final String CONTROLLER_DB_USER = "queuepilot_controller_1";
  static final int JOBS = 60;

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  @TempDir static Path logs;

  private static KubeApiServers.Running api;
  private static KubernetesClient admin;
  private static HelmCli helm;

  @BeforeAll
  static void startApiServerAndInstallFixtures() throws Exception {
    api = KubeApiServers.start();
    admin = api.adminClient();
    helm = new HelmCli(api.kubeConfigFile());
    try (InputStream crds = ChartInstallIT.class.getResourceAsStream("/fixtures/prometheus-operator-crds.yaml")) {
      List<HasMetadata> created = admin.load(crds).create();
      for (HasMetadata crd : created) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> established(crd.getMetadata().getName()));
      }
    }
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build()).create();
    secret("queuepilot-db", Map.of("url", "jdbc:postgresql://10.20.0.5:5432/postgres", "username", "queuepilot_worker_1",
        "password", "not-a-real-password", "listen-url", "jdbc:postgresql://10.20.0.5:5432/postgres"));
    // the controller's own login: a LOGIN member of queue_controller in a real PostgreSQL
    pg.loginAs(CONTROLLER_DB_USER, "queue_controller");
    secret("queuepilot-controller-db", Map.of("url", pg.jdbcUrl(), "username", CONTROLLER_DB_USER,
        "password", CONTROLLER_DB_USER));
    secret("queuepilot-openai", Map.of("api-key", "sk-test"));
    secret("queuepilot-supabase", Map.of("service-role-key", "service-role-test"));
    admin.apps().deployments().inNamespace(NAMESPACE).resource(otherDeployment()).create();
    admin.pods().inNamespace(NAMESPACE).resource(new PodBuilder().withNewMetadata().withName("some-pod").endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("registry.example/app:1").endContainer().endSpec()
        .build()).create();
  }

  @AfterAll
  static void stop() {
    if (admin != null) {
      admin.close();
    }
    if (api != null) {
      api.close();
    }
  }

  @Test
  @Order(1)
  void installCreatesEveryObjectOfTheChart() {
    Tools.Result install = helm.upgradeInstall(RELEASE, NAMESPACE, installArgs("--set", "worker.concurrency=8"));
    assertThat(install.exitCode()).as(install.stdout() + install.stderr()).isZero();
    assertThat(install.stdout()).contains("STATUS: deployed").contains("the controller owns its replica count");

    List<JsonNode> objects = ChartInstallChecks.assertEveryObjectStored(helm, admin, RELEASE, NAMESPACE);
    assertThat(objects.stream().map(o -> o.path("kind").asText()).distinct())
        .contains("PodDisruptionBudget", "NetworkPolicy", "ConfigMap", "ServiceMonitor", "PrometheusRule");
    Deployment worker = admin.apps().deployments().inNamespace(NAMESPACE).withName(WORKER).get();
    assertThat(worker.getSpec().getReplicas()).as("API default until the controller decides").isEqualTo(1);
    assertThat(admin.apps().deployments().inNamespace(NAMESPACE).withName(CONTROLLER).get().getSpec().getReplicas())
        .isEqualTo(2);
  }

  @Test
  @Order(2)
  void upgradeKeepsTheReplicaCountTheControllerSet() {
    ChartInstallChecks.assertUpgradeKeepsControllerOwnedReplicas(helm, admin, RELEASE, NAMESPACE, WORKER, 4,
        "QUEUEPILOT_CONCURRENCY", "6", installArgs("--set", "worker.concurrency=6"));
    assertThat(admin.apps().deployments().inNamespace(NAMESPACE).withName(WORKER).get().getMetadata().getGeneration())
        .isGreaterThan(1L);
  }

  @Test
  @Order(3)
  void controllerServiceAccountCanDoItsJobAndNothingElse() {
    ControllerPermissions permissions = new ControllerPermissions(admin, new ControllerPermissions.Names(
        NAMESPACE, CONTROLLER, WORKER, "other-app", "queuepilot-controller-db", "queuepilot-db", "some-pod"));
    try (KubernetesClient controller = permissions.controllerClient()) {
      permissions.assertCanDoItsJob(controller);
      permissions.assertIsRefusedEverythingElse(controller);
    }
  }

  @Test
  @Order(4)
  void defaultQueueScalerIsAcceptedAndReadableByTheController() {
    assertThat(established("queuescalers.queuepilot.io")).as("CRD from the chart's crds/ installed").isTrue();
    GenericKubernetesResource scaler = admin.genericKubernetesResources("queuepilot.io/v1alpha1", "QueueScaler")
        .inNamespace(NAMESPACE).withName(WORKER).get();
    assertThat(scaler).isNotNull();
    @SuppressWarnings("unchecked")
    Map<String, Object> spec = (Map<String, Object>) scaler.getAdditionalProperties().get("spec");
    assertThat(spec).containsEntry("databaseSecretRef", Map.of("name", "queuepilot-controller-db"))
        .containsEntry("maxReplicas", 20)
        .containsEntry("concurrencyPerReplica", 6); // follows the upgrade's worker.concurrency
    assertThat(spec.get("tokenBudget")).asString().contains("expectedJobSeconds=60"); // CRD default applied
    assertThat(spec.get("tokenBudget")).asString().contains("name=openai"); // the workers' budget row
    assertThat(spec.get("scaleTargetRef")).isEqualTo(Map.of("kind", "Deployment", "name", WORKER));

    try (KubernetesClient controller = new ControllerPermissions(admin, new ControllerPermissions.Names(
        NAMESPACE, CONTROLLER, WORKER, "other-app", "queuepilot-controller-db", "queuepilot-db", "some-pod"))
        .controllerClient()) {
      assertThat(controller.genericKubernetesResources("queuepilot.io/v1alpha1", "QueueScaler").inNamespace(NAMESPACE)
          .list().getItems()).extracting(r -> r.getMetadata().getName()).containsExactly(WORKER);
      GenericKubernetesResource patched = controller.genericKubernetesResources("queuepilot.io/v1alpha1", "QueueScaler")
          .inNamespace(NAMESPACE).withName(WORKER).subresource("status")
          .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"desiredReplicas\":3,\"limitedBy\":\"none\"}}");
      assertThat(patched.getAdditionalProperties().get("status")).asString().contains("desiredReplicas=3");
    }
  }

  @Test
  @Order(5)
  void realControllerWithTheChartsServiceAccountScalesTheWorkersAndIsNeverRefused() throws Exception {
    // after test 4 patched the status by hand (desiredReplicas 3, the count this test expects),
    // start from a known count in both places, so that only this controller can make them agree
    admin.apps().deployments().inNamespace(NAMESPACE).withName(WORKER).scale(1);
    admin.genericKubernetesResources("queuepilot.io/v1alpha1", "QueueScaler").inNamespace(NAMESPACE).withName(WORKER)
        .subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"desiredReplicas\":1}}");
    try (ControllerProcess controller = ControllerProcess.start(admin, NAMESPACE, CONTROLLER, CONTROLLER,
        CONTROLLER + "-0", logs)) {
      Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
        assertThat(controller.alive()).as("controller process running; log:%n%s", controller.log()).isTrue();
        assertThat(controller.get("/metrics")).contains("queuepilot_controller_leader 1.0");
      });

      try (Connection c = pg.superuser().getConnection(); Statement s = c.createStatement()) {
        // the shared budget the chart's queueScaler.tokenBudget.name (default openai) names, as the
        // workers configure it: 1,000,000 tokens and 5,000 requests per 60 s — half the values
        // file's fallback tokensPerMinute, so the cap shows which one the controller used
        s.execute("SELECT public.configure_token_budget('openai', 1000000, 5000, 60)");
        s.execute("SELECT public.enqueue_job('document_extraction', '{}'::jsonb, 'chart-install:' || g, 'ai')"
            + " FROM generate_series(1, " + JOBS + ") g");
      }
      // Demand: 60 ready × 60 s (expectedJobSeconds, nothing finished yet) / max(60 s target − 30 s
      // start-up, 60 s) = 60 slots ÷ concurrencyPerReplica 6 (the upgrade's worker.concurrency) = 10.
      // The named budget row caps it before any job was observed, with the cold-start estimate of
      // 25,000 tokens per job held for the job plus the row's 60 s window, with 10 % headroom:
      // floor(1,000,000 × 0.9 ÷ (6 × 25,000 × (60 + 60) / 60)) = 3 (requests allow 375). The spec's
      // fallback 2,000,000 tokens per minute would allow 6.
      int replicas = ControllerAtWork.assertScaledAndReported(admin, NAMESPACE, WORKER, WORKER, 3,
          CONTROLLER + "-0", Duration.ofSeconds(60));
      assertThat(replicas).isEqualTo(3);
      assertThat(controller.get("/metrics")).contains("queuepilot_scaler_replicas{kind=\"desired\",namespace=\""
          + NAMESPACE + "\",queuescaler=\"" + WORKER + "\"} 3.0");

      ControllerAtWork.assertLeaseRenewed(admin, NAMESPACE, CONTROLLER + "-0", Duration.ofSeconds(30));
      ControllerAtWork.assertLedAndWasNeverRefused(controller.log());
    }
  }

  private static String[] installArgs(String... extra) {
    List<String> args = new java.util.ArrayList<>(List.of("-f", ChartRenderer.ciValues("production-values.yaml").toString()));
    args.addAll(List.of(extra));
    return args.toArray(String[]::new);
  }

  private static boolean established(String crdName) {
    CustomResourceDefinition crd = admin.apiextensions().v1().customResourceDefinitions().withName(crdName).get();
    return crd != null && crd.getStatus() != null && crd.getStatus().getConditions().stream()
        .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static void secret(String name, Map<String, String> data) {
    admin.secrets().inNamespace(NAMESPACE).resource(new SecretBuilder().withNewMetadata().withName(name).endMetadata()
        .withStringData(data).build()).create();
  }

  private static Deployment otherDeployment() {
    return new DeploymentBuilder().withNewMetadata().withName("other-app").endMetadata()
        .withNewSpec().withReplicas(1)
        .withNewSelector().addToMatchLabels("app", "other").endSelector()
        .withNewTemplate().withNewMetadata().addToLabels("app", "other").endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("registry.example/other:1").endContainer().endSpec()
        .endTemplate().endSpec().build();
  }
}
