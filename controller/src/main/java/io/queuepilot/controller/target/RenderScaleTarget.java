package io.queuepilot.controller.target;

import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import java.util.Optional;

/**
 * A Render service whose instance count is set through Render's API, clamped to Render's
 * 1..100 instances; refuses to act while the service has Render's own autoscaling enabled.
 */
public final class RenderScaleTarget implements ScaleTarget {

  public static final int MIN_INSTANCES = 1;
  public static final int MAX_INSTANCES = 100;

  private final RenderApi api;
  private final String serviceId;

  public RenderScaleTarget(RenderApi api, String serviceId) {
    if (serviceId == null || serviceId.isBlank()) throw new IllegalArgumentException("spec.scaleTargetRef.name (the Render service id) is empty");
    this.api = api;
    this.serviceId = serviceId;
  }

  @Override
  public String describe() {
    return "render-service/" + serviceId;
  }

  @Override
  public int currentReplicas() throws ScaleTargetException {
    return api.getService(serviceId).numInstances();
  }

  @Override
  public Optional<String> conflictingAutoscaler() throws ScaleTargetException {
    return api.getService(serviceId).autoscalingEnabled() ? Optional.of(autoscalingMessage()) : Optional.empty();
  }

  @Override
  public int clamp(int replicas) {
    return Math.max(MIN_INSTANCES, Math.min(MAX_INSTANCES, replicas));
  }

  @Override
  public void scale(int replicas) throws ScaleTargetException {
    // Re-check right before writing: someone may have switched Render autoscaling on meanwhile.
    if (api.getService(serviceId).autoscalingEnabled()) {
      throw new ScaleTargetException(ScaleTargetException.Kind.REFUSED, autoscalingMessage());
    }
    api.scale(serviceId, clamp(replicas));
  }

  private String autoscalingMessage() {
    return "Render service " + serviceId + " has Render autoscaling enabled (serviceDetails.autoscaling.enabled); "
        + "QueuePilot refuses to scale it — disable Render autoscaling or remove this scaler";
  }
}
