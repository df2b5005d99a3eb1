package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;

/** How slowly the scaler removes replicas. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ScaleDownBehavior {
  @JsonPropertyDescription("Scale down only to the highest recommendation of this many seconds.")
  @Default("300")
  @ValidationRule(value = "self >= 0", message = "spec.scaleDown.stabilizationWindowSeconds must not be negative")
  public Integer stabilizationWindowSeconds = 300;

  @JsonPropertyDescription("Most replicas one step removes.")
  @Default("2")
  @ValidationRule(value = "self >= 1", message = "spec.scaleDown.maxStep must be at least 1")
  public Integer maxStep = 2;

  @JsonPropertyDescription("Least seconds between two scale-down steps.")
  @Default("15")
  @ValidationRule(value = "self >= 0", message = "spec.scaleDown.periodSeconds must not be negative")
  public Integer periodSeconds = 15;
}
