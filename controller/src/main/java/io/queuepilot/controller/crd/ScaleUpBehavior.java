package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;

/** How fast the scaler adds replicas. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ScaleUpBehavior {
  @JsonPropertyDescription("Scale up only to the lowest recommendation of this many seconds (0 = react at once).")
  @Default("0")
  @ValidationRule(value = "self >= 0", message = "spec.scaleUp.stabilizationWindowSeconds must not be negative")
  public Integer stabilizationWindowSeconds = 0;

  @JsonPropertyDescription("Most replicas one decision adds; unset or 0 = straight to the recommendation.")
  @ValidationRule(value = "self >= 0", message = "spec.scaleUp.maxStep must not be negative")
  public Integer maxStep;
}
