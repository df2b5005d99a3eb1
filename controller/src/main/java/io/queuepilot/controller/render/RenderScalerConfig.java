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

  /**
   * The dotted path of the offending key, spelled as in the CRD ({@code spec.scaleDown.maxStep}):
   * the file's top level is the QueueScaler's spec, as in SpecMapping's messages.
   */
  static String keyPath(com.fasterxml.jackson.databind.JsonMappingException e) {
    StringBuilder b = new StringBuilder("spec");
    for (com.fasterxml.jackson.databind.JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) b.append('.').append(r.getFieldName());
      else if (r.getIndex() >= 0) b.append('[').append(r.getIndex()).append(']');
    }
    return b.toString();
  }

  private static String where(com.fasterxml.jackson.core.JacksonException e) {
    var l = e.getLocation();
    return l == null || l.getLineNr() < 1 ? "" : " (line " + l.getLineNr() + ", column " + l.getColumnNr() + ")";
  }

  private static String typeName(Class<?> c) {
    if (c == Integer.class || c == int.class || c == Long.class || c == long.class) return "a whole number";
    if (c == Boolean.class || c == boolean.class) return "true or false";
    if (c == Double.class || c == double.class) return "a number";
    if (c == String.class) return "a string";
    if (java.util.List.class.isAssignableFrom(c)) return "a list";
    return "a mapping (" + c.getSimpleName() + ")";
  }

  public static QueueScalerSpec load(Path file) {
    QueueScalerSpec spec;
    try {
      spec = YAML.readValue(file.toFile(), QueueScalerSpec.class);
    } catch (UnrecognizedPropertyException e) {
      throw new IllegalArgumentException(file + ": unknown key '" + keyPath(e) + "'" + where(e) + "; known keys there: "
          + String.join(", ", e.getKnownPropertyIds().stream().map(Object::toString).sorted().toList())
          + " (the file holds a QueueScaler spec; see docs/controller.md)", e);
    } catch (com.fasterxml.jackson.databind.exc.MismatchedInputException e) {
      String target = e.getTargetType() == null ? "value" : typeName(e.getTargetType());
      throw new IllegalArgumentException(file + ": bad value for '" + keyPath(e) + "'" + where(e) + ": expected "
          + target + " (the file holds a QueueScaler spec; see docs/controller.md)", e);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IllegalArgumentException(file + ": not valid YAML" + where(e) + ": "
          + e.getOriginalMessage().lines().findFirst().orElse(""), e);
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
