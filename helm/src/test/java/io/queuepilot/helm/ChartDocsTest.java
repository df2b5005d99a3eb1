package io.queuepilot.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The chart README documents every value of values.yaml with its default, and the schema knows every value. */
class ChartDocsTest {

  /** Maps documented as one value (free-form or a small fixed structure), not key by key. */
  private static final Set<String> WHOLE_OBJECTS = Set.of("resources", "commonLabels", "nodeSelector", "affinity",
      "podAnnotations", "annotations", "labels", "extraSpec", "dnsNamespaceLabels");

  @Test
  void readmeDocumentsEveryValueWithItsDefault() throws IOException {
    String readme = Files.readString(Tools.chartDir().resolve("README.md"));
    Map<String, JsonNode> values = leaves(ChartRenderer.YAML.readTree(Tools.chartDir().resolve("values.yaml").toFile()));

    assertThat(values).hasSizeGreaterThan(90);
    values.forEach((key, value) -> {
      String row = readme.lines().filter(l -> l.startsWith("| `" + key + "` |")).findFirst().orElse(null);
      assertThat(row).as("README row for %s", key).isNotNull();
      if (value.isValueNode()) {
        String shown = value.isTextual() ? "\"" + value.asText() + "\"" : value.asText();
        assertThat(row).as("default of %s", key).contains("| `" + shown + "` |");
      }
      assertThat(row.split("\\|")[3].trim()).as("description of %s", key).isNotEmpty();
    });
  }

  @Test
  void schemaDeclaresEveryValue() throws IOException {
    JsonNode schema = ChartRenderer.JSON.readTree(Tools.chartDir().resolve("values.schema.json").toFile());
    Map<String, JsonNode> values = leaves(ChartRenderer.YAML.readTree(Tools.chartDir().resolve("values.yaml").toFile()));

    values.keySet().forEach(key -> {
      JsonNode node = schema;
      for (String part : key.split("\\.")) {
        node = node.path("properties").path(part);
      }
      assertThat(node.isMissingNode()).as("schema entry for %s", key).isFalse();
      assertThat(node.path("description").asText()).as("schema description of %s", key).isNotBlank();
    });
  }

  private static Map<String, JsonNode> leaves(JsonNode root) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    collect(root, "", out);
    return out;
  }

  private static void collect(JsonNode node, String path, Map<String, JsonNode> out) {
    String last = path.contains(".") ? path.substring(path.lastIndexOf('.') + 1) : path;
    if (node.isObject() && (path.isEmpty() || (!node.isEmpty() && !WHOLE_OBJECTS.contains(last)))) {
      node.properties().forEach(e -> collect(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey(), out));
    } else {
      out.put(path, node);
    }
  }
}
