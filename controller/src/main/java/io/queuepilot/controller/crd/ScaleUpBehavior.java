package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.queuepilot.scaling.ScalerDefaults;
import io.fabric8.generator.annotation.ValidationRule;

/** How fast the scaler adds replicas. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ScaleUpBehavior {
  @JsonPropertyDescription("Scale up only to the lowest recommendation of this many seconds (0 = react at once).")
  @Default("" + ScalerDefaults.SCALE_UP_STABILIZATION_WINDOW_SECONDS)
  @ValidationRule(value = "self >= 0", message = "spec.scaleUp.stabilizationWindowSeconds must not be negative")
  public Integer stabilizationWindowSeconds = ScalerDefaults.SCALE_UP_STABILIZATION_WINDOW_SECONDS;

  @JsonPropertyDescription("Most replicas one decision adds; unset or 0 = straight to the recommendation.")
  @ValidationRule(value = "self >= 0", message = "spec.scaleUp.maxStep must not be negative")
  public Integer maxStep;
}
