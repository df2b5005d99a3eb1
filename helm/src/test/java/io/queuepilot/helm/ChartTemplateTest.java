package io.queuepilot.helm;

import static io.queuepilot.helm.ChartRenderer.chart;
import static io.queuepilot.helm.ChartRenderer.env;
import static io.queuepilot.helm.ChartRenderer.onlyContainer;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.queuepilot.helm.ChartRenderer.Manifests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** `helm lint` and `helm template` of the chart over several values files, with assertions on the objects. */
class ChartTemplateTest {

  private static final String PROMETHEUS_RULE_API = "monitoring.coreos.com/v1/PrometheusRule";
  private static final String WORKER = "qp-queuepilot-worker";
  private static final String CONTROLLER = "qp-queuepilot-controller";

  @ParameterizedTest
  @ValueSource(strings = {"production-values.yaml", "local-values.yaml"})
  void lintPassesForEveryValuesFile(String valuesFile) {
    Tools.Result lint = Tools.run(Duration.ofMinutes(2), Map.of(), Tools.command(Tools.helm(), "lint", "--strict",
        Tools.chartDir().toString(), "-f", ChartRenderer.ciValues(valuesFile).toString()));

    assertThat(lint.exitCode()).as(lint.stdout() + lint.stderr()).isZero();
    assertThat(lint.stdout()).contains("1 chart(s) linted, 0 chart(s) failed");
  }

  @Test
  void defaultValuesNameTheOneValueAnOperatorMustSupply() {
    Tools.Result result = chart().run();

    assertThat(result.exitCode()).isNotZero();
    assertThat(result.stderr()).contains("supabase.url is required when worker.store=supabase");
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', value = {
      "worker.concurrency|0|at '/worker/concurrency': minimum: got 0, want 1",
      "worker.processor|gpt|at '/worker/processor'",
      "worker.procesor|openai|additional properties 'procesor' not allowed",
      "logFormat|xml|at '/logFormat'",
      "worker.networkPolicy.databaseCIDRs[0]|db.internal|at '/worker/networkPolicy/databaseCIDRs/0'",
      "queueScaler.minReplicas|-1|at '/queueScaler/minReplicas'",
      "database.existingSecret|''|at '/database/existingSecret'",
      "metrics.prometheusRule.errorRatioThreshold|2|at '/metrics/prometheusRule/errorRatioThreshold'",
      "worker.gracePeriodSeconds|120|worker.terminationGracePeriodSeconds (90) must be greater than worker.gracePeriodSeconds (120)",
      "queueScaler.minReplicas|30|queueScaler.minReplicas (30) must not exceed queueScaler.maxReplicas (20)",
      "controller.leaderElection|false|controller.leaderElection must be true when controller.replicaCount > 1",
      "openai.existingSecret|''|openai.existingSecret is required when worker.processor=openai",
      "queueScaler.tokenBudget.name|OpenAI Tier 5|at '/queueScaler/tokenBudget/name'",
  })
  void wrongValuesAreRefusedWithAMessageNamingTheKey(String key, String value, String message) {
    Tools.Result result = chart().values("production-values.yaml").set(key, value).run();

    assertThat(result.exitCode()).as(result.stdout()).isNotZero();
    assertThat(result.stderr()).contains(message);
  }

  @Test
  void workerDeploymentLeavesReplicasToTheControllerAndIsHardened() {
    Manifests m = chart().values("production-values.yaml").render();
    JsonNode worker = m.get("Deployment", WORKER);
    JsonNode pod = worker.path("spec").path("template").path("spec");
    JsonNode container = onlyContainer(worker);

    assertThat(worker.path("spec").has("replicas")).as("the controller owns spec.replicas").isFalse();
    assertHardened(pod, container);
    assertThat(pod.path("automountServiceAccountToken").asBoolean(true)).isFalse();
    assertThat(pod.path("serviceAccountName").asText()).isEqualTo(WORKER);

    assertThat(container.path("livenessProbe").path("httpGet").path("path").asText()).isEqualTo("/healthz");
    assertThat(container.path("readinessProbe").path("httpGet").path("path").asText()).isEqualTo("/readyz");
    assertThat(container.path("ports").get(0).path("containerPort").asInt()).isEqualTo(8080);
    assertThat(container.path("livenessProbe").path("httpGet").path("port").asText()).isEqualTo("http");

    Map<String, JsonNode> env = env(container);
    int grace = Integer.parseInt(env.get("QUEUEPILOT_GRACE_PERIOD_SECONDS").path("value").asText());
    assertThat(pod.path("terminationGracePeriodSeconds").asInt()).isGreaterThan(grace);
    assertThat(env.get("QUEUEPILOT_HTTP_PORT").path("value").asText()).isEqualTo("8080");
    assertThat(env.get("QUEUEPILOT_CONCURRENCY").path("value").asText()).isEqualTo("8");
    assertThat(env.get("QUEUEPILOT_LANES").path("value").asText()).isEqualTo("ai,default");
    assertThat(env.get("QUEUEPILOT_JOB_TYPES").path("value").asText()).isEqualTo("document_extraction");
    assertThat(env.get("QUEUEPILOT_DB_PREPARED_STATEMENTS").path("value").asText()).isEqualTo("false");
    assertThat(env.get("POD_NAME").path("valueFrom").path("fieldRef").path("fieldPath").asText()).isEqualTo("metadata.name");
    assertThat(env.keySet()).containsAll(ProcessEnvironment.WORKER_REQUIRED_PRODUCTION);
    assertThat(env.keySet()).allSatisfy(name ->
        assertThat(ProcessEnvironment.WORKER.contains(name) || ProcessEnvironment.PLATFORM.contains(name))
            .as("%s is not read by the worker (BRIEF.md)", name).isTrue());

    // the writable store directory is an emptyDir, since the root filesystem is read-only
    String storeDir = env.get("QUEUEPILOT_STORE_DIR").path("value").asText();
    assertThat(StreamSupport.stream(container.path("volumeMounts").spliterator(), false)
        .map(v -> v.path("mountPath").asText())).contains(storeDir, "/tmp");
  }

  @Test
  void controllerRunsTwoReplicasWithLeaderElection() {
    Manifests m = chart().values("production-values.yaml").render();
    JsonNode controller = m.get("Deployment", CONTROLLER);
    JsonNode pod = controller.path("spec").path("template").path("spec");
    JsonNode container = onlyContainer(controller);
    Map<String, JsonNode> env = env(container);

    assertThat(controller.path("spec").path("replicas").asInt()).isEqualTo(2);
    assertThat(env.get("QUEUEPILOT_LEADER_ELECTION").path("value").asText()).isEqualTo("true");
    assertThat(env.get("QUEUEPILOT_CONTROLLER_MODE").path("value").asText()).isEqualTo("kubernetes");
    assertThat(env.get("POD_NAMESPACE").path("valueFrom").path("fieldRef").path("fieldPath").asText())
        .isEqualTo("metadata.namespace");
    assertThat(env.get("QUEUEPILOT_HTTP_PORT").path("value").asText()).isEqualTo("8081");
    assertThat(env.keySet()).allSatisfy(name ->
        assertThat(ProcessEnvironment.CONTROLLER.contains(name) || ProcessEnvironment.PLATFORM.contains(name))
            .as("%s is not read by the controller (BRIEF.md)", name).isTrue());
    assertThat(pod.path("serviceAccountName").asText()).isEqualTo(CONTROLLER);
    assertHardened(pod, container);

    JsonNode pdb = m.get("PodDisruptionBudget", CONTROLLER);
    assertThat(pdb.path("spec").path("minAvailable").asInt()).isEqualTo(1);
    assertThat(pdb.path("spec").path("selector").path("matchLabels"))
        .isEqualTo(controller.path("spec").path("selector").path("matchLabels"));
    assertThat(m.get("PodDisruptionBudget", WORKER).path("spec").path("maxUnavailable").asInt()).isEqualTo(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"production-values.yaml", "local-values.yaml"})
  void secretsComeOnlyFromExistingSecretsByName(String valuesFile) {
    Manifests m = chart().values(valuesFile).apiVersion(PROMETHEUS_RULE_API).render();

    assertThat(m.ofKind("Secret")).as("the chart never creates a Secret").isEmpty();
    for (JsonNode deployment : m.ofKind("Deployment")) {
      env(onlyContainer(deployment)).forEach((name, entry) -> {
        if (ProcessEnvironment.SECRETS.contains(name)) {
          assertThat(entry.has("value")).as("%s must not be a literal", name).isFalse();
          assertThat(entry.path("valueFrom").path("secretKeyRef").path("name").asText()).as(name).isNotBlank();
        }
      });
    }
    Set<String> literalValues = new HashSet<>();
    m.ofKind("ConfigMap").forEach(cm -> cm.path("data").forEach(v -> literalValues.add(v.asText())));
    assertThat(String.join("\n", literalValues)).doesNotContainIgnoringCase("password")
        .doesNotContain("service-role-key").doesNotContain("jdbc:");
  }

  @Test
  void secretReferencesPointAtTheConfiguredSecretsAndKeys() {
    Manifests m = chart().values("production-values.yaml").render();
    Map<String, JsonNode> env = env(onlyContainer(m.get("Deployment", WORKER)));

    assertThat(secretRef(env, "QUEUEPILOT_DB_URL")).isEqualTo("queuepilot-db/url");
    assertThat(secretRef(env, "QUEUEPILOT_DB_USER")).isEqualTo("queuepilot-db/username");
    assertThat(secretRef(env, "QUEUEPILOT_DB_PASSWORD")).isEqualTo("queuepilot-db/password");
    assertThat(secretRef(env, "QUEUEPILOT_DB_LISTEN_URL")).isEqualTo("queuepilot-db/listen-url");
    assertThat(secretRef(env, "OPENAI_API_KEY")).isEqualTo("queuepilot-openai/api-key");
    assertThat(secretRef(env, "SUPABASE_SERVICE_ROLE_KEY")).isEqualTo("queuepilot-supabase/service-role-key");
    assertThat(env.get("SUPABASE_URL").path("value").asText()).isEqualTo("https://abcdefghijklmnop.supabase.co");
  }

  @Test
  void localModeNeedsNoExternalSecretsOrEndpoints() {
    Manifests m = chart().values("local-values.yaml").render();
    Map<String, JsonNode> env = env(onlyContainer(m.get("Deployment", WORKER)));

    assertThat(env.get("QUEUEPILOT_PROCESSOR").path("value").asText()).isEqualTo("local");
    assertThat(env.get("QUEUEPILOT_STORE").path("value").asText()).isEqualTo("local");
    assertThat(env).doesNotContainKeys("OPENAI_API_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_URL",
        "QUEUEPILOT_DB_LISTEN_URL");
    assertThat(m.ofKind("NetworkPolicy")).isEmpty();
    assertThat(m.ofKind("PrometheusRule")).isEmpty();
    assertThat(m.ofKind("ServiceMonitor")).isEmpty();
    assertThat(m.ofKind("ConfigMap")).isEmpty();
    assertThat(m.get("Deployment", CONTROLLER).path("spec").path("replicas").asInt()).isEqualTo(1);
  }

  @Test
  void controllerRoleIsLeastPrivilege() {
    Manifests m = chart().values("production-values.yaml").render();

    assertThat(m.ofKind("ClusterRole")).isEmpty();
    assertThat(m.ofKind("ClusterRoleBinding")).isEmpty();
    JsonNode role = m.get("Role", CONTROLLER);
    List<String> rules = new ArrayList<>();
    for (JsonNode rule : role.path("rules")) {
      for (JsonNode group : rule.path("apiGroups")) {
        for (JsonNode resource : rule.path("resources")) {
          rules.add(group.asText() + "|" + resource.asText() + "|" + texts(rule.path("verbs"))
              + "|" + texts(rule.path("resourceNames")));
        }
      }
    }
    assertThat(rules).containsExactlyInAnyOrder(
        "apps|deployments|[get]|[qp-queuepilot-worker, queuepilot-worker-batch]",
        "apps|deployments/scale|[get, patch, update]|[qp-queuepilot-worker, queuepilot-worker-batch]",
        "|pods|[get, list, patch]|[]",
        "|secrets|[get]|[queuepilot-controller-db, queuepilot-render-api-key]",
        "|events|[create, patch]|[]",
        "events.k8s.io|events|[create, patch]|[]",
        "coordination.k8s.io|leases|[create]|[]",
        "coordination.k8s.io|leases|[get, update, patch]|[queuepilot-controller]",
        "queuepilot.io|queuescalers|[get, list, watch]|[]",
        "queuepilot.io|queuescalers/status|[patch, update]|[]",
        "autoscaling|horizontalpodautoscalers|[get, list, watch]|[]",
        "keda.sh|scaledobjects|[get, list, watch]|[]");

    JsonNode binding = m.get("RoleBinding", CONTROLLER);
    assertThat(binding.path("roleRef").path("name").asText()).isEqualTo(CONTROLLER);
    assertThat(binding.path("subjects").get(0).path("name").asText()).isEqualTo(CONTROLLER);
    assertThat(binding.path("subjects").get(0).path("namespace").asText()).isEqualTo("queuepilot");
  }

  @Test
  void autoscalerDetectionCanBeSwitchedOff() {
    Manifests m = chart().values("production-values.yaml").set("rbac.detectConflictingAutoscalers", "false").render();

    assertThat(m.get("Role", CONTROLLER).path("rules")).hasSize(9);
    assertThat(m.get("Role", CONTROLLER).toString()).doesNotContain("horizontalpodautoscalers", "keda.sh");
  }

  @Test
  void workerNetworkPolicyAllowsOnlyDnsAndTheConfiguredEndpoints() {
    Manifests m = chart().values("production-values.yaml").render();
    JsonNode policy = m.get("NetworkPolicy", WORKER);

    assertThat(texts(policy.path("spec").path("policyTypes"))).isEqualTo("[Ingress, Egress]");
    assertThat(policy.path("spec").path("podSelector").path("matchLabels"))
        .isEqualTo(m.get("Deployment", WORKER).path("spec").path("selector").path("matchLabels"));
    List<String> egress = new ArrayList<>();
    for (JsonNode rule : policy.path("spec").path("egress")) {
      assertThat(rule.path("to").isEmpty()).as("an egress rule without `to` allows every destination").isFalse();
      List<String> ports = new ArrayList<>();
      rule.path("ports").forEach(p -> ports.add(p.path("protocol").asText() + "/" + p.path("port").asText()));
      rule.path("to").forEach(to -> egress.add(
          (to.has("ipBlock") ? to.path("ipBlock").path("cidr").asText() : "ns:" + to.path("namespaceSelector")
              .path("matchLabels").path("kubernetes.io/metadata.name").asText()) + " " + ports));
    }
    assertThat(egress).containsExactlyInAnyOrder(
        "ns:kube-system [UDP/53, TCP/53]",
        "10.20.0.5/32 [TCP/5432, TCP/6543]",
        "10.20.0.6/32 [TCP/5432, TCP/6543]",
        "104.18.0.0/20 [TCP/443]",
        "162.159.140.0/24 [TCP/443]");
    assertThat(policy.path("spec").path("ingress")).hasSize(1);
    assertThat(policy.path("spec").path("ingress").get(0).path("from").isMissingNode()).isTrue();
    assertThat(policy.path("spec").path("ingress").get(0).path("ports").get(0).path("port").asInt()).isEqualTo(8080);
  }

  @Test
  void prometheusRuleCarriesTheSloAlertsWhenTheApiExists() {
    assertThat(chart().values("production-values.yaml").render().ofKind("PrometheusRule"))
        .as("not rendered where the Prometheus Operator is absent").isEmpty();

    Manifests m = chart().values("production-values.yaml").apiVersion(PROMETHEUS_RULE_API).render();
    JsonNode rule = m.get("PrometheusRule", "qp-queuepilot");
    assertThat(rule.path("metadata").path("labels").path("release").asText()).isEqualTo("kube-prometheus-stack");
    Map<String, JsonNode> alerts = new java.util.HashMap<>();
    Map<String, JsonNode> records = new java.util.HashMap<>();
    rule.path("spec").path("groups").forEach(g -> g.path("rules").forEach(r -> {
      if (r.has("alert")) {
        alerts.put(r.path("alert").asText(), r);
      } else {
        records.put(r.path("record").asText(), r);
      }
    }));

    assertThat(alerts.keySet()).containsExactlyInAnyOrder("QueuePilotWorkerDown", "QueuePilotControllerDown",
        "QueuePilotControllerNotLeading", "QueuePilotQueueBacklog", "QueuePilotQueueAge", "QueuePilotHighErrorRate",
        "QueuePilotTokenBudgetSaturated", "QueuePilotFastJobLatencySLO", "QueuePilotAiJobLatencySLO",
        "QueuePilotSuccessRateSLOFastBurn", "QueuePilotSuccessRateSLOSlowBurn",
        "QueuePilotDeadLetterRateSLOFastBurn", "QueuePilotDeadLetterRateSLOSlowBurn",
        "QueuePilotModelQuotaExhausted", "QueuePilotModelProviderRejectsWorker");
    // the windows of the SRE workbook's multi-window multi-burn-rate alerts
    assertThat(records.keySet()).containsExactlyInAnyOrder("queuepilot:job_dead_letter_ratio:rate5m",
        "queuepilot:job_dead_letter_ratio:rate30m", "queuepilot:job_dead_letter_ratio:rate1h",
        "queuepilot:job_dead_letter_ratio:rate6h");
    records.values().forEach(r -> assertThat(r.path("labels").path("namespace").asText()).isEqualTo("queuepilot"));
    // 3 failed health checks at a 30 s scrape interval
    assertThat(alerts.get("QueuePilotWorkerDown").path("expr").asText())
        .contains("up{namespace=\"queuepilot\", service=\"qp-queuepilot-worker\"} == 0");
    assertThat(alerts.get("QueuePilotWorkerDown").path("for").asText()).isEqualTo("90s");
    assertThat(alerts.get("QueuePilotQueueBacklog").path("expr").asText()).endsWith("> 1000");
    assertThat(alerts.get("QueuePilotHighErrorRate").path("expr").asText())
        .startsWith("(sum(rate(queuepilot_worker_jobs_failed_total{namespace=\"queuepilot\"}[5m])) or vector(0)) / (")
        .endsWith("> 0.1");
    assertThat(alerts.get("QueuePilotQueueAge").path("expr").asText())
        .contains("queuepilot_queue_oldest_ready_age_seconds{namespace=\"queuepilot\"}").endsWith("> 600");
    assertThat(alerts.get("QueuePilotQueueBacklog").path("expr").asText())
        .contains("queuepilot_queue_jobs{namespace=\"queuepilot\", state=\"ready\"}");
    assertThat(alerts.get("QueuePilotTokenBudgetSaturated").path("expr").asText())
        .contains("queuepilot_scaler_limited_by{namespace=\"queuepilot\", reason=\"tokenBudget\"}");
    assertThat(alerts.get("QueuePilotControllerNotLeading").path("expr").asText())
        .contains("max(queuepilot_controller_leader{namespace=\"queuepilot\"}) < 1")
        .contains("absent(queuepilot_controller_leader{namespace=\"queuepilot\"})");
    assertThat(alerts.get("QueuePilotFastJobLatencySLO").path("expr").asText())
        .contains("job_type!~\"document_extraction\"").endsWith("> 120");
    assertThat(alerts.get("QueuePilotAiJobLatencySLO").path("expr").asText())
        .contains("job_type=~\"document_extraction\"").endsWith("> 600");
    assertThat(alerts.get("QueuePilotSuccessRateSLOFastBurn").path("expr").asText())
        .contains("rate1h{namespace=\"queuepilot\"} > (14.4 * 0.005) and").contains("rate5m{namespace=\"queuepilot\"} > (14.4 * 0.005)");
    assertThat(alerts.get("QueuePilotSuccessRateSLOSlowBurn").path("expr").asText())
        .contains("rate6h{namespace=\"queuepilot\"} > (6 * 0.005) and").contains("rate30m{namespace=\"queuepilot\"} > (6 * 0.005)");
    assertThat(alerts.get("QueuePilotDeadLetterRateSLOFastBurn").path("expr").asText()).contains("> (14.4 * 0.001)");
    assertThat(alerts.get("QueuePilotDeadLetterRateSLOSlowBurn").path("expr").asText()).contains("> (6 * 0.001)");
    alerts.values().forEach(a -> {
      assertThat(a.path("labels").path("severity").asText()).isIn("critical", "warning");
      assertThat(a.path("annotations").path("runbook_url").asText()).contains("docs/runbook.md#");
    });

    Tools.Result thresholds = chart().values("production-values.yaml").apiVersion(PROMETHEUS_RULE_API)
        .set("metrics.prometheusRule.readyJobsThreshold", "250").set("metrics.prometheusRule.scrapeIntervalSeconds", "15")
        .run().requireSuccess();
    assertThat(thresholds.stdout()).contains("> 250").contains("for: 45s");
  }

  @Test
  void serviceMonitorsScrapeBothComponentsWhenEnabled() {
    Manifests m = chart().values("production-values.yaml").render();

    assertThat(m.ofKind("ServiceMonitor")).hasSize(2);
    for (String component : List.of("worker", "controller")) {
      JsonNode monitor = m.get("ServiceMonitor", "qp-queuepilot-" + component);
      JsonNode service = m.get("Service", "qp-queuepilot-" + component);
      assertThat(monitor.path("spec").path("selector").path("matchLabels").path("app.kubernetes.io/component").asText())
          .isEqualTo(component);
      assertThat(service.path("metadata").path("labels").path("app.kubernetes.io/component").asText()).isEqualTo(component);
      assertThat(monitor.path("spec").path("endpoints").get(0).path("port").asText())
          .isEqualTo(service.path("spec").path("ports").get(0).path("name").asText());
      assertThat(monitor.path("metadata").path("labels").path("release").asText()).isEqualTo("kube-prometheus-stack");
    }
    assertThat(chart().values("production-values.yaml").set("metrics.serviceMonitor.enabled", "false").render()
        .ofKind("ServiceMonitor")).isEmpty();
  }

  @Test
  void dashboardIsValidJsonOverTheSameMetricsAsTheAlerts() {
    Manifests m = chart().values("production-values.yaml").apiVersion(PROMETHEUS_RULE_API).render();
    JsonNode configMap = m.get("ConfigMap", "qp-queuepilot-dashboard");
    assertThat(configMap.path("metadata").path("labels").path("grafana_dashboard").asText()).isEqualTo("1");
    JsonNode dashboard = ChartRenderer.readJson(configMap.path("data").path("queuepilot.json").asText());

    assertThat(dashboard.path("uid").asText()).isEqualTo("queuepilot");
    Set<String> dashboardMetrics = new HashSet<>();
    dashboard.path("panels").forEach(p -> p.path("targets").forEach(t -> dashboardMetrics.addAll(metrics(t.path("expr").asText()))));
    Set<String> alertMetrics = new HashSet<>();
    m.get("PrometheusRule", "qp-queuepilot").path("spec").path("groups")
        .forEach(g -> g.path("rules").forEach(r -> alertMetrics.addAll(metrics(r.path("expr").asText()))));

    assertThat(dashboard.path("panels")).hasSizeGreaterThanOrEqualTo(8);
    alertMetrics.remove("up");
    assertThat(dashboardMetrics).containsAll(alertMetrics);
  }

  @Test
  void defaultQueueScalerTargetsTheChartsWorkerDeployment() {
    Manifests m = chart().values("production-values.yaml")
        .set("queueScaler.extraSpec.tokenBudget.expectedJobSeconds", "90").render();
    JsonNode scaler = m.get("QueueScaler", WORKER);
    JsonNode spec = scaler.path("spec");

    assertThat(scaler.path("apiVersion").asText()).startsWith("queuepilot.io/");
    assertThat(spec.path("scaleTargetRef").path("kind").asText()).isEqualTo("Deployment");
    assertThat(spec.path("scaleTargetRef").path("name").asText()).isEqualTo(WORKER);
    assertThat(spec.path("databaseSecretRef").path("name").asText())
        .as("the controller's own login, not the workers' Secret").isEqualTo("queuepilot-controller-db");
    assertThat(spec.path("maxReplicas").asInt()).isEqualTo(20);
    assertThat(spec.path("minReplicas").asInt()).isZero();
    assertThat(spec.path("concurrencyPerReplica").asInt()).isEqualTo(8);
    assertThat(spec.path("tokenBudget").path("tokensPerMinute").asLong()).isEqualTo(2_000_000L);
    assertThat(spec.path("tokenBudget").path("requestsPerMinute").asLong()).isEqualTo(5000L);
    assertThat(spec.path("tokenBudget").path("tokensPerJob").asInt()).as("0 = observed").isZero();
    assertThat(spec.path("tokenBudget").path("expectedJobSeconds").asInt()).isEqualTo(90);
    assertThat(spec.path("scaleDown").path("periodSeconds").asInt()).isEqualTo(15);
    assertThat(texts(spec.path("lanes"))).isEqualTo("[ai, default]");
    assertThat(chart().values("production-values.yaml").set("queueScaler.enabled", "false").render()
        .ofKind("QueueScaler")).isEmpty();
  }

  /**
   * The QueueScaler names the shared budget the workers reserve from (spec.tokenBudget.name), by
   * default the workers' own default, openai; one value sets both, so they cannot name different
   * rows; an empty name renders neither (only the fallback numbers cap).
   */
  @Test
  void theQueueScalerNamesTheBudgetTheWorkersReserveFrom() {
    Manifests m = chart().values("production-values.yaml").render();
    assertThat(m.get("QueueScaler", WORKER).path("spec").path("tokenBudget").path("name").asText()).isEqualTo("openai");
    assertThat(env(onlyContainer(m.get("Deployment", WORKER))).get("QUEUEPILOT_TOKEN_BUDGET").path("value").asText())
        .isEqualTo("openai");

    Manifests named = chart().values("production-values.yaml").set("queueScaler.tokenBudget.name", "openai-tier5").render();
    assertThat(named.get("QueueScaler", WORKER).path("spec").path("tokenBudget").path("name").asText())
        .isEqualTo("openai-tier5");
    assertThat(env(onlyContainer(named.get("Deployment", WORKER))).get("QUEUEPILOT_TOKEN_BUDGET").path("value").asText())
        .isEqualTo("openai-tier5");
    assertThat(named.get("QueueScaler", WORKER).path("spec").path("tokenBudget").path("tokensPerMinute").asLong())
        .as("the fallback numbers stay").isEqualTo(2_000_000L);

    Manifests unnamed = chart().values("production-values.yaml").set("queueScaler.tokenBudget.name", "").render();
    assertThat(unnamed.get("QueueScaler", WORKER).path("spec").path("tokenBudget").has("name")).isFalse();
    assertThat(env(onlyContainer(unnamed.get("Deployment", WORKER)))).doesNotContainKey("QUEUEPILOT_TOKEN_BUDGET");
  }

  @Test
  void defaultImagesAreTheOnesTheDockerfilesBuild() {
    Manifests m = chart().values("production-values.yaml").render();

    assertThat(onlyContainer(m.get("Deployment", WORKER)).path("image").asText())
        .isEqualTo("ghcr.io/queuepilot/queuepilot-worker:0.1.0");
    assertThat(onlyContainer(m.get("Deployment", CONTROLLER)).path("image").asText())
        .isEqualTo("ghcr.io/queuepilot/queuepilot-controller:0.1.0");
  }

  private static void assertHardened(JsonNode pod, JsonNode container) {
    assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(pod.path("securityContext").path("runAsUser").asInt()).isPositive();
    JsonNode sc = container.path("securityContext");
    assertThat(sc.path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(sc.path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
    assertThat(texts(sc.path("capabilities").path("drop"))).isEqualTo("[ALL]");
    assertThat(sc.path("capabilities").has("add")).isFalse();
    for (String kind : List.of("requests", "limits")) {
      assertThat(container.path("resources").path(kind).path("cpu").asText()).as(kind).isNotBlank();
      assertThat(container.path("resources").path(kind).path("memory").asText()).as(kind).isNotBlank();
    }
  }

  private static String secretRef(Map<String, JsonNode> env, String name) {
    JsonNode ref = env.get(name).path("valueFrom").path("secretKeyRef");
    return ref.path("name").asText() + "/" + ref.path("key").asText();
  }

  static String texts(JsonNode array) {
    List<String> texts = new ArrayList<>();
    array.forEach(n -> texts.add(n.asText()));
    return texts.toString();
  }

  private static final Pattern METRIC = Pattern.compile("\\b(queuepilot_[a-z_]+|up)(?=[{\\[ )]|$)");

  private static Set<String> metrics(String expr) {
    Set<String> names = new HashSet<>();
    Matcher matcher = METRIC.matcher(expr);
    while (matcher.find()) {
      names.add(matcher.group(1).replaceAll("_bucket$", ""));
    }
    return names;
  }
}
