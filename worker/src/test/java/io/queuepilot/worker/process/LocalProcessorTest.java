package io.queuepilot.worker.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.worker.JobFailure;
import io.queuepilot.worker.fakes.Documents;
import io.queuepilot.worker.fakes.TestJobContext;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local processor on real PDFs and text files, and its clear failures on bad input. */
class LocalProcessorTest {

  @TempDir Path dir;
  private final LocalProcessor processor = new LocalProcessor(10_000, 100);

  private DocumentInput input(String name, byte[] bytes, String mime) throws Exception {
    Path f = dir.resolve(name);
    Files.write(f, bytes);
    return new DocumentInput(f, bytes.length, mime, name);
  }

  private JobFailure failure(DocumentInput in) {
    try {
      processor.process(new TestJobContext("{}"), in);
    } catch (JobFailure f) {
      return f;
    } catch (Exception e) {
      throw new AssertionError("expected a JobFailure, got " + e, e);
    }
    throw new AssertionError("expected a JobFailure");
  }

  @Test
  void readsThePdfTextLayerPageByPage() throws Exception {
    byte[] pdf = Documents.pdf(List.of(
        List.of("Discharge letter", "Medications:", "- Atorvastatin 20 mg nightly"),
        List.of("Vitals: BP 118/76 mmHg", "Allergies: Latex")));
    Extraction ex = processor.process(new TestJobContext("{}"), input("letter.pdf", pdf, "application/pdf"));
    assertThat(ex.pageCount()).isEqualTo(2);
    assertThat(ex.processor()).isEqualTo("local");
    assertThat(ex.text()).contains("Discharge letter").contains("Atorvastatin");
    assertThat(ex.events()).anySatisfy(e -> {
      assertThat(e.name()).isEqualTo("Atorvastatin");
      assertThat(e.sourcePage()).isEqualTo(1);
    });
    assertThat(ex.events()).anySatisfy(e -> {
      assertThat(e.name()).isEqualTo("blood pressure");
      assertThat(e.sourcePage()).isEqualTo(2);
    });
    assertThat(ex.events()).anySatisfy(e -> assertThat(e.name()).isEqualTo("Latex"));
    ExtractionValidator.validate(ex, "invalid_extraction");
  }

  @Test
  void readsPlainTextAndCapsTheKeptText() throws Exception {
    String text = "Medications:\n- Levothyroxine 50 mcg\n\n" + "filler line without facts\n".repeat(2000);
    Extraction ex = processor.process(new TestJobContext("{}"),
        input("note.txt", text.getBytes(StandardCharsets.UTF_8), "text/plain"));
    assertThat(ex.text()).hasSize(10_000);
    assertThat(ex.events()).singleElement().satisfies(e -> {
      assertThat(e.unit()).isEqualTo("mcg");
      assertThat(e.value()).isEqualTo("50");
    });
  }

  @Test
  void badInputsFailPermanentlyWithAClearCode() throws Exception {
    assertThat(failure(input("empty.pdf", new byte[0], "application/pdf")).code()).isEqualTo("empty_document");
    JobFailure corrupt = failure(input("broken.pdf", "%PDF-1.7\nthis is not a pdf body\n".getBytes(), "application/pdf"));
    assertThat(corrupt.code()).isEqualTo("corrupt_pdf");
    assertThat(corrupt.errorClass()).isEqualTo(JobFailure.ErrorClass.PERMANENT);
    assertThat(failure(input("a.zip", "PK\3\4".getBytes(), "application/zip")).code()).isEqualTo("unsupported_mime_type");
    assertThat(failure(input("fake.pdf", Documents.png(), "application/pdf")).code()).isEqualTo("corrupt_pdf");
    assertThat(failure(input("fake.txt", Documents.png(), "text/plain")).code()).isEqualTo("mime_type_mismatch");
    assertThat(failure(input("scan.png", Documents.png(), "image/png")).code()).isEqualTo("unsupported_by_processor");
  }

  @Test
  void validatorRejectsEventsWriteBackWouldRefuse() {
    Extraction bad = new Extraction("t", 1, "local", null,
        List.of(new ClinicalEvent("diagnosis", "x", null, null, null, null, null, 0.5, 1)), null);
    assertThatThrownBy(() -> ExtractionValidator.validate(bad, "invalid_extraction"))
        .isInstanceOf(JobFailure.class).hasMessageContaining("events[0].event_type");
    Extraction badDate = new Extraction("t", 1, "local", null,
        List.of(new ClinicalEvent("condition", "x", null, null, null, null, "14/03/2024", 0.5, 1)), null);
    assertThatThrownBy(() -> ExtractionValidator.validate(badDate, "invalid_extraction"))
        .hasMessageContaining("ISO date");
  }
}
