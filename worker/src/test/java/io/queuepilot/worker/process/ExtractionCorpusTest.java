package io.queuepilot.worker.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.fakes.Corpus;
import io.queuepilot.worker.fakes.ProductionProcessor;
import io.queuepilot.worker.fakes.Corpus.Doc;
import io.queuepilot.worker.fakes.RecordingTokenBudget;
import io.queuepilot.worker.fakes.TestJobContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The corpus through the openai processor with the production defaults, against the fake that
 * bills by OpenAI's published rules: every planted fact is found or stands on a page the
 * extraction lists as unread; every page is read or listed; every call's reservation is at least
 * what OpenAI's limiter counts and what usage bills. Writes the per-kind report of
 * docs/worker.md to target/extraction-corpus-report.md.
 */
class ExtractionCorpusTest {

  @TempDir static Path dir;
  static FakeOpenAi openai;
  static OpenAiModelClient client;
  static Corpus corpus;
  static final List<String> report = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    openai = new FakeOpenAi("sk-test", 13);
    client = new OpenAiModelClient(openai.baseUrl(), "sk-test", Duration.ofSeconds(30));
    corpus = new Corpus(dir);
    report.add("| Document kind | Pages | Pages read | Facts planted | Facts found | Model calls | Tokens reserved | Tokens billed |");
    report.add("|---|---|---|---|---|---|---|---|");
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    openai.close();
    Files.createDirectories(Path.of("target"));
    Files.write(Path.of("target", "extraction-corpus-report.md"), report);
    report.forEach(System.out::println);
  }

  /** The production defaults (docs/worker.md), except the call limit where a test says. */
  private static OpenAiProcessor processor(RecordingTokenBudget budget, int maxCalls) {
    return ProductionProcessor.create(client, budget, maxCalls);
  }

  /** Runs one document; asserts coverage and reservations; adds its report row. */
  private static Extraction run(Doc doc, int maxCalls) throws Exception {
    RecordingTokenBudget budget = new RecordingTokenBudget();
    int before = openai.calls().size();
    Extraction ex = processor(budget, maxCalls).process(new TestJobContext("{}"),
        new DocumentInput(doc.file(), Files.size(doc.file()), doc.mime(), doc.file().getFileName().toString()));
    List<FakeOpenAi.Call> calls = openai.calls().subList(before, openai.calls().size());

    Set<Integer> unread = ex.unreadPages().stream().map(Extraction.UnreadPage::page).collect(Collectors.toSet());
    Set<String> found = ex.events().stream().map(e -> e.eventType() + ":" + e.name() + "@" + e.sourcePage())
        .collect(Collectors.toSet());
    long foundPlanted = doc.facts().stream().filter(f -> found.contains(f.key() + "@" + f.page())).count();
    // no fact silently lost: found on its page, or its page is listed as unread
    assertThat(doc.lost(ex)).as(doc.kind() + ": facts neither found nor on an unread page").isEmpty();
    assertThat(ex.pageCount()).as(doc.kind()).isEqualTo(doc.pages());
    assertThat(ex.pagesRead() + unread.size()).as(doc.kind()).isEqualTo(doc.pages());
    assertThat(calls).hasSize(ex.modelCalls());
    assertThat(budget.reserved).hasSize(calls.size());
    long billed = 0;
    for (int i = 0; i < calls.size(); i++) {
      assertThat(budget.reserved.get(i)).as(doc.kind() + " call " + i + " vs limiter").isGreaterThanOrEqualTo(calls.get(i).rateLimitTokens());
      assertThat(budget.reserved.get(i)).as(doc.kind() + " call " + i + " vs usage").isGreaterThanOrEqualTo(calls.get(i).billedTokens());
      assertThat(budget.settled.get(i)).isEqualTo(calls.get(i).billedTokens());
      billed += calls.get(i).billedTokens();
    }
    assertThat(ex.tokensReserved()).isEqualTo(budget.reserved.stream().mapToLong(Long::longValue).sum());
    assertThat((long) ex.tokensUsed()).isEqualTo(billed);
    report.add("| " + doc.kind() + " | " + doc.pages() + " | " + ex.pagesRead()
        + (unread.isEmpty() ? "" : " (unread: " + ranges(ex.unreadPages()) + ")") + " | " + doc.facts().size() + " | " + foundPlanted
        + " | " + ex.modelCalls() + " | " + ex.tokensReserved() + " | " + billed + " |");
    return ex;
  }

  /** "40–120 call_limit" for a run of unread pages with one reason. */
  static String ranges(List<Extraction.UnreadPage> pages) {
    List<String> out = new ArrayList<>();
    int i = 0;
    while (i < pages.size()) {
      int j = i;
      while (j + 1 < pages.size() && pages.get(j + 1).page() == pages.get(j).page() + 1
          && pages.get(j + 1).reason().equals(pages.get(i).reason())) {
        j++;
      }
      out.add((i == j ? "" + pages.get(i).page() : pages.get(i).page() + "–" + pages.get(j).page()) + " " + pages.get(i).reason());
      i = j + 1;
    }
    return String.join(", ", out);
  }

  private static JobFailure refused(Doc doc) throws Exception {
    try {
      processor(new RecordingTokenBudget(), 40).process(new TestJobContext("{}"),
          new DocumentInput(doc.file(), Files.size(doc.file()), doc.mime(), "x"));
    } catch (JobFailure f) {
      report.add("| " + doc.kind() + " | " + doc.pages() + " | 0 (failed: " + f.code() + ") | 0 | 0 | 0 | 0 | 0 |");
      return f;
    }
    throw new AssertionError(doc.kind() + " was accepted");
  }

  @Test
  void aTenPageScanIsReadPageByPage() throws Exception {
    Extraction ex = run(corpus.scannedPdf(10), 40);
    assertThat(ex.pagesRead()).isEqualTo(10);
    assertThat(ex.events()).hasSize(10);
    assertThat(ex.modelCalls()).isEqualTo(3); // 4 + 4 + 2 page images
    assertThat(ex.outcome()).isEqualTo("complete");
  }

  @Test
  void typedAndScannedPagesOfOnePdfAreAllRead() throws Exception {
    Extraction ex = run(corpus.mixedPdf(), 40);
    assertThat(ex.pagesRead()).isEqualTo(5);
    assertThat(ex.events()).hasSize(6);
  }

  @Test
  void aLongTextPdfIsSplitIntoCallsAndItsLastPageIsRead() throws Exception {
    Doc doc = corpus.longTextPdf(120);
    Extraction ex = run(doc, 40);
    assertThat(ex.events()).extracting(ClinicalEvent::sourcePage).containsExactly(1, 60, 120);
    assertThat(ex.modelCalls()).isGreaterThan(1);
    // the stored text is capped, and says so; the model read all of it
    assertThat(ex.textTruncated()).isTrue();
    assertThat(ex.textChars()).isGreaterThan(200_000);
    assertThat(ex.text()).hasSize(200_000);
  }

  @Test
  void aDocumentBeyondTheCallLimitIsPartialAndNamesThePagesNotRead() throws Exception {
    Extraction ex = run(corpus.longTextPdf(120), 1);
    assertThat(ex.outcome()).isEqualTo("partial");
    assertThat(ex.modelCalls()).isEqualTo(1);
    assertThat(ex.unreadPages()).isNotEmpty().allSatisfy(u -> assertThat(u.reason()).isEqualTo("call_limit"));
    assertThat(ex.unreadPages().get(ex.unreadPages().size() - 1).page()).isEqualTo(120);
  }

  @Test
  void everyPageOfAMultiPageTiffIsRead() throws Exception {
    Extraction ex = run(corpus.multiPageTiff(3), 40);
    assertThat(ex.pagesRead()).isEqualTo(3);
    assertThat(ex.events()).extracting(ClinicalEvent::sourcePage).containsExactly(1, 2, 3);
  }

  @Test
  void photosAndScreenshotsAreReadAndBilledByTheModelsImageRule() throws Exception {
    Extraction photo = run(corpus.photo(), 40);
    assertThat(photo.events()).hasSize(2);
    FakeOpenAi.Call call = openai.calls().get(openai.calls().size() - 1);
    // 4032x3024 is sent as OpenAI keeps it, 1024x768: 2x2 tiles, gpt-4o-mini 2833 + 4 x 5667
    assertThat(call.imageTokens()).isEqualTo(2833 + 4 * 5667);
    run(corpus.png(), 40);
  }

  @Test
  void anAnswerCutAtTheOutputCapGetsALargerBudgetNotABlindRepeat() throws Exception {
    Extraction ex = run(corpus.longNote(60), 40);
    assertThat(ex.events()).hasSize(60);
    List<FakeOpenAi.Call> calls = openai.calls();
    FakeOpenAi.Call cut = calls.get(calls.size() - 2);
    FakeOpenAi.Call full = calls.get(calls.size() - 1);
    assertThat(cut.finishReason()).isEqualTo("length");
    assertThat(cut.request().path("max_completion_tokens").asInt()).isEqualTo(2000);
    assertThat(full.finishReason()).isEqualTo("stop");
    assertThat(full.request().path("max_completion_tokens").asInt()).isEqualTo(8000);
  }

  @Test
  void partialDatesAreKeptAndInvalidEventsDroppedWithTheirReasons() throws Exception {
    Extraction ex = run(corpus.partialDatesAndBadEvents(), 40);
    assertThat(ex.events()).extracting(ClinicalEvent::name, ClinicalEvent::eventDate).contains(
        org.assertj.core.groups.Tuple.tuple("Type 2 diabetes", "2019"), org.assertj.core.groups.Tuple.tuple("Asthma", "2015-06"),
        org.assertj.core.groups.Tuple.tuple("Hypothyroidism", "2021-11-03"));
    assertThat(ex.droppedEvents()).extracting(Extraction.DroppedEvent::field)
        .containsExactlyInAnyOrder("event_type", "event_date", "confidence");
    assertThat(ex.droppedEvents()).allSatisfy(d -> assertThat(d.event()).isNotNull());
  }

  @Test
  void aPageTheModelWillNotReadIsIsolatedAndListed() throws Exception {
    Extraction ex = run(corpus.filteredPage(), 40);
    assertThat(ex.outcome()).isEqualTo("partial");
    assertThat(ex.unreadPages()).containsExactly(new Extraction.UnreadPage(2, "content_filter"));
    assertThat(ex.pagesRead()).isEqualTo(2);
  }

  @Test
  void unreadableDocumentsFailWithTheirReason() throws Exception {
    assertThat(refused(corpus.encryptedPdf()).code()).isEqualTo("encrypted_pdf");
    assertThat(refused(corpus.corruptPdf()).code()).isEqualTo("corrupt_pdf");
    assertThat(refused(corpus.corruptTiff()).code()).isEqualTo("corrupt_image");
  }
}
