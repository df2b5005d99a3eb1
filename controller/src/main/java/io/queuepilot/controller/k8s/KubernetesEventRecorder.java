package io.queuepilot.controller.k8s;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.queuepilot.controller.crd.QueueScaler;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes core/v1 Events about QueueScalers; a failure to write one is logged, never fatal. */
public final class KubernetesEventRecorder implements EventRecorder {

  private static final Logger log = LoggerFactory.getLogger(KubernetesEventRecorder.class);
  private final KubernetesClient client;
  private final Clock clock;

  public KubernetesEventRecorder(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  @Override
  public void record(QueueScaler s, String type, String reason, String message) {
    String now = DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    Event e = new EventBuilder()
        .withNewMetadata()
          .withName(s.getMetadata().getName() + "." + UUID.randomUUID().toString().substring(0, 13).replace("-", ""))
          .withNamespace(s.getMetadata().getNamespace())
        .endMetadata()
        .withNewInvolvedObject()
          .withApiVersion(s.getApiVersion()).withKind(s.getKind())
          .withName(s.getMetadata().getName()).withNamespace(s.getMetadata().getNamespace())
          .withUid(s.getMetadata().getUid())
        .endInvolvedObject()
        .withType(type).withReason(reason)
        .withMessage(message.length() > 1000 ? message.substring(0, 1000) : message)
        .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
        .withNewSource().withComponent("queuepilot-controller").endSource()
        .build();
    try {
      client.v1().events().inNamespace(s.getMetadata().getNamespace()).resource(e).create();
    } catch (KubernetesClientException ex) {
      log.warn("could not record event {} for {}/{}: {}", reason, s.getMetadata().getNamespace(),
          s.getMetadata().getName(), ex.getMessage());
    }
  }
}
