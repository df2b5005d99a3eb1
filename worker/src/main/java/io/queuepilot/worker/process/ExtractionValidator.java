package io.queuepilot.worker.process;

import io.queuepilot.worker.JobFailure;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Checks an extraction before write-back so that nothing half-valid reaches the clinical tables:
 * known event types, non-blank names, confidence in 0..1, ISO (possibly partial) dates, positive
 * pages. {@link #problem} judges one event (the openai processor drops and records each bad event
 * with it); {@link #validate} is the last check of what any processor hands to write-back.
 */
public final class ExtractionValidator {

  private ExtractionValidator() {}

  /** What is wrong with one event: the field and the problem, or empty when it is valid. */
  public static Optional<Problem> problem(ClinicalEvent ev) {
    if (ev == null) {
      return Optional.of(new Problem("", "is null"));
    }
    if (!ClinicalEvent.TYPES.contains(ev.eventType())) {
      return Optional.of(new Problem("event_type", "must be one of " + ClinicalEvent.TYPES + ", got '" + ev.eventType() + "'"));
    }
    if (ev.name() == null || ev.name().isBlank() || ev.name().length() > 500) {
      return Optional.of(new Problem("name", "must be a non-blank string of at most 500 characters"));
    }
    if (!(ev.confidence() >= 0 && ev.confidence() <= 1)) {
      return Optional.of(new Problem("confidence", "must be between 0 and 1, got " + ev.confidence()));
    }
    if (ev.eventDate() != null && PartialDate.precision(ev.eventDate()).isEmpty()) {
      return Optional.of(new Problem("event_date",
          "must be an ISO date (YYYY-MM-DD, YYYY-MM or YYYY) or null, got '" + ev.eventDate() + "'"));
    }
    if (ev.sourcePage() != null && ev.sourcePage() < 1) {
      return Optional.of(new Problem("source_page", "must be >= 1 or null"));
    }
    return Optional.empty();
  }

  /** One field's problem. */
  public record Problem(String field, String message) {}

  /** Throws a permanent failure naming the first invalid event (with {@code code}, e.g. invalid_extraction). */
  public static void validate(Extraction e, String code) throws JobFailure {
    if (e.text() == null) {
      throw JobFailure.permanent(code, "extraction has no text");
    }
    if (e.pageCount() < 0) {
      throw JobFailure.permanent(code, "extraction has a negative page count");
    }
    List<ClinicalEvent> events = e.events();
    if (events == null) {
      throw JobFailure.permanent(code, "extraction has no events array");
    }
    for (int i = 0; i < events.size(); i++) {
      Optional<Problem> p = problem(events.get(i));
      if (p.isPresent()) {
        String field = "events[" + i + "]" + (p.get().field().isEmpty() ? "" : "." + p.get().field());
        throw JobFailure.permanent(code, field + " " + p.get().message(), Map.of("field", field));
      }
    }
  }
}
