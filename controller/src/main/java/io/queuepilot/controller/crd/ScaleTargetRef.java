package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.ValidationRule;

/** What a QueueScaler scales: a Deployment in its namespace, or a Render service. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.deployment) != has(self.renderServiceId)",
    message = "spec.scaleTarget: set exactly one of deployment or renderServiceId")
public class ScaleTargetRef {
  @JsonPropertyDescription("Name of the worker Deployment (same namespace), scaled through its scale subresource.")
  public String deployment;

  @JsonPropertyDescription("Render service id (srv-...) whose instance count is set through Render's API.")
  public String renderServiceId;

  @JsonPropertyDescription("Secret (same namespace) holding the Render API key under key `apiKey`; "
      + "the standalone Render mode reads RENDER_API_KEY instead.")
  public String renderApiKeySecretName;

  public ScaleTargetRef() {}

  public static ScaleTargetRef deployment(String name) {
    ScaleTargetRef r = new ScaleTargetRef();
    r.deployment = name;
    return r;
  }

  public static ScaleTargetRef render(String serviceId, String apiKeySecretName) {
    ScaleTargetRef r = new ScaleTargetRef();
    r.renderServiceId = serviceId;
    r.renderApiKeySecretName = apiKeySecretName;
    return r;
  }
}
