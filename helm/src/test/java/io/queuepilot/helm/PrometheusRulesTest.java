package io.queuepilot.helm;

import static io.queuepilot.helm.ChartRenderer.chart;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's PrometheusRule as Prometheus sees it: the rendered rule groups pass {@code promtool
 * check rules}, and {@code promtool test rules} (helm/src/test/resources/promtool/) replays input
 * series through them — among them "no job ever completed, failures rising", which must page.
 * promtool is built from its Go module by tools/promtool/prepare.sh.
 */
class PrometheusRulesTest {

  private static final String TEST_FILE = "queuepilot-rules.test.yml";
  private static Path dir;

  @BeforeAll
  static void renderRules() throws IOException {
    JsonNode rule = chart().values("production-values.yaml").apiVersion("monitoring.coreos.com/v1/PrometheusRule")
        .render().get("PrometheusRule", "qp-queuepilot");
    ObjectNode groups = ChartRenderer.YAML.createObjectNode();
    groups.set("groups", rule.path("spec").path("groups"));
    dir = Files.createDirectories(Path.of("target", "promtool"));
    ChartRenderer.YAML.writeValue(dir.resolve("rules.yml").toFile(), groups);
    try (InputStream tests = PrometheusRulesTest.class.getResourceAsStream("/promtool/" + TEST_FILE)) {
      Files.copy(tests, dir.resolve(TEST_FILE), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static Tools.Result promtool(String... args) {
    return Tools.run(Duration.ofMinutes(2), Map.of(),
        Tools.command(Tools.tool("promtool"), args).stream().toList());
  }

  /**
   * Workers scaled to zero: only the controller's series exist. Every panel keeps a query that
   * answers without a worker: the worker-metric totals fall back to 0 rather than "No data"
   * (evaluated by promtool, not string matching), the queue panels read the controller's metrics.
   * The p95 latency panel is the one exception: a percentile of no jobs does not exist.
   */
  @Test
  void dashboardStaysPopulatedWithTheWorkersScaledToZero() throws IOException {
    JsonNode dashboard = ChartRenderer.JSON.readTree(Tools.chartDir().resolve("dashboards/queuepilot.json").toFile());
    StringBuilder tests = new StringBuilder();
    int fallbacks = 0;
    for (JsonNode panel : dashboard.path("panels")) {
      boolean populated = false;
      for (JsonNode target : panel.path("targets")) {
        String expr = target.path("expr").asText().replace("$namespace", "queuepilot");
        if (expr.contains("queuepilot_worker_") && (expr.endsWith(" or vector(0)") || expr.contains("clamp_min("))) {
          tests.append("      - expr: '").append(expr).append("'\n        eval_time: 10m\n")
              .append("        exp_samples: [{labels: '{}', value: 0}]\n");
          fallbacks++;
          populated = true;
        } else if (!expr.contains("queuepilot_worker_")) {
          populated = true; // controller or scrape metrics: there with zero workers
        }
      }
      boolean latencyPercentile = panel.path("title").asText().startsWith("p95 time to processed");
      assertThat(populated || latencyPercentile)
          .as("panel '%s' has a query that does not need a worker", panel.path("title").asText()).isTrue();
    }
    assertThat(fallbacks).isGreaterThanOrEqualTo(6);
    String file = String.join("\n",
        "rule_files: [rules.yml]",
        "evaluation_interval: 1m",
        "tests:",
        "  - name: workers scaled to zero, only the controller is scraped",
        "    interval: 1m",
        "    input_series:",
        "      - series: 'queuepilot_queue_jobs{namespace=\"queuepilot\",queuescaler=\"document-extraction\",state=\"ready\"}'",
        "        values: '40x20'",
        "      - series: 'queuepilot_queue_oldest_ready_age_seconds{namespace=\"queuepilot\",queuescaler=\"document-extraction\"}'",
        "        values: '0+60x20'",
        "    promql_expr_test:",
        "      - expr: 'max by (queuescaler) (queuepilot_queue_oldest_ready_age_seconds{namespace=\"queuepilot\"})'",
        "        eval_time: 10m",
        "        exp_samples: [{labels: '{queuescaler=\"document-extraction\"}', value: 600}]",
        "      - expr: 'sum by (state) (queuepilot_queue_jobs{namespace=\"queuepilot\"})'",
        "        eval_time: 10m",
        "        exp_samples: [{labels: '{state=\"ready\"}', value: 40}]",
        "") + tests;
    Files.writeString(dir.resolve("dashboard.test.yml"), file);
    Tools.Result r = promtool("test", "rules", dir.resolve("dashboard.test.yml").toString()).requireSuccess();
    assertThat(r.stdout() + r.stderr()).contains("SUCCESS");
  }

  @Test
  void renderedRulesPassPromtoolCheck() {
    Tools.Result r = promtool("check", "rules", dir.resolve("rules.yml").toString()).requireSuccess();
    assertThat(r.stdout()).contains("SUCCESS");
  }

  @Test
  void rulesFireAndStaySilentAsTheUnitTestsSay() {
    Tools.Result r = promtool("test", "rules", dir.resolve(TEST_FILE).toString()).requireSuccess();
    assertThat(r.stdout() + r.stderr()).contains("SUCCESS");
  }
}
