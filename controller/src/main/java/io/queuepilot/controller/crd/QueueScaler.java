package io.queuepilot.controller.crd;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * The QueueScaler custom resource (queuepilot.io/v1alpha1): scale one worker target from the
 * depth of a PostgreSQL job queue inside a token budget. The CRD YAML in crds/ is generated
 * from this class by fabric8's crd-generator.
 */
@Group(QueueScaler.GROUP)
@Version(QueueScaler.VERSION)
@ShortNames("qs")
// kubectl get qs. fabric8's crd-generator orders the columns by JSONPath (metadata < spec <
// status), so the default view reads NAME TARGET READY CURRENT DESIRED LIMITEDBY PAUSED PROCESSING
// QUEUED; -o wide adds AGE, MAX, MIN, KIND and REASON. READY is the Ready condition (as KEDA's),
// never a job count: the jobs ready to run are QUEUED. PAUSED is the effective pause the
// controller writes to status (spec.paused or the queuepilot.io/paused annotation), not
// spec.paused alone. PrinterColumnsTest pins this.
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE, priority = 1)
@AdditionalPrinterColumn(name = "Max", jsonPath = ".spec.maxReplicas", type = AdditionalPrinterColumn.Type.INTEGER, priority = 1)
@AdditionalPrinterColumn(name = "Min", jsonPath = ".spec.minReplicas", type = AdditionalPrinterColumn.Type.INTEGER, priority = 1)
@AdditionalPrinterColumn(name = "Kind", jsonPath = ".spec.scaleTargetRef.kind", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Target", jsonPath = ".spec.scaleTargetRef.name", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.conditions[?(@.type==\"Ready\")].reason", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Current", jsonPath = ".status.currentReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Desired", jsonPath = ".status.desiredReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "LimitedBy", jsonPath = ".status.limitedBy", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Paused", jsonPath = ".status.paused", type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(name = "Processing", jsonPath = ".status.queue.processing", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Queued", jsonPath = ".status.queue.ready", type = AdditionalPrinterColumn.Type.INTEGER)
public class QueueScaler extends CustomResource<QueueScalerSpec, QueueScalerStatus> implements Namespaced {
  public static final String GROUP = "queuepilot.io";
  public static final String VERSION = "v1alpha1";
}
