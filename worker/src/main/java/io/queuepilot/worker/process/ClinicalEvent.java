package io.queuepilot.worker.process;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One structured clinical event, exactly the element shape {@code write_back_extraction}'s
 * {@code p_events} expects.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ClinicalEvent(
    @JsonProperty("event_type") String eventType,
    @JsonProperty("name") String name,
    @JsonProperty("code") String code,
    @JsonProperty("code_system") String codeSystem,
    @JsonProperty("value") String value,
    @JsonProperty("unit") String unit,
    @JsonProperty("event_date") String eventDate,
    @JsonProperty("confidence") double confidence,
    @JsonProperty("source_page") Integer sourcePage) {

  /** The event types write-back accepts. */
  public static final java.util.List<String> TYPES =
      java.util.List.of("medication", "condition", "allergy", "observation", "procedure");
}
