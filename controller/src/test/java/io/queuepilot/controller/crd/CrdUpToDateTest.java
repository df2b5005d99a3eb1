package io.queuepilot.controller.crd;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The build check for generated CRDs: the YAML committed in crds/ and helm/queuepilot/crds/
 * must equal what crd-generator produced from the classes in this build (target/classes).
 * Fix a failure with scripts/generate-crds.sh, never by hand-editing the YAML.
 */
class CrdUpToDateTest {

  static final String FILE = "queuescalers.queuepilot.io-v1.yml";

  static Path generated() {
    return Path.of("target/classes/META-INF/fabric8", FILE);
  }

  static Stream<Path> committed() {
    Path root = Path.of(System.getProperty("queuepilot.repoRoot", ".."));
    return Stream.of(root.resolve("crds").resolve(FILE), root.resolve("helm/queuepilot/crds").resolve(FILE));
  }

  @ParameterizedTest
  @MethodSource("committed")
  void committedCrdEqualsGenerated(Path committed) throws IOException {
    assertThat(generated()).as("crd-generator output (process-classes)").exists();
    assertThat(committed)
        .as("%s is missing: run scripts/generate-crds.sh and commit the result", committed)
        .exists();
    assertThat(Files.readString(committed))
        .as("%s differs from the CRD generated from the QueueScaler classes: run scripts/generate-crds.sh "
            + "and commit the result (never edit the YAML by hand)", committed)
        .isEqualTo(Files.readString(generated()));
  }

  @Test
  void javaDefaultsEqualCrdDefaults() throws IOException {
    JsonNode crd = new ObjectMapper(new YAMLFactory()).readTree(generated().toFile());
    JsonNode spec = crd.at("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties");
    QueueScalerSpec javaDefaults = new QueueScalerSpec();
    assertThat(spec.at("/minReplicas/default").asInt()).isEqualTo(javaDefaults.minReplicas);
    assertThat(spec.at("/maxReplicas/default").asInt()).isEqualTo(javaDefaults.maxReplicas);
    assertThat(spec.at("/concurrencyPerReplica/default").asInt()).isEqualTo(javaDefaults.concurrencyPerReplica);
    assertThat(spec.at("/heartbeatTimeoutSeconds/default").asInt()).isEqualTo(javaDefaults.heartbeatTimeoutSeconds);
    assertThat(spec.at("/pollIntervalSeconds/default").asInt()).isEqualTo(javaDefaults.pollIntervalSeconds);
    assertThat(spec.at("/paused/default").asBoolean()).isEqualTo(javaDefaults.paused);
    assertThat(spec.at("/scaleDown/properties/stabilizationWindowSeconds/default").asInt())
        .isEqualTo(javaDefaults.scaleDown.stabilizationWindowSeconds);
    assertThat(spec.at("/scaleDown/properties/maxStep/default").asInt()).isEqualTo(javaDefaults.scaleDown.maxStep);
    assertThat(spec.at("/scaleDown/properties/periodSeconds/default").asInt()).isEqualTo(javaDefaults.scaleDown.periodSeconds);
    assertThat(spec.at("/scaleUp/properties/stabilizationWindowSeconds/default").asInt())
        .isEqualTo(javaDefaults.scaleUp.stabilizationWindowSeconds);
    TokenBudget b = new TokenBudget();
    assertThat(spec.at("/tokenBudget/properties/requestsPerJob/default").asDouble()).isEqualTo(b.requestsPerJob);
    assertThat(spec.at("/tokenBudget/properties/expectedJobSeconds/default").asDouble()).isEqualTo(b.expectedJobSeconds);
  }
}
