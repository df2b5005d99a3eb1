package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What the controller observed and did for one QueueScaler. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class QueueScalerStatus {
  @JsonPropertyDescription("Replicas the target runs (spec of the Deployment / Render instance count).")
  public Integer currentReplicas;

  @JsonPropertyDescription("Replicas the last decision asked for.")
  public Integer desiredReplicas;

  @JsonPropertyDescription("The queue at the last successful observation.")
  public QueueStatus queue;

  @JsonPropertyDescription("Whether the scaler is paused (never changes the replica count): by spec.paused or the "
      + "queuepilot.io/paused annotation; the Paused condition's reason says which. kubectl's PAUSED column.")
  public Boolean paused;

  @JsonPropertyDescription("What bound the last decision: min, max, tokenBudget, stabilization, paused or none.")
  public String limitedBy;

  @JsonPropertyDescription("Why the last decision came out as it did.")
  public String reason;

  @JsonPropertyDescription("Jobs requeued because their heartbeat went stale, since this QueueScaler was created.")
  public Long requeuedTotal;

  @JsonPropertyDescription("Stale jobs dead-lettered because their attempts were spent, since this QueueScaler was created.")
  public Long deadLetteredTotal;

  @JsonPropertyDescription("When the controller last changed the replica count (RFC 3339).")
  public String lastScaleTime;

  @JsonPropertyDescription("Ready, ScalingActive, ScalingLimited, Paused, DatabaseReachable, TargetFound, ConflictingAutoscaler.")
  public List<Condition> conditions = new ArrayList<>();

  @JsonPropertyDescription("metadata.generation of the spec this status reflects.")
  public Long observedGeneration;

  @JsonPropertyDescription("The scaler's recommendation window and recent observations, for a new leader to continue.")
  public ScalingState scalingState;

  /** The queue counts of one observation. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class QueueStatus {
    public Long ready;
    public Long scheduled;
    public Long processing;
    public Long stale;
    public Long deadLetter;
    public Double oldestReadyAgeSeconds;
    public Double avgDurationSeconds;
    public Double avgTokensPerJob;
  }
}
