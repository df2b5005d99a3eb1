package io.queuepilot.controller.k8s;

import io.queuepilot.controller.crd.QueueScaler;

/** Publishes a Kubernetes Event about a QueueScaler; the only place Events are written. */
public interface EventRecorder {

  /** {@code type} is Normal or Warning; {@code reason} a CamelCase word. */
  void record(QueueScaler scaler, String type, String reason, String message);
}
