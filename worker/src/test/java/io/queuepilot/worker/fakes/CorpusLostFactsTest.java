package io.queuepilot.worker.fakes;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.worker.process.ClinicalEvent;
import io.queuepilot.worker.process.Extraction;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Corpus.Doc#lost}, the check ExtractionCorpusTest and the extraction bench's probe rest on:
 * a fact found on another page, or missing while its page counts as read, is lost; one on a page
 * listed unread is accounted for.
 */
class CorpusLostFactsTest {

  static final Corpus.Fact ON_1 = new Corpus.Fact("medication", "Metformin", 1);
  static final Corpus.Fact ON_2 = new Corpus.Fact("medication", "Lisinopril", 2);
  static final Corpus.Doc DOC = new Corpus.Doc("two pages", Path.of("x.pdf"), "application/pdf", 2, List.of(ON_1, ON_2), List.of());

  static ClinicalEvent event(Corpus.Fact f, int page) {
    return new ClinicalEvent(f.type(), f.name(), null, null, null, null, null, 0.9, page);
  }

  static Extraction extraction(List<ClinicalEvent> events, List<Extraction.UnreadPage> unread) {
    return new Extraction("", 2, "openai", "gpt-4o-mini", events, 0, 2 - unread.size(), unread, List.of(), false, 0, 1, 0);
  }

  @Test
  void everyFactFoundOnItsPageLosesNothing() {
    assertThat(DOC.lost(extraction(List.of(event(ON_1, 1), event(ON_2, 2)), List.of()))).isEmpty();
  }

  @Test
  void aFactMissingFromAReadPageIsLost() {
    assertThat(DOC.lost(extraction(List.of(event(ON_1, 1)), List.of()))).containsExactly(ON_2);
  }

  @Test
  void aFactFoundOnAnotherPageIsLost() {
    assertThat(DOC.lost(extraction(List.of(event(ON_1, 1), event(ON_2, 1)), List.of()))).containsExactly(ON_2);
  }

  @Test
  void aFactOnAPageListedUnreadIsAccountedFor() {
    assertThat(DOC.lost(extraction(List.of(event(ON_1, 1)), List.of(new Extraction.UnreadPage(2, "call_limit"))))).isEmpty();
  }
}
