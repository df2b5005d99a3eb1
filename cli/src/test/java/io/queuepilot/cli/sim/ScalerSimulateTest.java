package io.queuepilot.cli.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.queuepilot.cli.CliRun;
import io.queuepilot.cli.ExitCode;
import io.queuepilot.cli.Output;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * {@code scaler simulate} end to end through the CLI with the controller's real ScalingPolicy:
 * a burst trace against a spec with a token budget gives the expected decisions, a CSV with a
 * row per second and an SVG that parses as XML with the expected polylines.
 */
class ScalerSimulateTest {

  @TempDir static Path dir;
  static Path spec;
  static CliRun run;
  static JsonNode result;

  @BeforeAll
  static void simulateBurst() throws Exception {
    spec = dir.resolve("burst-scaler.yaml");
    try (InputStream in = ScalerSimulateTest.class.getResourceAsStream("/burst-scaler.yaml")) {
      Files.copy(in, spec);
    }
    run = CliRun.run("scaler", "simulate", "--spec", spec.toString(), "--shape", "burst", "--duration", "120",
        "--peak", "3", "--job-seconds", "10", "--startup-seconds", "0", "--out", dir.resolve("burst").toString(),
        "--json");
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCode.OK);
    result = Output.JSON.readTree(run.out());
  }

  @Test
  void burstGivesTheExpectedDecisionSequence() {
    // The spec: min 1, max 8, concurrency 2, poll 10 s; budget 60000 tokens/min at 1000 tokens
    // per 10 s job = 12000 tokens/min per replica -> the budget allows 5 replicas.
    // Burst: 0.2 jobs/s, then 3 jobs/s for t = 30..49 (60 jobs), then 0.2 jobs/s again.
    List<String> decisions = new ArrayList<>();
    for (JsonNode d : result.get("decisions")) {
      decisions.add(d.get("t").asInt() + ":" + d.get("from").asInt() + "->" + d.get("to").asInt() + ":"
          + d.get("limitedBy").asText());
    }
    assertThat(decisions)
        .containsExactly(
            // t=30: 3 ready + 2 processing at 2 per replica -> 3 replicas.
            "30:1->3:none",
            // t=40: ~30 ready -> 16 by work, capped by the token budget at 5.
            "40:3->5:tokenBudget",
            // The budget paces starts at 60 jobs/min, so the queue drains by t=101; the poll at
            // t=110 still sees 6 processing -> recommends 3. Scale-down takes the highest
            // recommendation of the 60 s window: at t=170 that is 3 (stabilization), then after
            // the 20 s period the empty queue gives 0, raised to minReplicas 1.
            "170:5->3:stabilization",
            "190:3->1:min");
    assertThat(result.get("peakReplicas").asInt()).isEqualTo(5);
    assertThat(result.get("tokenBudgetReplicas").asInt()).isEqualTo(5);
    assertThat(result.get("jobs").asLong()).isEqualTo(result.get("completed").asLong());
  }

  @Test
  void theTextSummaryListsTheDecisionsWithTheirReasons() {
    CliRun text = CliRun.run("scaler", "simulate", "--spec", spec.toString(), "--shape", "burst", "--duration", "120",
        "--peak", "3", "--job-seconds", "10", "--startup-seconds", "0", "--out", dir.resolve("text").toString());
    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.out())
        .contains("Scaling decisions (4):")
        .contains("1 -> 3")
        .contains("3 -> 5")
        .contains("tokenBudget")
        .contains("token budget allows 5");
  }

  @Test
  void csvHasOneRowPerSimulatedSecond() throws Exception {
    List<String> lines = Files.readAllLines(dir.resolve("burst.csv"));
    assertThat(lines.get(0)).isEqualTo(TimelineCsv.HEADER);
    int seconds = result.get("simulatedSeconds").asInt();
    assertThat(lines).hasSize(seconds + 2);
    long arrivals = lines.stream().skip(1).mapToLong(l -> Long.parseLong(l.split(",")[1])).sum();
    assertThat(arrivals).isEqualTo(result.get("jobs").asLong());
    // the token budget is never exceeded by the simulated workers
    assertThat(lines.stream().skip(1).mapToLong(l -> Long.parseLong(l.split(",")[7])).max().orElseThrow())
        .isLessThanOrEqualTo(60000);
  }

  @Test
  void svgIsValidXmlWithTheSeriesAndTheTokenBudgetLine() throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setNamespaceAware(true);
    Document svg = f.newDocumentBuilder().parse(dir.resolve("burst.svg").toFile());
    Element root = svg.getDocumentElement();
    assertThat(root.getLocalName()).isEqualTo("svg");
    assertThat(root.getNamespaceURI()).isEqualTo("http://www.w3.org/2000/svg");
    double width = Double.parseDouble(root.getAttribute("width"));
    double height = Double.parseDouble(root.getAttribute("height"));

    Map<String, List<double[]>> polylines = new HashMap<>();
    NodeList nodes = svg.getElementsByTagNameNS("http://www.w3.org/2000/svg", "polyline");
    for (int i = 0; i < nodes.getLength(); i++) {
      Element e = (Element) nodes.item(i);
      List<double[]> points = new ArrayList<>();
      for (String p : e.getAttribute("points").trim().split("\\s+")) {
        String[] xy = p.split(",");
        points.add(new double[] {Double.parseDouble(xy[0]), Double.parseDouble(xy[1])});
      }
      polylines.put(e.getAttribute("id"), points);
    }
    assertThat(polylines.keySet())
        .contains("queue-depth", "replicas", "desired-replicas", "max-replicas", "token-budget-replicas",
            "tokens-per-minute", "token-budget");
    int ticks = result.get("simulatedSeconds").asInt() + 1;
    assertThat(polylines.get("queue-depth")).hasSize(ticks);
    assertThat(polylines.get("replicas")).hasSize(ticks);
    for (List<double[]> line : polylines.values()) {
      for (double[] p : line) {
        assertThat(p[0]).isBetween(0.0, width);
        assertThat(p[1]).isBetween(0.0, height);
      }
    }
    // Reference lines are horizontal, and in the replica panel the budget line (5) lies below max (8).
    List<double[]> budget = polylines.get("token-budget-replicas");
    List<double[]> max = polylines.get("max-replicas");
    assertThat(budget.get(0)[1]).isEqualTo(budget.get(1)[1]);
    assertThat(budget.get(0)[1]).isGreaterThan(max.get(0)[1]);
    // The replica line reaches the budget line at its peak and never goes above it.
    double peakY = polylines.get("replicas").stream().mapToDouble(p -> p[1]).min().orElseThrow();
    assertThat(peakY).isEqualTo(budget.get(0)[1]);
    // The queue-depth line rises during the burst (lower y = higher value).
    double baseY = polylines.get("queue-depth").get(0)[1];
    assertThat(polylines.get("queue-depth").stream().mapToDouble(p -> p[1]).min().orElseThrow()).isLessThan(baseY);
  }

  @Test
  void badInputsAreUsageErrorsNamingWhatIsWrong() throws Exception {
    CliRun noSpec = CliRun.run("scaler", "simulate", "--spec", dir.resolve("missing.yaml").toString(), "--shape", "burst");
    assertThat(noSpec.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(noSpec.err()).contains("spec file not found").contains("missing.yaml");

    Path typo = dir.resolve("typo.yaml");
    Files.writeString(typo, "minReplicas: 1\nmaxReplica: 4\n");
    CliRun unknown = CliRun.run("scaler", "simulate", "--spec", typo.toString(), "--shape", "burst");
    assertThat(unknown.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(unknown.err()).contains("unknown field spec.maxReplica");

    Path minMax = dir.resolve("minmax.yaml");
    Files.writeString(minMax, "minReplicas: 5\nmaxReplicas: 2\n");
    CliRun inverted = CliRun.run("scaler", "simulate", "--spec", minMax.toString(), "--shape", "burst");
    assertThat(inverted.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(inverted.err()).contains("spec.minReplicas must be less than or equal to spec.maxReplicas");

    CliRun shape = CliRun.run("scaler", "simulate", "--spec", spec.toString(), "--shape", "tsunami");
    assertThat(shape.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(shape.err()).contains("unknown shape 'tsunami'").contains("burst, ramp, diurnal");

    Path badTrace = dir.resolve("bad.csv");
    Files.writeString(badTrace, "second,count\n0,3\n1,three\n");
    CliRun trace = CliRun.run("scaler", "simulate", "--spec", spec.toString(), "--trace", badTrace.toString());
    assertThat(trace.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(trace.err()).contains("line 3").contains("1,three");

    CliRun both = CliRun.run("scaler", "simulate", "--spec", spec.toString(), "--shape", "burst", "--trace", "x.csv");
    assertThat(both.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(both.err()).contains("mutually exclusive");
  }

  @Test
  void aCsvTraceIsReplayed() throws Exception {
    Path trace = dir.resolve("trace.csv");
    Files.writeString(trace, "second,count\n# a spike of 40 jobs at t=5\n5,40\n");
    CliRun r = CliRun.run("scaler", "simulate", "--spec", spec.toString(), "--trace", trace.toString(),
        "--job-seconds", "10", "--startup-seconds", "0", "--out", dir.resolve("csvtrace").toString(), "--json");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    JsonNode json = Output.JSON.readTree(r.out());
    assertThat(json.get("jobs").asLong()).isEqualTo(40);
    assertThat(json.get("completed").asLong()).isEqualTo(40);
    assertThat(json.get("peakQueueDepth").asLong()).isGreaterThanOrEqualTo(38);
  }
}
