package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The release workflow (.github/workflows/release.yml) passes actionlint (syntax, expressions,
 * job needs/outputs, the inputs of the actions it uses), and does what docs/images.md says: on a
 * v* tag, images for worker and controller to GHCR, the chart pushed as an OCI artifact.
 * actionlint is built from its Go module by tools/actionlint/prepare.sh.
 */
class WorkflowLintTest {

  private static final Path WORKFLOWS = Tools.repoRoot().resolve(".github/workflows");

  @Test
  void everyWorkflowPassesActionlint() throws IOException {
    List<String> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(WORKFLOWS)) {
      s.filter(p -> p.toString().endsWith(".yml") || p.toString().endsWith(".yaml")).forEach(p -> files.add(p.toString()));
    }
    assertThat(files).anyMatch(f -> f.endsWith("release.yml"));
    List<String> command = Tools.command(Tools.tool("actionlint"), "-no-color");
    command.addAll(files);
    Tools.Result r = Tools.run(Duration.ofMinutes(1), Map.of(), command);
    assertThat(r.exitCode()).as("actionlint findings:\n" + r.stdout() + r.stderr()).isZero();
  }

  @Test
  void releaseRunsOnTagsAndPushesBothImagesAndTheChart() throws IOException {
    var workflow = ChartRenderer.YAML.readTree(WORKFLOWS.resolve("release.yml").toFile());
    assertThat(workflow.path("on").path("push").path("tags").toString()).isEqualTo("[\"v*\"]");
    var images = workflow.path("jobs").path("images");
    assertThat(images.path("strategy").path("matrix").path("component").toString()).isEqualTo("[\"worker\",\"controller\"]");
    assertThat(images.path("needs").toString()).contains("test");
    String text = Files.readString(WORKFLOWS.resolve("release.yml"));
    assertThat(text).contains("docker/build-push-action@", "push: true", "file: ${{ matrix.component }}/Dockerfile",
        "ghcr.io/${{ needs.version.outputs.owner }}/queuepilot-${{ matrix.component }}",
        "helm push \"dist/queuepilot-$VERSION.tgz\" \"oci://ghcr.io/$OWNER/charts\"", "./scripts/test.sh");
  }
}
