package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** What a QueueScaler scales: a Deployment in its namespace, or a Render service. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.kind == 'Deployment' || self.kind == 'RenderService'",
    message = "spec.scaleTargetRef.kind must be Deployment or RenderService")
@ValidationRule(value = "self.kind != 'RenderService' || has(self.apiKeySecretRef)",
    message = "spec.scaleTargetRef.apiKeySecretRef is required when kind is RenderService")
public class ScaleTargetRef {
  public static final String DEPLOYMENT = "Deployment";
  public static final String RENDER_SERVICE = "RenderService";

  @JsonPropertyDescription("Deployment (scaled through its scale subresource, same namespace) or RenderService "
      + "(instance count set through Render's API).")
  @Default(DEPLOYMENT)
  public String kind = DEPLOYMENT;

  @JsonPropertyDescription("The Deployment's name, or the Render service id (srv-...).")
  @Required
  @ValidationRule(value = "size(self) > 0", message = "spec.scaleTargetRef.name must not be empty")
  public String name;

  @JsonPropertyDescription("RenderService only: Secret (same namespace) holding the Render API key; the standalone "
      + "Render mode reads RENDER_API_KEY instead.")
  public SecretKeyRef apiKeySecretRef;

  public ScaleTargetRef() {}

  public static ScaleTargetRef deployment(String name) {
    ScaleTargetRef r = new ScaleTargetRef();
    r.name = name;
    return r;
  }

  public static ScaleTargetRef render(String serviceId, String apiKeySecretName) {
    ScaleTargetRef r = new ScaleTargetRef();
    r.kind = RENDER_SERVICE;
    r.name = serviceId;
    if (apiKeySecretName != null) {
      r.apiKeySecretRef = new SecretKeyRef();
      r.apiKeySecretRef.name = apiKeySecretName;
    }
    return r;
  }

  /** A key of a Secret in the QueueScaler's namespace. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class SecretKeyRef {
    @JsonPropertyDescription("Secret name.")
    @Required
    public String name;

    @JsonPropertyDescription("Key within the Secret.")
    @Default("apiKey")
    public String key = "apiKey";
  }
}
