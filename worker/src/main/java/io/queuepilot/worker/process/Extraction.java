package io.queuepilot.worker.process;

import java.util.List;

/**
 * What a processor made of one document: its text (as much as is stored, and whether it was
 * cut), page accounting (every page is read or listed as unread with its reason), who produced
 * it, the events, the events dropped by validation (with their reasons), and the model calls
 * and tokens it used (null for the local processor). Maps onto write_back_extraction's
 * p_document, p_events and p_tokens_used.
 */
public record Extraction(
    String text, int pageCount, String processor, String model, List<ClinicalEvent> events, Integer tokensUsed,
    int pagesRead, List<UnreadPage> unreadPages, List<DroppedEvent> droppedEvents, boolean textTruncated,
    long textChars, int modelCalls, long tokensReserved) {

  /** A page that was not read, and why (e.g. no_text_layer, content_filter, output_too_long, call_limit). */
  public record UnreadPage(int page, String reason) {}

  /** An event the model returned that failed validation: which call, its index there, what was wrong, the event as returned. */
  public record DroppedEvent(int call, int index, String field, String reason, Object event) {}

  /** A complete extraction of every page with nothing dropped (the local processor's shape). */
  public Extraction(String text, int pageCount, String processor, String model, List<ClinicalEvent> events,
      Integer tokensUsed) {
    this(text, pageCount, processor, model, events, tokensUsed, pageCount, List.of(), List.of(), false,
        text == null ? 0 : text.length(), 0, 0);
  }

  /** complete: every page read; partial: some listed in unreadPages. */
  public String outcome() {
    return unreadPages.isEmpty() ? "complete" : "partial";
  }
}
