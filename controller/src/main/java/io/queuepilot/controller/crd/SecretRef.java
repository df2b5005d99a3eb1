package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;

/** A Secret in the QueueScaler's namespace. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SecretRef {
  @JsonPropertyDescription("Secret name.")
  @Required
  public String name;

  public SecretRef() {}

  public SecretRef(String name) {
    this.name = name;
  }
}
