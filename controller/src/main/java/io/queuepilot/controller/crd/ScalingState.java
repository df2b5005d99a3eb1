package io.queuepilot.controller.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;

/**
 * The scaler's memory kept in {@code status.scalingState}, so that a new leader continues the
 * stabilization window and the rate estimate instead of forgetting them or jumping: written
 * by the controller every reconcile, read back when it has no newer history in memory.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ScalingState {
  @JsonPropertyDescription("Replica count the history last applied.")
  public Integer currentReplicas;

  @JsonPropertyDescription("Since when this scaler has been observing (RFC 3339): a scale-down window must be watched in full.")
  public String observingSince;

  @JsonPropertyDescription("When the scaler last changed the count (RFC 3339).")
  public String lastScaleTime;

  @JsonPropertyDescription("When the scaler last raised the count (RFC 3339): a scale-up is held for the scale-down window.")
  public String lastScaleUpTime;

  @JsonPropertyDescription("Budget replica cap in force (kept so the cap does not flip between two values).")
  public Integer budgetCap;

  @JsonPropertyDescription("Last trusted mean job time in seconds.")
  public Double jobSecondsSeen;

  @JsonPropertyDescription("Last observed tokens per job.")
  public Double tokensPerJobSeen;

  @JsonPropertyDescription("Recent recommendations (compacted: highest and lowest per 5 s).")
  public List<Recommendation> recommendations = new ArrayList<>();

  @JsonPropertyDescription("Recent queue observations (one per 5 s, last 90 s).")
  public List<Observation> observations = new ArrayList<>();

  @JsonPropertyDescription("Recent bursts on a quiet queue, for the recurring-burst forecast (the last 4).")
  public List<Burst> bursts = new ArrayList<>();

  /** One recommendation. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Recommendation {
    public String at;
    public Integer replicas;
  }

  /** One observation. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Observation {
    public String at;
    public Long ready;
    public Long processing;
  }

  /** One burst on a quiet queue: its onset, the work just before it and how many jobs it brought. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Burst {
    public String at;
    public Long base;
    public Long jobs;
  }
}
