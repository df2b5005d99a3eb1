package io.queuepilot.controller.render;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.crd.QueueScalerSpec;
import io.queuepilot.controller.crd.ScaleTargetRef;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Loads the standalone Render mode's YAML file: a QueueScaler spec (same schema as the CRD's
 * {@code spec}), whose {@code scaleTargetRef} is a RenderService. Errors name the bad field.
 */
public final class RenderScalerConfig {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  private RenderScalerConfig() {}

  public static QueueScalerSpec load(Path file) {
    QueueScalerSpec spec;
    try {
      spec = YAML.readValue(file.toFile(), QueueScalerSpec.class);
    } catch (UnrecognizedPropertyException e) {
      throw new IllegalArgumentException(file + ": unknown field '" + e.getPropertyName() + "' at "
          + e.getPathReference() + " (the file holds a QueueScaler spec; see docs/controller.md)", e);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IllegalArgumentException(file + ": not a valid QueueScaler spec: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (spec == null) throw new IllegalArgumentException(file + ": empty file");
    if (spec.scaleTargetRef == null || spec.scaleTargetRef.name == null || spec.scaleTargetRef.name.isBlank()) {
      throw new IllegalArgumentException(file + ": spec.scaleTargetRef.name (the Render service id) is required");
    }
    if (!ScaleTargetRef.RENDER_SERVICE.equals(spec.scaleTargetRef.kind)) {
      throw new IllegalArgumentException(file + ": spec.scaleTargetRef.kind must be RenderService in render mode, was "
          + spec.scaleTargetRef.kind);
    }
    try {
      SpecMapping.toPolicySpec(spec);
      SpecMapping.pollInterval(spec);
      SpecMapping.heartbeatTimeout(spec);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    return spec;
  }
}
