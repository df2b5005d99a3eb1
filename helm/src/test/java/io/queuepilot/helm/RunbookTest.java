package io.queuepilot.helm;

import static io.queuepilot.helm.ChartRenderer.chart;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** docs/runbook.md: every alert links to a section that exists, and the sections issue 9 asks for are there. */
class RunbookTest {

  @Test
  void everyAlertLinksToAnExistingRunbookSection() throws IOException {
    List<String> lines = Files.readAllLines(Tools.repoRoot().resolve("docs/runbook.md"));
    Set<String> anchors = new HashSet<>();
    lines.stream().filter(l -> l.startsWith("## ")).forEach(l -> anchors.add(slug(l.substring(3))));

    assertThat(anchors).contains("install", "health-checks", "cutover-from-the-existing-worker-legacy-path-stays-in-place-until-validated",
        "rollback", "dead-letter-handling", "stuck-jobs", "rotating-keys", "slos-and-alerts");
    JsonNode rule = chart().values("production-values.yaml").apiVersion("monitoring.coreos.com/v1/PrometheusRule")
        .render().get("PrometheusRule", "qp-queuepilot");
    rule.path("spec").path("groups").forEach(g -> g.path("rules").forEach(r -> {
      if (!r.has("alert")) {
        return; // recording rules have no runbook
      }
      String url = r.path("annotations").path("runbook_url").asText();
      assertThat(url).contains("/docs/runbook.md#");
      assertThat(anchors).as("runbook section for %s", r.path("alert").asText()).contains(url.substring(url.indexOf('#') + 1));
      assertThat(String.join("\n", lines)).as("alert %s in the runbook", r.path("alert").asText())
          .contains(r.path("alert").asText());
    }));
  }

  /**
   * Issue 15: pausing goes through the annotation the controller reads (Helm owns the spec under
   * server-side apply), never through a patch of spec.paused; ClusterScalingIT runs these very
   * commands against a real API server and shows that the spec patch conflicts with Helm.
   */
  @Test
  void pausingUsesTheAnnotationAndNeverPatchesTheSpec() throws IOException {
    String runbook = Files.readString(Tools.repoRoot().resolve("docs/runbook.md"));
    String annotation = io.queuepilot.controller.core.SpecMapping.PAUSED_ANNOTATION;
    assertThat(runbook)
        .contains("kubectl -n $NS annotate queuescaler $WORKER " + annotation + "=true --overwrite")
        .contains("kubectl -n $NS annotate queuescaler $WORKER " + annotation + "-")
        .contains("## Pausing the scaler");
    List<String> specPatches = runbook.lines()
        .filter(l -> l.contains("patch queuescaler") && l.contains("paused")).toList();
    assertThat(specPatches).as("commands that patch spec.paused").isEmpty();
    // the rollback pauses with the annotation
    String rollback = runbook.substring(runbook.indexOf("## Rollback"), runbook.indexOf("## Pausing the scaler"));
    assertThat(rollback).contains("annotate queuescaler $WORKER " + annotation + "=true");
  }

  /** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
  private static String slug(String heading) {
    return heading.trim().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9 -]", "").replace(' ', '-');
  }
}
