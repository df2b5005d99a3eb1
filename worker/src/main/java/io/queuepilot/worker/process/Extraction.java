package io.queuepilot.worker.process;

import java.util.List;

/**
 * What a processor made of one document: its text, page count, who produced it, the events, and
 * the model tokens it used (null for the local processor). Maps onto write_back_extraction's
 * p_document {"text","page_count","processor","model"}, p_events and p_tokens_used.
 */
public record Extraction(
    String text, int pageCount, String processor, String model, List<ClinicalEvent> events, Integer tokensUsed) {}
