package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.queuepilot.scaling.ScalerDefaults;
import io.fabric8.generator.annotation.ValidationRule;

/** How slowly the scaler removes replicas. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ScaleDownBehavior {
  @JsonPropertyDescription("Scale down only to the highest recommendation of this many seconds.")
  @Default("" + ScalerDefaults.SCALE_DOWN_STABILIZATION_WINDOW_SECONDS)
  @ValidationRule(value = "self >= 0", message = "spec.scaleDown.stabilizationWindowSeconds must not be negative")
  public Integer stabilizationWindowSeconds = ScalerDefaults.SCALE_DOWN_STABILIZATION_WINDOW_SECONDS;

  @JsonPropertyDescription("Most replicas one step removes.")
  @Default("" + ScalerDefaults.SCALE_DOWN_MAX_STEP)
  @ValidationRule(value = "self >= 1", message = "spec.scaleDown.maxStep must be at least 1")
  public Integer maxStep = ScalerDefaults.SCALE_DOWN_MAX_STEP;

  @JsonPropertyDescription("Least seconds between two scale-down steps.")
  @Default("" + ScalerDefaults.SCALE_DOWN_PERIOD_SECONDS)
  @ValidationRule(value = "self >= 0", message = "spec.scaleDown.periodSeconds must not be negative")
  public Integer periodSeconds = ScalerDefaults.SCALE_DOWN_PERIOD_SECONDS;
}
