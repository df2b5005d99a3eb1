package io.queuepilot.controller.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleDownBehavior;
import io.queuepilot.controller.crd.ScaleUpBehavior;
import io.queuepilot.controller.crd.TokenBudget;
import io.queuepilot.scaling.ScalerDefaults;
import io.queuepilot.scaling.ScalerSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Spec validation names every error with its full spec path in one message; every place that
 * states a spec default (policy defaults, chart values, docs) agrees with {@link ScalerDefaults}.
 */
class SpecMappingTest {

  static final Path REPO = Path.of(System.getProperty("queuepilot.repoRoot", ".."));

  @Test
  void everyErrorIsReportedAtOnceWithItsFullSpecPath() {
    QueueScalerSpec s = new QueueScalerSpec();
    s.minReplicas = 5;
    s.maxReplicas = 2;
    s.concurrencyPerReplica = 0;
    s.pollIntervalSeconds = 0;
    s.scaleUp = new ScaleUpBehavior();
    s.scaleUp.maxStep = -1;
    s.scaleDown = new ScaleDownBehavior();
    s.scaleDown.maxStep = 0;
    s.scaleDown.periodSeconds = -3;
    s.tokenBudget = new TokenBudget();
    s.tokenBudget.tokensPerMinute = -10L;
    s.tokenBudget.expectedJobSeconds = 0.0;

    assertThatThrownBy(() -> SpecMapping.toPolicySpec(s))
        .isInstanceOf(InvalidSpecException.class)
        .hasMessage("8 errors in the spec: "
            + "spec.minReplicas must be less than or equal to spec.maxReplicas (min 5, max 2); "
            + "spec.concurrencyPerReplica must be at least 1, was 0; "
            + "spec.pollIntervalSeconds must be at least 1, was 0; "
            + "spec.scaleUp.maxStep must not be negative, was -1; "
            + "spec.scaleDown.maxStep must be at least 1, was 0; "
            + "spec.scaleDown.periodSeconds must not be negative, was -3; "
            + "spec.tokenBudget.tokensPerMinute must not be negative, was -10; "
            + "spec.tokenBudget.expectedJobSeconds must be positive, was 0.0");
  }

  @Test
  void oneErrorIsJustThatError() {
    QueueScalerSpec s = new QueueScalerSpec();
    s.scaleDown.maxStep = 0;
    assertThatThrownBy(() -> SpecMapping.toPolicySpec(s))
        .hasMessage("spec.scaleDown.maxStep must be at least 1, was 0");
  }

  @Test
  void anEmptySpecGetsTheDefaultsTheRecordsAndTheCrdDeclare() {
    QueueScalerSpec empty = new QueueScalerSpec();
    empty.scaleUp = null;
    empty.scaleDown = null;
    ScalerSpec p = SpecMapping.toPolicySpec(empty);
    assertThat(p.minReplicas()).isEqualTo(ScalerDefaults.MIN_REPLICAS);
    assertThat(p.maxReplicas()).isEqualTo(ScalerDefaults.MAX_REPLICAS);
    assertThat(p.concurrency()).isEqualTo(ScalerDefaults.CONCURRENCY_PER_REPLICA);
    assertThat(p.scaleUp()).isEqualTo(ScalerSpec.Behavior.SCALE_UP_DEFAULT);
    assertThat(p.scaleDown()).isEqualTo(ScalerSpec.Behavior.SCALE_DOWN_DEFAULT);
    assertThat(p.budget()).isEqualTo(ScalerSpec.Budget.NONE);
    assertThat(SpecMapping.heartbeatTimeout(empty).toSeconds()).isEqualTo(ScalerDefaults.HEARTBEAT_TIMEOUT_SECONDS);
    assertThat(SpecMapping.pollInterval(empty).toSeconds()).isEqualTo(ScalerDefaults.POLL_INTERVAL_SECONDS);
  }

  @Test
  void theChartsQueueScalerValuesAreTheSpecDefaults() throws Exception {
    JsonNode qs = new ObjectMapper(new YAMLFactory())
        .readTree(REPO.resolve("helm/queuepilot/values.yaml").toFile()).path("queueScaler");
    assertThat(qs.path("minReplicas").asInt()).isEqualTo(ScalerDefaults.MIN_REPLICAS);
    assertThat(qs.path("maxReplicas").asInt()).isEqualTo(ScalerDefaults.MAX_REPLICAS);
    assertThat(qs.path("pollIntervalSeconds").asInt()).isEqualTo(ScalerDefaults.POLL_INTERVAL_SECONDS);
    assertThat(qs.path("heartbeatTimeoutSeconds").asInt()).isEqualTo(ScalerDefaults.HEARTBEAT_TIMEOUT_SECONDS);
    assertThat(qs.path("scaleUp").path("stabilizationWindowSeconds").asInt())
        .isEqualTo(ScalerDefaults.SCALE_UP_STABILIZATION_WINDOW_SECONDS);
    assertThat(qs.path("scaleUp").path("maxStep").asInt()).isEqualTo(ScalerDefaults.SCALE_UP_MAX_STEP);
    assertThat(qs.path("scaleDown").path("stabilizationWindowSeconds").asInt())
        .isEqualTo(ScalerDefaults.SCALE_DOWN_STABILIZATION_WINDOW_SECONDS);
    // The one value the chart sets apart from the CRD default, and says so with the default's number.
    assertThat(qs.path("scaleDown").path("maxStep").asInt()).isLessThan(ScalerDefaults.SCALE_DOWN_MAX_STEP);
    assertThat(Files.readString(REPO.resolve("helm/queuepilot/values.yaml")))
        .contains("the chart steps more gently than the CRD default of " + ScalerDefaults.SCALE_DOWN_MAX_STEP + ".\n"
            + "    maxStep: " + qs.path("scaleDown").path("maxStep").asInt() + "\n");
    assertThat(qs.path("scaleDown").path("periodSeconds").asInt()).isEqualTo(ScalerDefaults.SCALE_DOWN_PERIOD_SECONDS);
  }

  @Test
  void theControllerDocsStateTheSpecDefaults() throws Exception {
    // | `field` | `default` | ... rows of the spec table in docs/controller.md
    Map<String, String> documented = new LinkedHashMap<>();
    Matcher m = Pattern.compile("(?m)^\\| `([a-zA-Z.]+)` \\| `([^`]+)` \\|")
        .matcher(Files.readString(REPO.resolve("docs/controller.md")));
    while (m.find()) documented.putIfAbsent(m.group(1), m.group(2));
    Map<String, String> expected = new LinkedHashMap<>();
    expected.put("minReplicas", "" + ScalerDefaults.MIN_REPLICAS);
    expected.put("maxReplicas", "" + ScalerDefaults.MAX_REPLICAS);
    expected.put("concurrencyPerReplica", "" + ScalerDefaults.CONCURRENCY_PER_REPLICA);
    expected.put("tokenBudget.requestsPerJob", "" + ScalerDefaults.REQUESTS_PER_JOB);
    expected.put("tokenBudget.expectedJobSeconds", "" + ScalerDefaults.EXPECTED_JOB_SECONDS);
    expected.put("heartbeatTimeoutSeconds", "" + ScalerDefaults.HEARTBEAT_TIMEOUT_SECONDS);
    expected.put("scaleUp.stabilizationWindowSeconds", "" + ScalerDefaults.SCALE_UP_STABILIZATION_WINDOW_SECONDS);
    expected.put("scaleDown.stabilizationWindowSeconds", "" + ScalerDefaults.SCALE_DOWN_STABILIZATION_WINDOW_SECONDS);
    expected.put("scaleDown.maxStep", "" + ScalerDefaults.SCALE_DOWN_MAX_STEP);
    expected.put("scaleDown.periodSeconds", "" + ScalerDefaults.SCALE_DOWN_PERIOD_SECONDS);
    expected.put("pollIntervalSeconds", "" + ScalerDefaults.POLL_INTERVAL_SECONDS);
    expected.put("paused", "" + ScalerDefaults.PAUSED);
    expected.forEach((field, value) -> assertThat(documented.get(field)).as("docs/controller.md default of " + field)
        .isEqualTo(value));
  }
}
