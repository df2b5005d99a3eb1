package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.queuepilot.controller.crd.QueueScaler;
import io.queuepilot.controller.crd.ScaleTargetRef;
import io.queuepilot.controller.db.DatabaseConfigException;
import io.queuepilot.controller.core.SpecMapping;
import io.queuepilot.controller.target.KubernetesDeploymentScaleTarget;
import io.queuepilot.controller.target.PodDeletionCosts;
import io.queuepilot.controller.target.DeletionCostSettling;
import io.queuepilot.queue.WorkerOccupancy;
import io.queuepilot.controller.target.RenderApi;
import io.queuepilot.controller.target.RenderScaleTarget;
import io.queuepilot.scaling.ScaleTarget;
import java.net.URI;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds the {@link ScaleTarget} a QueueScaler names. Render API clients are kept per key so
 * their write-rate accounting survives across reconciles.
 */
public final class ScaleTargets {

  private final KubernetesClient client;
  private final SecretReader secrets;
  private final URI renderApiUrl;
  private final Clock clock;
  private final Map<String, RenderApi> renderApis = new ConcurrentHashMap<>();
  /** One per controller: a deferred scale-down is remembered across reconciles. */
  private final DeletionCostSettling settling;

  public ScaleTargets(KubernetesClient client, URI renderApiUrl, Clock clock) {
    this.client = client;
    this.secrets = new SecretReader(client);
    this.renderApiUrl = renderApiUrl;
    this.clock = clock;
    this.settling = new DeletionCostSettling(clock);
  }

  /**
   * The target of {@code qs}; for a Deployment, {@code occupancy} (null when the database is not
   * reachable) feeds the pod-deletion costs marked before a scale-down.
   */
  public ScaleTarget forScaler(QueueScaler qs, WorkerOccupancy occupancy) throws DatabaseConfigException {
    ScaleTargetRef ref = qs.getSpec().scaleTargetRef;
    String ns = qs.getMetadata().getNamespace();
    if (ref == null) throw new IllegalArgumentException("spec.scaleTargetRef is required");
    if (ref.name == null || ref.name.isBlank()) throw new IllegalArgumentException("spec.scaleTargetRef.name must not be empty");
    String kind = ref.kind == null ? ScaleTargetRef.DEPLOYMENT : ref.kind;
    if (ScaleTargetRef.DEPLOYMENT.equals(kind)) {
      PodDeletionCosts costs = occupancy == null ? null
          : new PodDeletionCosts(client, occupancy, SpecMapping.heartbeatTimeout(qs.getSpec()));
      return new KubernetesDeploymentScaleTarget(client, ns, ref.name, qs.getMetadata().getName(), costs, settling);
    }
    if (ScaleTargetRef.RENDER_SERVICE.equals(kind)) {
      String key = secrets.renderApiKey(ns, ref.apiKeySecretRef);
      RenderApi api = renderApis.computeIfAbsent(key, k -> new RenderApi(renderApiUrl, k, clock));
      return new RenderScaleTarget(api, ref.name);
    }
    throw new IllegalArgumentException("spec.scaleTargetRef.kind must be Deployment or RenderService, was " + kind);
  }
}
