package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/** The KEDA ScaledObject resource definition, as tests create ScaledObjects with it. */
final class KubernetesDeploymentScaleTargetAccess {
  static final ResourceDefinitionContext KEDA = new ResourceDefinitionContext.Builder()
      .withGroup("keda.sh").withVersion("v1alpha1").withKind("ScaledObject").withPlural("scaledobjects")
      .withNamespaced(true).build();

  private KubernetesDeploymentScaleTargetAccess() {}
}
