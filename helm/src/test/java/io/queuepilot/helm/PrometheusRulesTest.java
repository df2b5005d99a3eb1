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
