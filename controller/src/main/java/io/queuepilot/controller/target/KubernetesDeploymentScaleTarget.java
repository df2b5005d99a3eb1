package io.queuepilot.controller.target;

import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.queuepilot.controller.k8s.KubeErrors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Deployment scaled through its scale subresource, which refuses to act while an HPA
 * (autoscaling/v2) or a KEDA ScaledObject targets the same Deployment.
 */
public final class KubernetesDeploymentScaleTarget implements ScaleTarget {

  static final ResourceDefinitionContext KEDA_SCALED_OBJECT = new ResourceDefinitionContext.Builder()
      .withGroup("keda.sh").withVersion("v1alpha1").withKind("ScaledObject").withPlural("scaledobjects")
      .withNamespaced(true).build();

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private static volatile boolean warnedForbidden;
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(KubernetesDeploymentScaleTarget.class);

  public KubernetesDeploymentScaleTarget(KubernetesClient client, String namespace, String name) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
  }

  @Override
  public String describe() {
    return "deployment/" + name;
  }

  @Override
  public int currentReplicas() throws ScaleTargetException {
    Deployment d;
    try {
      d = client.apps().deployments().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      throw failure("read", e);
    }
    if (d == null) {
      throw new ScaleTargetException(ScaleTargetException.Kind.NOT_FOUND,
          "deployment " + namespace + "/" + name + " not found (HTTP 404)");
    }
    Integer replicas = d.getSpec() == null ? null : d.getSpec().getReplicas();
    // The API server defaults spec.replicas to 1 when it is omitted.
    return replicas == null ? 1 : replicas;
  }

  @Override
  public Optional<String> conflictingAutoscaler() throws ScaleTargetException {
    List<String> found = new ArrayList<>();
    try {
      for (HorizontalPodAutoscaler hpa :
          client.autoscaling().v2().horizontalPodAutoscalers().inNamespace(namespace).list().getItems()) {
        var ref = hpa.getSpec() == null ? null : hpa.getSpec().getScaleTargetRef();
        if (ref != null && "Deployment".equals(ref.getKind()) && name.equals(ref.getName())) {
          found.add("HorizontalPodAutoscaler " + hpa.getMetadata().getName());
        }
      }
    } catch (KubernetesClientException e) {
      if (!forbidden(e, "HorizontalPodAutoscalers")) {
        throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
            "listing HorizontalPodAutoscalers in " + namespace + " failed: " + KubeErrors.sentence(e), null, e);
      }
    }
    try {
      for (GenericKubernetesResource so :
          client.genericKubernetesResources(KEDA_SCALED_OBJECT).inNamespace(namespace).list().getItems()) {
        Object spec = so.getAdditionalProperties().get("spec");
        Object ref = spec instanceof Map<?, ?> m ? m.get("scaleTargetRef") : null;
        if (ref instanceof Map<?, ?> r && name.equals(r.get("name"))
            && (r.get("kind") == null || "Deployment".equals(r.get("kind")))) {
          found.add("KEDA ScaledObject " + so.getMetadata().getName());
        }
      }
    } catch (KubernetesClientException e) {
      // 404: KEDA's CRD is not installed, so no ScaledObject can exist.
      if (e.getCode() != 404 && !forbidden(e, "KEDA ScaledObjects")) {
        throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
            "listing KEDA ScaledObjects in " + namespace + " failed: " + KubeErrors.sentence(e), null, e);
      }
    }
    if (found.isEmpty()) return Optional.empty();
    return Optional.of(String.join(" and ", found) + " also scale" + (found.size() == 1 ? "s " : " ")
        + describe() + "; QueuePilot leaves it alone until " + (found.size() == 1 ? "that is" : "those are")
        + " removed");
  }

  /**
   * 403: the operator switched detection off in RBAC (chart value rbac.detectConflictingAutoscalers);
   * that is their call, so the check is skipped rather than blocking all scaling.
   */
  private boolean forbidden(KubernetesClientException e, String what) {
    if (e.getCode() != 403) return false;
    if (!warnedForbidden) {
      warnedForbidden = true;
      log.warn("not allowed to list {} in {}: conflict detection for {} is off (grant list on them to enable it)",
          what, namespace, describe());
    }
    return true;
  }

  @Override
  public void scale(int replicas) throws ScaleTargetException {
    try {
      client.apps().deployments().inNamespace(namespace).withName(name).scale(replicas);
    } catch (KubernetesClientException e) {
      throw failure("scale", e);
    }
  }

  /** One short sentence per failure; a 403 says which RBAC rule to check. */
  private ScaleTargetException failure(String verb, KubernetesClientException e) {
    String what = "deployment " + namespace + "/" + name;
    if (KubeErrors.refused(e)) {
      return new ScaleTargetException(ScaleTargetException.Kind.FORBIDDEN,
          "the controller may not " + verb + " " + what + " (" + KubeErrors.sentence(e) + "); if it exists, add it to "
              + "the Role's resourceNames (chart value rbac.extraTargetDeployments)", null, e);
    }
    if (e.getCode() == 404) {
      return new ScaleTargetException(ScaleTargetException.Kind.NOT_FOUND, what + " not found (HTTP 404)", null, e);
    }
    return new ScaleTargetException(ScaleTargetException.Kind.FAILED,
        "could not " + verb + " " + what + ": " + KubeErrors.sentence(e), null, e);
  }
}
