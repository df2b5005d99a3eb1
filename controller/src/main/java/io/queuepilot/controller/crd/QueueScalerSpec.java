package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.queuepilot.scaling.ScalerDefaults;
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
  @Default("" + ScalerDefaults.MIN_REPLICAS)
  @ValidationRule(value = "self >= 0", message = "spec.minReplicas must not be negative")
  public Integer minReplicas = ScalerDefaults.MIN_REPLICAS;

  @JsonPropertyDescription("Most replicas.")
  @Default("" + ScalerDefaults.MAX_REPLICAS)
  @ValidationRule(value = "self >= 0", message = "spec.maxReplicas must not be negative")
  public Integer maxReplicas = ScalerDefaults.MAX_REPLICAS;

  @JsonPropertyDescription("Jobs one replica processes at once (the worker's QUEUEPILOT_CONCURRENCY).")
  @Default("" + ScalerDefaults.CONCURRENCY_PER_REPLICA)
  @ValidationRule(value = "self >= 1", message = "spec.concurrencyPerReplica must be at least 1")
  public Integer concurrencyPerReplica = ScalerDefaults.CONCURRENCY_PER_REPLICA;

  @JsonPropertyDescription("Per-minute token / request budget that caps the replica count; unset = no cap.")
  public TokenBudget tokenBudget;

  @JsonPropertyDescription("Queue-wait target: replicas are sized so the backlog starts within this many seconds, "
      + "including pod start-up.")
  @Default("" + ScalerDefaults.TARGET_QUEUE_WAIT_SECONDS)
  @ValidationRule(value = "self >= 1", message = "spec.targetQueueWaitSeconds must be at least 1")
  public Integer targetQueueWaitSeconds = ScalerDefaults.TARGET_QUEUE_WAIT_SECONDS;

  @JsonPropertyDescription("Seconds from a scale-up until a new worker takes jobs (image pull, JVM start, readiness).")
  @Default("" + ScalerDefaults.POD_STARTUP_SECONDS)
  @ValidationRule(value = "self >= 0", message = "spec.podStartupSeconds must not be negative")
  public Integer podStartupSeconds = ScalerDefaults.POD_STARTUP_SECONDS;

  @JsonPropertyDescription("A processing job whose heartbeat is older than this many seconds is stale and requeued.")
  @Default("" + ScalerDefaults.HEARTBEAT_TIMEOUT_SECONDS)
  @ValidationRule(value = "self >= 1", message = "spec.heartbeatTimeoutSeconds must be at least 1")
  public Integer heartbeatTimeoutSeconds = ScalerDefaults.HEARTBEAT_TIMEOUT_SECONDS;

  @JsonPropertyDescription("Scale-up behaviour.")
  public ScaleUpBehavior scaleUp = new ScaleUpBehavior();

  @JsonPropertyDescription("Scale-down behaviour.")
  public ScaleDownBehavior scaleDown = new ScaleDownBehavior();

  @JsonPropertyDescription("Seconds between reconciles when no NOTIFY arrives.")
  @Default("" + ScalerDefaults.POLL_INTERVAL_SECONDS)
  @ValidationRule(value = "self >= 1", message = "spec.pollIntervalSeconds must be at least 1")
  public Integer pollIntervalSeconds = ScalerDefaults.POLL_INTERVAL_SECONDS;

  @JsonPropertyDescription("When true the scaler observes and requeues but never changes the replica count.")
  @Default("" + ScalerDefaults.PAUSED)
  public Boolean paused = ScalerDefaults.PAUSED;
}
