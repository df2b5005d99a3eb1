package io.queuepilot.helm;

import static io.queuepilot.helm.ChartRenderer.chart;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every queuepilot_* metric the chart's alerts and dashboard query is one the worker or the
 * controller actually registers (read from their metrics classes, Micrometer → Prometheus naming).
 */
class MetricNamesTest {

  private static final Pattern METER = Pattern.compile(
      "(Counter\\.builder|counter|Timer\\.builder|Gauge\\.builder|gauge)\\(\\s*\"(queuepilot\\.[a-z.]+)\"");
  private static final Pattern QUERIED = Pattern.compile("\\b(queuepilot_[a-z_]+)");

  @Test
  void alertsAndDashboardQueryOnlyExportedMetrics() throws IOException {
    Set<String> exported = new HashSet<>();
    exported.addAll(exported(Tools.repoRoot().resolve("worker/src/main/java/io/queuepilot/worker/WorkerMetrics.java")));
    exported.addAll(exported(
        Tools.repoRoot().resolve("controller/src/main/java/io/queuepilot/controller/metrics/ControllerMetrics.java")));
    assertThat(exported).contains("queuepilot_worker_jobs_completed_total", "queuepilot_controller_leader");

    Set<String> queried = new HashSet<>();
    JsonNode rule = chart().values("production-values.yaml").apiVersion("monitoring.coreos.com/v1/PrometheusRule")
        .render().get("PrometheusRule", "qp-queuepilot");
    rule.path("spec").path("groups").forEach(g -> g.path("rules").forEach(r -> queried.addAll(queried(r.path("expr").asText()))));
    queried.addAll(queried(Files.readString(Tools.chartDir().resolve("dashboards/queuepilot.json"))));

    assertThat(queried).hasSizeGreaterThan(10);
    assertThat(queried).allSatisfy(name -> assertThat(exported).as("exported metrics").contains(name));
  }

  /** Prometheus names of the meters a metrics class registers. */
  private static Set<String> exported(Path source) throws IOException {
    Set<String> names = new HashSet<>();
    Matcher m = METER.matcher(Files.readString(source));
    while (m.find()) {
      String base = m.group(2).replace('.', '_');
      switch (m.group(1)) {
        case "Counter.builder", "counter" -> names.add(base + "_total");
        case "Timer.builder" -> {
          names.add(base + "_seconds_bucket");
          names.add(base + "_seconds_count");
          names.add(base + "_seconds_sum");
        }
        default -> names.add(base);
      }
    }
    return names;
  }

  private static Set<String> queried(String text) {
    Set<String> names = new HashSet<>();
    Matcher m = QUERIED.matcher(text);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }
}
