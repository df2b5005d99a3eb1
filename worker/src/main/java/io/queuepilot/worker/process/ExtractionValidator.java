package io.queuepilot.worker.process;

import io.queuepilot.worker.JobFailure;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/**
 * Checks an extraction before write-back so that nothing half-valid reaches the clinical tables:
 * known event types, non-blank names, confidence in 0..1, ISO dates, positive pages.
 */
public final class ExtractionValidator {

  private ExtractionValidator() {}

  /** Throws a permanent failure naming the first invalid event (with {@code code}, e.g. invalid_model_output). */
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
      ClinicalEvent ev = events.get(i);
      String where = "events[" + i + "]";
      if (ev == null) {
        throw invalid(code, where, "is null");
      }
      if (!ClinicalEvent.TYPES.contains(ev.eventType())) {
        throw invalid(code, where + ".event_type", "must be one of " + ClinicalEvent.TYPES + ", got '" + ev.eventType() + "'");
      }
      if (ev.name() == null || ev.name().isBlank() || ev.name().length() > 500) {
        throw invalid(code, where + ".name", "must be a non-blank string of at most 500 characters");
      }
      if (!(ev.confidence() >= 0 && ev.confidence() <= 1)) {
        throw invalid(code, where + ".confidence", "must be between 0 and 1, got " + ev.confidence());
      }
      if (ev.eventDate() != null) {
        try {
          LocalDate.parse(ev.eventDate());
        } catch (DateTimeParseException x) {
          throw invalid(code, where + ".event_date", "must be an ISO date (YYYY-MM-DD) or null, got '" + ev.eventDate() + "'");
        }
      }
      if (ev.sourcePage() != null && ev.sourcePage() < 1) {
        throw invalid(code, where + ".source_page", "must be >= 1 or null");
      }
    }
  }

  private static JobFailure invalid(String code, String field, String problem) {
    return JobFailure.permanent(code, field + " " + problem, Map.of("field", field));
  }
}
