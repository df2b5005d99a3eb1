package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.ArrayList;
import java.util.List;

/**
 * The desired behaviour of one QueueScaler. The same schema is the standalone Render mode's
 * YAML configuration; Java field defaults equal the CRD defaults.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.minReplicas <= self.maxReplicas",
    message = "spec.minReplicas must be less than or equal to spec.maxReplicas")
public class QueueScalerSpec {
  @JsonPropertyDescription("What to scale: a Deployment, or a Render service.")
  @Required
  public ScaleTargetRef scaleTargetRef;

  @JsonPropertyDescription("Secret (same namespace) with the database connection: keys url (JDBC URL), username, "
      + "password, optional listenUrl (direct connection for LISTEN). The login must be a member of queue_controller. "
      + "Not used by the standalone Render mode, which reads QUEUEPILOT_DB_*.")
  public SecretRef databaseSecretRef;

  @JsonPropertyDescription("Job types whose jobs the target's workers process; empty = all.")
  public List<String> jobTypes = new ArrayList<>();

  @JsonPropertyDescription("Job lanes whose jobs the target's workers process; empty = all.")
  public List<String> lanes = new ArrayList<>();

  @JsonPropertyDescription("Fewest replicas, also with an empty queue (0 allows scale to zero).")
  @Default("0")
  @ValidationRule(value = "self >= 0", message = "spec.minReplicas must not be negative")
  public Integer minReplicas = 0;

  @JsonPropertyDescription("Most replicas.")
  @Default("10")
  @ValidationRule(value = "self >= 0", message = "spec.maxReplicas must not be negative")
  public Integer maxReplicas = 10;

  @JsonPropertyDescription("Jobs one replica processes at once (the worker's QUEUEPILOT_CONCURRENCY).")
  @Default("4")
  @ValidationRule(value = "self >= 1", message = "spec.concurrencyPerReplica must be at least 1")
  public Integer concurrencyPerReplica = 4;

  @JsonPropertyDescription("Per-minute token / request budget that caps the replica count; unset = no cap.")
  public TokenBudget tokenBudget;

  @JsonPropertyDescription("Queue-wait target: replicas are sized so the backlog starts within this many seconds, "
      + "including pod start-up.")
  @Default("60")
  @ValidationRule(value = "self >= 1", message = "spec.targetQueueWaitSeconds must be at least 1")
  public Integer targetQueueWaitSeconds = 60;

  @JsonPropertyDescription("Seconds from a scale-up until a new worker takes jobs (image pull, JVM start, readiness).")
  @Default("30")
  @ValidationRule(value = "self >= 0", message = "spec.podStartupSeconds must not be negative")
  public Integer podStartupSeconds = 30;

  @JsonPropertyDescription("A processing job whose heartbeat is older than this many seconds is stale and requeued.")
  @Default("60")
  @ValidationRule(value = "self >= 1", message = "spec.heartbeatTimeoutSeconds must be at least 1")
  public Integer heartbeatTimeoutSeconds = 60;

  @JsonPropertyDescription("Scale-up behaviour.")
  public ScaleUpBehavior scaleUp = new ScaleUpBehavior();

  @JsonPropertyDescription("Scale-down behaviour.")
  public ScaleDownBehavior scaleDown = new ScaleDownBehavior();

  @JsonPropertyDescription("Seconds between reconciles when no NOTIFY arrives.")
  @Default("15")
  @ValidationRule(value = "self >= 1", message = "spec.pollIntervalSeconds must be at least 1")
  public Integer pollIntervalSeconds = 15;

  @JsonPropertyDescription("When true the scaler observes and requeues but never changes the replica count.")
  @Default("false")
  public Boolean paused = false;
}
