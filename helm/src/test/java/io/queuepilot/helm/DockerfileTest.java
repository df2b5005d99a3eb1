package io.queuepilot.helm;

import static io.queuepilot.helm.ChartRenderer.chart;
import static io.queuepilot.helm.ChartRenderer.onlyContainer;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Structure of the worker and controller Dockerfiles (no Docker engine is needed): multi-stage,
 * POMs before sources (layer caching), JRE final image with OCI labels, non-root user matching
 * the chart, no build tools in the final stage, the jar names of the build, and the image names
 * and ports the chart uses by default.
 */
class DockerfileTest {

  private static final Pattern FROM = Pattern.compile("(?m)^FROM\\s+(\\S+)(?:\\s+AS\\s+(\\S+))?\\s*$");

  @ParameterizedTest
  @CsvSource({"worker, 8080", "controller, 8081"})
  void finalImageIsASmallNonRootJreRunningTheShadedJar(String component, int port) throws IOException {
    String dockerfile = Files.readString(Tools.repoRoot().resolve(component + "/Dockerfile"));
    List<String> stages = stages(dockerfile);

    assertThat(stages).as("multi-stage").hasSizeGreaterThanOrEqualTo(2);
    assertThat(firstLine(stages.get(0))).matches("FROM eclipse-temurin:21-jdk\\S* AS build");
    String last = stages.get(stages.size() - 1);
    assertThat(firstLine(last)).matches("FROM eclipse-temurin:21-jre\\S*");
    assertThat(last).doesNotContainPattern("(?i)\\b(mvnw?|gradle|javac|apt-get install|apk add|gcc|make)\\b");
    assertThat(last).containsPattern("(?m)^USER 10001:10001$");
    assertThat(last).contains("COPY --from=build --chown=root:root --chmod=0444 /src/" + component + "/target/queuepilot-"
        + component + ".jar /app/queuepilot-" + component + ".jar");
    assertThat(last).containsPattern("(?m)^ENTRYPOINT \\[\"java\", \"-jar\", \"/app/queuepilot-" + component + ".jar\"]$");
    assertThat(last).containsPattern("(?m)^EXPOSE " + port + "$");
    assertThat(stages.get(0)).contains("-pl " + component + " -am package");

    // layer caching: every module's POM (Maven reads all the parent lists) is copied, and the
    // dependencies fetched, before the sources arrive
    String build = stages.get(0);
    int sources = build.indexOf("COPY . .");
    assertThat(sources).as("sources copied in the build stage").isPositive();
    String beforeSources = build.substring(0, sources);
    assertThat(beforeSources).contains("COPY mvnw pom.xml ./", "COPY .mvn .mvn");
    for (String module : modules()) {
      assertThat(beforeSources).as("POM of " + module + " before the sources")
          .containsPattern("(?m)^COPY " + Pattern.quote(module + "/pom.xml " + module + "/") + "$");
    }
    assertThat(beforeSources).containsPattern("(?m)^\\s*\\./mvnw .*-pl " + component + " -am package");

    // OCI annotations on the final image
    for (String label : List.of("title", "description", "source", "version", "revision", "created")) {
      assertThat(last).containsPattern("org\\.opencontainers\\.image\\." + label + "=\"[^\"]+\"");
    }
    assertThat(last).contains("org.opencontainers.image.title=\"queuepilot-" + component + "\"");

    // the chart's defaults run exactly this image, on this port, as this user
    JsonNode deployment = chart().values("production-values.yaml").render()
        .get("Deployment", "qp-queuepilot-" + component);
    String image = onlyContainer(deployment).path("image").asText();
    assertThat(dockerfile).contains("docker build -f " + component + "/Dockerfile -t " + image + " .");
    assertThat(onlyContainer(deployment).path("ports").get(0).path("containerPort").asInt()).isEqualTo(port);
    assertThat(deployment.path("spec").path("template").path("spec").path("securityContext").path("runAsUser").asInt())
        .isEqualTo(10001);
  }

  /** The modules the parent POM lists. */
  private static List<String> modules() throws IOException {
    List<String> modules = new ArrayList<>();
    Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(Files.readString(Tools.repoRoot().resolve("pom.xml")));
    while (m.find()) {
      modules.add(m.group(1));
    }
    assertThat(modules).contains("worker", "controller", "embedded-db");
    return modules;
  }

  private static List<String> stages(String dockerfile) {
    List<String> stages = new ArrayList<>();
    Matcher m = FROM.matcher(dockerfile);
    List<Integer> starts = new ArrayList<>();
    while (m.find()) {
      starts.add(m.start());
    }
    for (int i = 0; i < starts.size(); i++) {
      stages.add(dockerfile.substring(starts.get(i), i + 1 < starts.size() ? starts.get(i + 1) : dockerfile.length()));
    }
    return stages;
  }

  private static String firstLine(String stage) {
    return stage.lines().findFirst().orElse("").trim();
  }
}
