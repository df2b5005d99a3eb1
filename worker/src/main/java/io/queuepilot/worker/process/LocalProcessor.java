package io.queuepilot.worker.process;

import io.queuepilot.worker.JobContext;
import io.queuepilot.worker.JobFailure;
import java.util.List;
import java.util.Map;

/**
 * The no-network processor: real text extraction (PDF text layer with PDFBox, plain text) and the
 * {@link RuleBasedExtractor}. Images cannot be read without a model and are a permanent failure.
 */
public final class LocalProcessor implements Processor {

  private final int maxTextChars;
  private final int maxEvents;

  public LocalProcessor(int maxTextChars, int maxEvents) {
    this.maxTextChars = maxTextChars;
    this.maxEvents = maxEvents;
  }

  @Override
  public Extraction process(JobContext context, DocumentInput document) throws Exception {
    DocumentKind kind = DocumentKind.of(document);
    RuleBasedExtractor rules = new RuleBasedExtractor(maxEvents);
    DocumentText.Result text =
        switch (kind) {
          case PDF -> DocumentText.pdf(document, maxTextChars, rules::line);
          case TEXT -> DocumentText.plain(document, maxTextChars, rules::line);
          default ->
              throw JobFailure.permanent(
                  "unsupported_by_processor",
                  "the local processor cannot read images (" + kind.mime() + "); use QUEUEPILOT_PROCESSOR=openai",
                  Map.of("mime_type", kind.mime()));
        };
    context.checkCancelled();
    // (issue 13) pages without a text layer are not read by this processor: say so
    List<Extraction.UnreadPage> unread =
        text.pagesWithoutText().stream().map(p -> new Extraction.UnreadPage(p, "no_text_layer")).toList();
    if (text.pageCount() > 0 && unread.size() == text.pageCount()) {
      throw JobFailure.permanent("unsupported_by_processor",
          "no page has a text layer (scanned document); the local processor cannot read scans, use QUEUEPILOT_PROCESSOR=openai",
          Map.of("pages_unread", unread));
    }
    return new Extraction(text.text(), text.pageCount(), "local", null, rules.events(), null,
        text.pageCount() - unread.size(), unread, List.of(), text.truncated(), text.totalChars(), 0, 0);
  }
}
