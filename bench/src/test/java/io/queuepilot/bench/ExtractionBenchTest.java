package io.queuepilot.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Section extraction's settings parser, and a tiny run through a real child JVM: the JIT policy
 * reaches the child and is reported as applied, every pass is timed, and a bad policy stops the
 * run naming it instead of timing the default tiers under its label.
 */
class ExtractionBenchTest {

  @TempDir Path dir;

  @Test
  void theDefaultSettingsAreTheTwoPoliciesAndC1Only() {
    List<ExtractionBench.Setting> s =
        ExtractionBench.parseSettings("jvm=;pipeline=-Dqueuepilot.jitPolicy=pipeline;c1-only=-XX:TieredStopAtLevel=1");
    assertThat(s).containsExactly(new ExtractionBench.Setting("jvm", List.of()),
        new ExtractionBench.Setting("pipeline", List.of("-Dqueuepilot.jitPolicy=pipeline")),
        new ExtractionBench.Setting("c1-only", List.of("-XX:TieredStopAtLevel=1")));
    assertThat(ExtractionBench.parseSettings(" a = -Xint  -Xss2m ;")).containsExactly(
        new ExtractionBench.Setting("a", List.of("-Xint", "-Xss2m")));
  }

  @Test
  void aBadSettingIsNamed() {
    assertThatThrownBy(() -> ExtractionBench.parseSettings("jvm=;-XX:TieredStopAtLevel=1"))
        .hasMessageContaining("'-XX:TieredStopAtLevel=1' is not label=JVM options");
    assertThatThrownBy(() -> ExtractionBench.parseSettings("a=;a=-Xint")).hasMessageContaining("label 'a' given twice");
    assertThatThrownBy(() -> ExtractionBench.parseSettings(" ; ")).hasMessageContaining("no setting");
  }

  @Test
  void theWarmPassesStartAtTheFourthOrAreTheLast() {
    assertThat(ExtractionBench.firstWarmPass(10)).isEqualTo(4);
    assertThat(ExtractionBench.firstWarmPass(2)).isEqualTo(2);
    assertThat(ExtractionBench.firstWarmPass(1)).isEqualTo(1);
  }

  @Test
  void aTinyRunTimesEveryPassUnderThePolicyItNames() throws Exception {
    Report report = new Report(dir, "extraction");
    ExtractionBench.run(report, dir, ExtractionBench.parseSettings("pipeline=-Dqueuepilot.jitPolicy=pipeline"), 2, 1,
        Duration.ofMinutes(5));

    String text = Files.readString(report.file());
    List<String> rows = text.lines().filter(l -> l.startsWith("| 1 | pipeline |")).toList();
    assertThat(rows).hasSize(1);
    String[] cells = rows.get(0).split("\\|");
    assertThat(cells[4].strip()).as("the policy was applied in the child").isEqualTo("pipeline");
    assertThat(Double.parseDouble(cells[5].strip())).as("pass 1 seconds").isPositive();
    assertThat(text).contains("| pipeline | ");
    // a warm time per corpus document, the ten-page scan first
    assertThat(text.lines().filter(l -> l.matches("\\| .+ \\| \\d+\\.\\d{3} \\|"))).hasSize(7)
        .first().asString().startsWith("| scanned PDF (10 pages) |");
  }

  @Test
  void aPolicyTheWorkerWouldRefuseStopsTheRunNamingIt() {
    Report report = new Report(dir, "extraction");
    assertThatThrownBy(() -> ExtractionBench.run(report, dir, ExtractionBench.parseSettings("fast=-Dqueuepilot.jitPolicy=fast"),
        1, 1, Duration.ofMinutes(5)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("did not become ready");
    assertThat(dir.resolve("extraction-fast.stderr.log")).content().contains("-Dqueuepilot.jitPolicy must be jvm or pipeline, got 'fast'");
  }
}
