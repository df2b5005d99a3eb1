package io.queuepilot.controller.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.QueueObserver;
import io.queuepilot.scaling.Scaler;
import io.queuepilot.scaling.ScalingHistoryStore;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScaler;
import io.queuepilot.controller.crd.QueueScalerStatus;
import io.queuepilot.controller.db.NotificationHub;
import io.queuepilot.controller.db.QueueConnections;
import io.queuepilot.controller.k8s.KubernetesEventRecorder;
import io.queuepilot.controller.k8s.QueueScalerReconciler;
import io.queuepilot.controller.k8s.ScaleTargets;
import io.queuepilot.controller.metrics.ControllerMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.testkit.MutableClock;
import io.queuepilot.controller.db.DatabaseConfigException;
import io.queuepilot.controller.k8s.Fixtures;
import io.queuepilot.controller.k8s.SecretReader;
import io.queuepilot.controller.k8s.StatusUpdate;
import io.queuepilot.controller.target.KubernetesDeploymentScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What an SRE sees when RBAC says no, on a real kube-apiserver with RBAC on: the controller
 * runs as a user bound to a Role shaped like the chart's (Deployments and their scale
 * subresource by resourceNames only, no Secrets). A Deployment outside the names is
 * TargetForbidden (it may well exist), a missing one inside the names is TargetNotFound, an
 * unreadable Secret is SecretForbidden rather than DatabaseUnavailable, and every message is
 * one sentence with the HTTP code and the API server's words, never fabric8's Status dump.
 */
class RbacRefusalIT {

  static final String NS = "rbac-it";
  static final String USER = "limited-controller";

  @org.junit.jupiter.api.extension.RegisterExtension
  static io.queuepilot.queue.testing.PostgresExtension pg = new io.queuepilot.queue.testing.PostgresExtension();

  static KubeAPIServer apiServer;
  static KubernetesClient admin;
  static KubernetesClient limited;

  @BeforeAll
  static void start() {
    Assumptions.assumeTrue(KubeApiServerBinaries.find().isPresent(), KubeApiServerBinaries.missingMessage());
    apiServer = KubeApiServerBinaries.startApiServer();
    admin = KubeApiServerBinaries.adminClient(apiServer);
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
    admin.resource(Fixtures.deployment(NS, "allowed-worker", 1)).create();
    admin.resource(Fixtures.deployment(NS, "outside-worker", 1)).create();
    admin.resource(Fixtures.databaseSecret(NS, "queuepilot-db", "jdbc:postgresql://127.0.0.1:1/x", "u", "p")).create();
    admin.resource(new RoleBuilder().withNewMetadata().withName("queuepilot-controller").withNamespace(NS).endMetadata()
        .addNewRule().withApiGroups("apps").withResources("deployments", "deployments/scale")
        .withResourceNames("allowed-worker", "missing-worker").withVerbs("get", "patch", "update").endRule()
        .build()).create();
    limited = bindAndImpersonate("queuepilot-controller", USER);
  }

  /** Binds Role {@code role} to {@code user} and returns a client acting as that user. */
  static KubernetesClient bindAndImpersonate(String role, String user) {
    admin.resource(new RoleBindingBuilder().withNewMetadata().withName(role).withNamespace(NS)
        .endMetadata().withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role")
        .withName(role).endRoleRef()
        .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName(user).endSubject()
        .build()).create();
    return new KubernetesClientBuilder().withHttpClientFactory(new JdkHttpClientFactory())
        .withConfig(new ConfigBuilder(admin.getConfiguration()).withImpersonateUsername(user).build()).build();
  }

  /**
   * The whole reconcile under a Role without the pods rule (an older chart): the queue is empty
   * and the capacity idle, so the policy scales 3 → 0, but the controller cannot mark idle pods.
   * It keeps the 3 replicas and says so where an SRE looks: ScalingActive and Ready False with
   * reason ScaleDownWithheld naming the missing rule, and one Warning Event of that name.
   */
  @Test
  void aScaleDownWithheldForWantOfPodsAccessIsAConditionAndAnEvent() throws Exception {
    String user = "older-chart-controller";
    KubeApiServerBinaries.applyQueueScalerCrd(admin);
    pg.loginAs("qp_rbac_controller", "queue_controller");
    admin.resource(Fixtures.databaseSecret(NS, "older-db", pg.jdbcUrl(), "qp_rbac_controller", "qp_rbac_controller"))
        .create();
    admin.resource(Fixtures.deployment(NS, "older-worker", 3)).create();
    admin.resource(new RoleBuilder().withNewMetadata().withName("older-chart").withNamespace(NS).endMetadata()
        .addNewRule().withApiGroups("apps").withResources("deployments", "deployments/scale")
        .withResourceNames("older-worker").withVerbs("get", "patch", "update").endRule()
        .addNewRule().withApiGroups("").withResources("secrets").withResourceNames("older-db").withVerbs("get").endRule()
        .addNewRule().withApiGroups("queuepilot.io").withResources("queuescalers").withVerbs("get", "list", "watch").endRule()
        .addNewRule().withApiGroups("").withResources("events").withVerbs("create", "patch").endRule()
        .build()).create();
    QueueScaler qs = Fixtures.scaler(NS, "older", "older-worker", "older-db", "older_job");
    admin.resource(qs).create();
    MutableClock clock = new MutableClock();
    try (KubernetesClient older = bindAndImpersonate("older-chart", user);
        QueueConnections connections = new QueueConnections(io.queuepilot.queue.PostgresJobQueue::new);
        NotificationHub notifications = new NotificationHub(java.time.Duration.ofSeconds(1),
            java.time.Duration.ofMillis(500))) {
      QueueScalerReconciler reconciler = new QueueScalerReconciler(new SecretReader(older),
          new ScaleTargets(older, java.net.URI.create("http://127.0.0.1:1"), clock), connections, notifications,
          new KubernetesEventRecorder(older, clock), new ControllerMetrics(new SimpleMeterRegistry()), clock, () -> true);

      // T0: first look, the 300 s window not yet watched: holds 3. T0+20 s: idle over the 15 s
      // drain lookback, nothing ready or in flight → 0, withheld.
      QueueScalerStatus s = reconcileAsAdmin(reconciler, "older");
      assertThat(s.currentReplicas).isEqualTo(3);
      clock.advance(java.time.Duration.ofSeconds(20));
      s = reconcileAsAdmin(reconciler, "older");
      assertThat(admin.apps().deployments().inNamespace(NS).withName("older-worker").get().getSpec().getReplicas())
          .as("not scaled down blind").isEqualTo(3);
      assertThat(s.desiredReplicas).as(s.reason).isZero();
      Condition active = s.conditions.stream().filter(c -> "ScalingActive".equals(c.getType())).findFirst().orElseThrow();
      assertThat(active.getStatus()).isEqualTo("False");
      assertThat(active.getReason()).isEqualTo("ScaleDownWithheld");
      assertThat(active.getMessage())
          .startsWith("not scaling down from 3 to 0: could not list the pods of deployment rbac-it/older-worker "
              + "(HTTP 403 Forbidden: pods is forbidden: User \"" + user + "\" cannot list resource \"pods\"")
          .contains("the controller needs pods get/list/patch in this namespace")
          .endsWith("; keeping 3 replicas");
      assertNoDump(active.getMessage());
      Condition ready = s.conditions.stream().filter(c -> "Ready".equals(c.getType())).findFirst().orElseThrow();
      assertThat(ready.getStatus()).isEqualTo("False");
      assertThat(ready.getReason()).isEqualTo("ScaleDownWithheld");

      clock.advance(java.time.Duration.ofSeconds(5));
      reconcileAsAdmin(reconciler, "older");
      var withheld = admin.v1().events().inNamespace(NS).list().getItems().stream()
          .filter(e -> "older".equals(e.getInvolvedObject().getName()) && "ScaleDownWithheld".equals(e.getReason()))
          .toList();
      assertThat(withheld).as("one Event per transition, not per cycle").hasSize(1);
      assertThat(withheld.get(0).getType()).isEqualTo("Warning");
      assertThat(withheld.get(0).getMessage()).contains("pods get/list/patch");
    }
  }

  /** One reconcile as JOSDK runs it, the status written back by the admin (the Role under test has no status rule). */
  private static QueueScalerStatus reconcileAsAdmin(QueueScalerReconciler reconciler, String name) {
    QueueScaler current = admin.resources(QueueScaler.class).inNamespace(NS).withName(name).get();
    QueueScaler next = reconciler.reconcile(current, null).getResource().orElseThrow();
    return admin.resources(QueueScaler.class).inNamespace(NS).resource(next).updateStatus().getStatus();
  }

  @AfterAll
  static void stop() {
    if (limited != null) limited.close();
    if (admin != null) admin.close();
    if (apiServer != null) apiServer.stop();
  }

  @Test
  void aDeploymentOutsideTheRolesNamesIsForbiddenNotNotFound() throws Exception {
    assertThat(new KubernetesDeploymentScaleTarget(limited, NS, "allowed-worker").currentReplicas()).isEqualTo(1);

    ScaleTargetException outside = read(new KubernetesDeploymentScaleTarget(limited, NS, "outside-worker"));
    assertThat(outside.kind()).isEqualTo(ScaleTargetException.Kind.FORBIDDEN);
    assertThat(outside.getMessage())
        .startsWith("the controller may not read deployment rbac-it/outside-worker (HTTP 403 Forbidden: "
            + "deployments.apps \"outside-worker\" is forbidden: User \"" + USER + "\" cannot get resource")
        .endsWith("; if it exists, add it to the Role's resourceNames (chart value rbac.extraTargetDeployments)");
    assertNoDump(outside.getMessage());

    ScaleTargetException missing = read(new KubernetesDeploymentScaleTarget(limited, NS, "missing-worker"));
    assertThat(missing.kind()).isEqualTo(ScaleTargetException.Kind.NOT_FOUND);
    assertThat(missing.getMessage()).isEqualTo("deployment rbac-it/missing-worker not found (HTTP 404)");

    assertThatThrownBy(() -> new KubernetesDeploymentScaleTarget(limited, NS, "outside-worker").scale(3))
        .isInstanceOfSatisfying(ScaleTargetException.class, e -> {
          assertThat(e.kind()).isEqualTo(ScaleTargetException.Kind.FORBIDDEN);
          assertThat(e.getMessage()).contains("may not scale deployment rbac-it/outside-worker (HTTP 403 Forbidden");
          assertNoDump(e.getMessage());
        });
    assertThat(admin.apps().deployments().inNamespace(NS).withName("outside-worker").get().getSpec().getReplicas())
        .isEqualTo(1);
  }

  /**
   * A Role without the chart's pods rule (an older chart, hand-written RBAC): the controller
   * cannot mark idle pods, so it does not scale down at all and says which rule is missing.
   */
  @Test
  void withoutPodsPermissionAScaleDownIsRefusedNamingTheRule() {
    io.queuepilot.queue.WorkerOccupancy everyPodIdle = (pods, timeout) -> {
      java.util.Map<String, Integer> idle = new java.util.LinkedHashMap<>();
      pods.forEach(p -> idle.put(p, 0));
      return idle;
    };
    KubernetesDeploymentScaleTarget target = new KubernetesDeploymentScaleTarget(limited, NS, "allowed-worker",
        "allowed", new io.queuepilot.controller.target.PodDeletionCosts(limited, everyPodIdle, java.time.Duration.ofSeconds(60)),
        new io.queuepilot.controller.target.DeletionCostSettling(java.time.Clock.systemUTC()));
    admin.apps().deployments().inNamespace(NS).withName("allowed-worker").scale(3);

    assertThatThrownBy(() -> target.scale(1)).isInstanceOfSatisfying(ScaleTargetException.class, e -> {
      assertThat(e.kind()).isEqualTo(ScaleTargetException.Kind.FORBIDDEN);
      assertThat(e.getMessage()).startsWith("not scaling down from 3 to 1: could not list the pods of deployment "
          + "rbac-it/allowed-worker (HTTP 403 "
          + "Forbidden: pods is forbidden: User \"" + USER + "\" cannot list resource \"pods\"")
          .contains("the controller needs pods get/list/patch in this namespace");
      assertNoDump(e.getMessage());
    });
    assertThat(admin.apps().deployments().inNamespace(NS).withName("allowed-worker").get().getSpec().getReplicas())
        .as("not scaled down blind").isEqualTo(3);
    admin.apps().deployments().inNamespace(NS).withName("allowed-worker").scale(1);
  }

  @Test
  void theConditionsAndEventsOfARefusedScalerNameThePermissionProblem() {
    DatabaseConfigException secret = null;
    try {
      new SecretReader(limited).database(NS, "queuepilot-db");
    } catch (DatabaseConfigException e) {
      secret = e;
    }
    assertThat(secret).isNotNull();
    assertThat(secret.isForbidden()).isTrue();
    assertThat(secret.getMessage()).startsWith("the controller may not read secret rbac-it/queuepilot-db (HTTP 403 "
        + "Forbidden: secrets \"queuepilot-db\" is forbidden: User \"" + USER + "\" cannot get resource \"secrets\"");
    assertNoDump(secret.getMessage());

    QueueScaler qs = Fixtures.scaler(NS, "refused", "outside-worker", "queuepilot-db", "rbac_job");
    KubernetesDeploymentScaleTarget target = new KubernetesDeploymentScaleTarget(limited, NS, "outside-worker");
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    CycleOutcome o = Scaler.builder(NS + "/refused").spec(SpecMapping.toPolicySpec(qs.getSpec()))
        .queue(QueueObserver.unavailable(secret.getMessage())).target(target).history(ScalingHistoryStore.inMemory())
        .clock(java.time.Clock.fixed(now, java.time.ZoneOffset.UTC)).build().runOnce();
    StatusUpdate.Result r = StatusUpdate.next(null, o, target.describe(), 1L, now, secret.isForbidden());

    assertThat(condition(r, "TargetFound").getReason()).isEqualTo("TargetForbidden");
    assertThat(condition(r, "DatabaseReachable").getReason()).isEqualTo("SecretForbidden");
    assertThat(condition(r, "ScalingActive").getReason()).isEqualTo("TargetForbidden");
    assertThat(condition(r, "Ready").getStatus()).isEqualTo("False");
    assertThat(condition(r, "Ready").getReason()).isIn("SecretForbidden", "TargetForbidden");
    assertThat(r.events()).extracting(StatusUpdate.PendingEvent::reason)
        .contains("TargetForbidden", "SecretForbidden").doesNotContain("DatabaseUnavailable", "TargetNotFound");
    for (Condition c : r.status().conditions) {
      assertThat(c.getReason()).matches("[A-Z][A-Za-z]+");
      assertNoDump(c.getMessage());
    }
    r.events().forEach(e -> assertNoDump(e.message()));
  }

  static ScaleTargetException read(KubernetesDeploymentScaleTarget t) {
    try {
      t.currentReplicas();
    } catch (ScaleTargetException e) {
      return e;
    }
    throw new AssertionError("expected " + t.describe() + " to be refused");
  }

  static Condition condition(StatusUpdate.Result r, String type) {
    return r.status().conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElseThrow();
  }

  static void assertNoDump(String message) {
    assertThat(message).doesNotContain("Status(").doesNotContain("additionalProperties").doesNotContain("Failure executing")
        .doesNotContain("https://").doesNotContain("\n");
  }

}
