package io.queuepilot.controller.target;

import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.queuepilot.controller.crd.QueueScaler;
import io.queuepilot.controller.crd.ScaleTargetRef;
import io.queuepilot.controller.k8s.KubeErrors;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Deployment scaled through its scale subresource, which refuses to act while an HPA
 * (autoscaling/v2), a KEDA ScaledObject or an earlier QueueScaler targets the same Deployment.
 * Before a scale-down it marks each pod's deletion cost from the jobs it holds
 * ({@link PodDeletionCosts}), so the ReplicaSet controller removes idle pods first.
 */
public final class KubernetesDeploymentScaleTarget implements ScaleTarget {

  static final ResourceDefinitionContext KEDA_SCALED_OBJECT = new ResourceDefinitionContext.Builder()
      .withGroup("keda.sh").withVersion("v1alpha1").withKind("ScaledObject").withPlural("scaledobjects")
      .withNamespaced(true).build();

  private final KubernetesClient client;
  private final String namespace;
  private final String name;
  private final String scalerName;
  private final PodDeletionCosts deletionCosts;
  /** Null: scale down right after marking (no cache to wait for, e.g. tools). */
  private final DeletionCostSettling settling;
  private volatile String scaleDownWithheld;
  private static volatile boolean warnedForbidden;
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(KubernetesDeploymentScaleTarget.class);

  /** A target without pod-deletion costs or QueueScaler peers (RBAC tests, tools). */
  public KubernetesDeploymentScaleTarget(KubernetesClient client, String namespace, String name) {
    this(client, namespace, name, null, null, null);
  }

  /**
   * The target of QueueScaler {@code scalerName} (other QueueScalers on the same Deployment are
   * conflicts when they are older); {@code deletionCosts} null: scale-down without marking pods.
   */
  public KubernetesDeploymentScaleTarget(KubernetesClient client, String namespace, String name, String scalerName,
      PodDeletionCosts deletionCosts, DeletionCostSettling settling) {
    this.client = client;
    this.namespace = namespace;
    this.name = name;
    this.scalerName = scalerName;
    this.deletionCosts = deletionCosts;
    this.settling = settling;
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
    if (scalerName != null) {
      found.addAll(earlierQueueScalers());
    }
    if (found.isEmpty()) return Optional.empty();
    return Optional.of(String.join(" and ", found) + " also scale" + (found.size() == 1 ? "s " : " ")
        + describe() + "; QueuePilot leaves it alone until " + (found.size() == 1 ? "that is" : "those are")
        + " removed");
  }

  /**
   * Other QueueScalers aimed at the same Deployment that came first (older creationTimestamp,
   * the name as tie-break): the first one keeps scaling, every later one refuses, so two never
   * both act. Deleting or retargeting the first lets the next one take over.
   */
  private List<String> earlierQueueScalers() throws ScaleTargetException {
    List<QueueScaler> all;
    try {
      all = client.resources(QueueScaler.class).inNamespace(namespace).list().getItems();
    } catch (KubernetesClientException e) {
      throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
          "listing QueueScalers in " + namespace + " failed: " + KubeErrors.sentence(e), null, e);
    }
    QueueScaler self = all.stream().filter(q -> scalerName.equals(q.getMetadata().getName())).findFirst().orElse(null);
    List<String> earlier = new ArrayList<>();
    for (QueueScaler other : all) {
      if (other == self || scalerName.equals(other.getMetadata().getName()) || !targets(other)) continue;
      if (other.getMetadata().getDeletionTimestamp() != null) continue; // being deleted: it no longer acts
      if (self == null || FIRST_CREATED.compare(other, self) < 0) {
        earlier.add("QueueScaler " + other.getMetadata().getName() + " (created "
            + other.getMetadata().getCreationTimestamp() + ", before this one)");
      }
    }
    return earlier;
  }

  private static final java.util.Comparator<QueueScaler> FIRST_CREATED = java.util.Comparator
      .comparing((QueueScaler q) -> java.time.Instant.parse(q.getMetadata().getCreationTimestamp()))
      .thenComparing(q -> q.getMetadata().getName());

  private boolean targets(QueueScaler q) {
    ScaleTargetRef ref = q.getSpec() == null ? null : q.getSpec().scaleTargetRef;
    if (ref == null || !name.equals(ref.name)) return false;
    return ref.kind == null || ScaleTargetRef.DEPLOYMENT.equals(ref.kind);
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
    if (deletionCosts != null) {
      Deployment d;
      try {
        d = client.apps().deployments().inNamespace(namespace).withName(name).get();
      } catch (KubernetesClientException e) {
        throw failure("read", e);
      }
      if (d == null) throw failure("scale", new KubernetesClientException("not found", 404, null));
      Integer now = d.getSpec().getReplicas();
      if (now == null || replicas < now) {
        // Mark first: a refusal here leaves the count alone, busy pods are never picked blindly.
        PodDeletionCosts.Marking marking;
        try {
          marking = deletionCosts.mark(namespace, name, d.getSpec().getSelector());
        } catch (ScaleTargetException e) {
          scaleDownWithheld = "not scaling down from " + now + " to " + replicas + ": " + e.getMessage();
          throw new ScaleTargetException(e.kind(), scaleDownWithheld, e.retryAt(), e);
        }
        java.time.Instant at = settling == null ? null : settling.deferUntil(namespace + "/" + name, marking.patched().size());
        if (at != null) {
          String costs = marking.patched().isEmpty() ? "the pod-deletion costs set by the cycle before"
              : "the pod-deletion costs just set on " + marking.patched();
          throw new ScaleTargetException(ScaleTargetException.Kind.DEFERRED, "scaling down from " + now + " to " + replicas
              + " once " + costs + " have reached the ReplicaSet controller", at, null);
        }
      }
    }
    try {
      client.apps().deployments().inNamespace(namespace).withName(name).scale(replicas);
    } catch (KubernetesClientException e) {
      throw failure("scale", e);
    }
  }

  /**
   * Why this target's last scale-down was withheld: the pods or the jobs they hold could not be
   * read, or a pod could not be marked, so idle pods could not be told from busy ones; empty when
   * no scale-down was withheld. (Targets are built per reconcile, so this is this cycle's.)
   */
  public Optional<String> scaleDownWithheld() {
    return Optional.ofNullable(scaleDownWithheld);
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
