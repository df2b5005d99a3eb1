package io.queuepilot.cli.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

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
  void burstRunsThroughQueuePilotKedaAndTheOracleSideBySide() {
    // Burst: 0.2 jobs/s, then 3 jobs/s for t = 30..49, then 0.2 jobs/s again; 10 s jobs, 2 per
    // replica, budget 60000 tokens/min at 1000 tokens per job.
    JsonNode models = result.get("models");
    assertThat(models).hasSize(4);
    assertThat(models.get(0).get("model").asText()).isEqualTo("queuepilot");
    assertThat(models.get(1).get("model").asText()).isEqualTo("keda-hpa-defaults");
    assertThat(models.get(2).get("model").asText()).isEqualTo("oracle-schedule");
    assertThat(models.get(3).get("model").asText()).isEqualTo("work-lower-bound");
    long jobs = result.get("jobs").asLong();
    // the work bound: every job's 10 s on one of 2 slots per replica, nothing else
    double bound = models.get(3).get("replicaMinutes").asDouble();
    assertThat(bound).isCloseTo(jobs * 10.0 / 2 / 60, within(0.01));
    // the oracle schedule (no start-up in this world, 60 s SLO) meets the SLO and bills at least the bound
    assertThat(models.get(2).get("sloViolations").asLong()).isZero();
    assertThat(models.get(2).get("replicaMinutes").asDouble()).isGreaterThanOrEqualTo(bound);
    for (JsonNode m : models) {
      assertThat(m.get("completed").asLong()).as(m.toString()).isEqualTo(jobs);
      // the workers enforce the shared budget: nothing reaches the provider beyond it
      assertThat(m.get("minutesOverTokenBudget").asDouble()).as(m.toString()).isZero();
      assertThat(m.get("replicaMinutes").asDouble()).isGreaterThanOrEqualTo(bound);
    }
    // NOTIFY wakes QueuePilot at the burst's first arrival (in second 30): it scales up in that second
    JsonNode atBurst = null;
    for (JsonNode d : result.get("decisions")) {
      if (d.get("t").asInt() >= 30) {
        atBurst = d;
        break;
      }
    }
    assertThat(atBurst).isNotNull();
    assertThat(atBurst.get("t").asInt()).isBetween(30, 31);
    assertThat(atBurst.get("to").asInt()).isGreaterThan(atBurst.get("from").asInt());
    assertThat(result.get("peakReplicas").asInt()).isLessThanOrEqualTo(8);
  }

  @Test
  void theTextSummaryListsTheDecisionsAndTheComparison() {
    CliRun text = CliRun.run("scaler", "simulate", "--spec", spec.toString(), "--shape", "burst", "--duration", "120",
        "--peak", "3", "--job-seconds", "10", "--startup-seconds", "0", "--out", dir.resolve("text").toString());
    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.out())
        .contains("QueuePilot scaling decisions (")
        .contains("1 -> ")
        .contains("WAIT P95 (s)")
        .contains("keda-hpa-defaults")
        .contains("oracle-schedule")
        .contains("work-lower-bound")
        .contains("MIN OVER TOKENS");
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
        .contains("queue-depth", "replicas", "desired-replicas", "max-replicas", "tokens-per-minute", "token-budget");
    int ticks = result.get("simulatedSeconds").asInt() + 1;
    assertThat(polylines.get("queue-depth")).hasSize(ticks);
    assertThat(polylines.get("replicas")).hasSize(ticks);
    for (List<double[]> line : polylines.values()) {
      for (double[] p : line) {
        assertThat(p[0]).isBetween(0.0, width);
        assertThat(p[1]).isBetween(0.0, height);
      }
    }
    // The max line is horizontal and the replica line never goes above it (lower y = higher value).
    List<double[]> max = polylines.get("max-replicas");
    assertThat(max.get(0)[1]).isEqualTo(max.get(1)[1]);
    double peakY = polylines.get("replicas").stream().mapToDouble(p -> p[1]).min().orElseThrow();
    assertThat(peakY).isGreaterThanOrEqualTo(max.get(0)[1]);
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
    assertThat(json.get("peakQueueDepth").asLong()).isPositive();
    // 40 jobs at t=5 against 1 running replica: NOTIFY → scale call 0.1 s after the first arrival; KEDA polls
    JsonNode models = json.get("models");
    assertThat(models.get(0).get("firstScaleCallSeconds").asDouble()).isLessThanOrEqualTo(1.0);
    assertThat(models.get(1).get("firstScaleCallSeconds").asDouble()).isGreaterThan(1.0);
  }
}
