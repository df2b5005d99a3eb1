package io.queuepilot.controller.target;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.queuepilot.controller.k8s.KubeErrors;
import io.queuepilot.queue.JobQueueException;
import io.queuepilot.scaling.ScaleTargetException;
import io.queuepilot.queue.WorkerOccupancy;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Marks each pod of a worker Deployment with {@code controller.kubernetes.io/pod-deletion-cost}
 * = the number of jobs it holds in PostgreSQL ({@code worker_id} is the pod name), so that on a
 * scale-down the ReplicaSet controller deletes idle pods first and busy ones finish their jobs.
 * Only pods whose cost changed are patched (an absent annotation already means 0).
 */
public final class PodDeletionCosts {

  /** Kubernetes' annotation: pods with a lower value are deleted first when a ReplicaSet shrinks. */
  public static final String ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

  private static final Logger log = LoggerFactory.getLogger(PodDeletionCosts.class);

  private final KubernetesClient client;
  private final WorkerOccupancy occupancy;
  private final Duration heartbeatTimeout;

  public PodDeletionCosts(KubernetesClient client, WorkerOccupancy occupancy, Duration heartbeatTimeout) {
    this.client = client;
    this.occupancy = occupancy;
    this.heartbeatTimeout = heartbeatTimeout;
  }

  /** What one marking pass saw and did. */
  public record Marking(Map<String, Integer> costs, List<String> patched) {}

  /**
   * Reads the pods the Deployment's selector matches (not those already terminating), the jobs
   * each holds, and patches the annotation where it differs.
   *
   * @throws ScaleTargetException when the pods or the jobs cannot be read, or a patch is refused:
   *     the caller then does not scale down, because it cannot tell idle pods from busy ones
   */
  public Marking mark(String namespace, String deployment, LabelSelector selector) throws ScaleTargetException {
    if (selector == null || (selector.getMatchLabels() == null || selector.getMatchLabels().isEmpty())
        && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty())) {
      throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
          "deployment " + namespace + "/" + deployment + " has no spec.selector; cannot find its pods");
    }
    List<Pod> pods;
    try {
      pods = client.pods().inNamespace(namespace).withLabelSelector(selector).list().getItems().stream()
          .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
          .toList();
    } catch (KubernetesClientException e) {
      throw refused("list the pods of", namespace, deployment, e);
    }
    Map<String, Integer> held;
    try {
      held = occupancy.jobsHeld(pods.stream().map(p -> p.getMetadata().getName()).toList(), heartbeatTimeout);
    } catch (JobQueueException e) {
      throw new ScaleTargetException(ScaleTargetException.Kind.FAILED, "could not read the jobs the pods of deployment "
          + namespace + "/" + deployment + " hold (" + e.getMessage() + "); not scaling down without knowing which are idle",
          null, e);
    }
    Map<String, Integer> costs = new LinkedHashMap<>();
    List<String> patched = new java.util.ArrayList<>();
    for (Pod pod : pods) {
      String name = pod.getMetadata().getName();
      int cost = held.getOrDefault(name, 0);
      costs.put(name, cost);
      String current = pod.getMetadata().getAnnotations() == null ? null : pod.getMetadata().getAnnotations().get(ANNOTATION);
      if (String.valueOf(cost).equals(current) || (cost == 0 && current == null)) continue;
      try {
        client.pods().inNamespace(namespace).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE),
            "{\"metadata\":{\"annotations\":{\"" + ANNOTATION + "\":\"" + cost + "\"}}}");
        patched.add(name);
      } catch (KubernetesClientException e) {
        if (e.getCode() == 404) continue; // deleted meanwhile: nothing to protect
        throw refused("patch pod " + name + " of", namespace, deployment, e);
      }
    }
    if (!patched.isEmpty()) {
      log.info("deployment {}/{}: pod-deletion-cost set on {} of {} pods (jobs held: {})", namespace, deployment,
          patched.size(), pods.size(), costs);
    }
    return new Marking(costs, List.copyOf(patched));
  }

  private static ScaleTargetException refused(String what, String namespace, String deployment,
      KubernetesClientException e) {
    String sentence = "could not " + what + " deployment " + namespace + "/" + deployment + " (" + KubeErrors.sentence(e) + ")";
    if (KubeErrors.refused(e)) {
      return new ScaleTargetException(ScaleTargetException.Kind.FORBIDDEN, sentence
          + "; the controller needs pods get/list/patch in this namespace (the chart's Role has them) to mark idle "
          + "pods for deletion, and does not scale down without", null, e);
    }
    return new ScaleTargetException(ScaleTargetException.Kind.FAILED, sentence + "; not scaling down this cycle", null, e);
  }
}
