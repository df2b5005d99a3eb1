package io.queuepilot.worker.process;

import io.queuepilot.worker.JobContext;
import io.queuepilot.worker.JobFailure;
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
    return new Extraction(text.text(), text.pageCount(), "local", null, rules.events(), null);
  }
}
