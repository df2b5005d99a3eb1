package io.queuepilot.cli.sim;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.queuepilot.cli.CliException;
import io.queuepilot.controller.crd.QueueScalerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a QueueScaler spec from YAML: either a whole {@code QueueScaler} resource (its
 * {@code spec} is used) or just the spec — the same schema as the CRD and the Render config.
 * Unknown fields are errors, so a typo cannot silently fall back to a default.
 */
public final class ScalerSpecFile {

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private ScalerSpecFile() {}

  public static QueueScalerSpec read(Path file) {
    try {
      JsonNode root = YAML.readTree(Files.readString(file));
      if (root == null || !root.isObject()) {
        throw CliException.usage(file + ": expected a QueueScaler resource or its spec as a YAML mapping");
      }
      JsonNode spec = root.has("kind") || root.has("apiVersion") ? root.path("spec") : root;
      if (!spec.isObject()) {
        throw CliException.usage(file + ": the QueueScaler resource has no spec");
      }
      return YAML.treeToValue(spec, QueueScalerSpec.class);
    } catch (NoSuchFileException e) {
      throw CliException.usage("spec file not found: " + file);
    } catch (UnrecognizedPropertyException e) {
      throw CliException.usage(file + ": unknown field spec."
          + e.getPath().stream().map(r -> r.getFieldName() == null ? "[" + r.getIndex() + "]" : r.getFieldName())
              .reduce((a, b) -> a + "." + b).orElse(""));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw CliException.usage(file + ": not a valid QueueScaler spec: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw CliException.usage("could not read spec file " + file + ": " + e.getMessage());
    }
  }
}
