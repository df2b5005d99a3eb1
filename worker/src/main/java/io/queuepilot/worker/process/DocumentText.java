package io.queuepilot.worker.process;

import io.queuepilot.worker.JobFailure;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.io.IOUtils;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;
import org.apache.pdfbox.text.PDFTextStripper;

/**
 * Real text extraction that streams: a PDF's text layer page by page with Apache PDFBox (object
 * streams cached in temp files, not heap), plain text line by line. Every line goes to a
 * {@link LineSink}; the text kept for write-back is capped at {@code maxChars}.
 */
public final class DocumentText {

  /** Receives each line with its 1-based page number. */
  @FunctionalInterface
  public interface LineSink {
    void line(String line, int page);
  }

  /** The kept text (capped) and the page count. */
  public record Result(String text, int pageCount, boolean truncated, long totalChars, java.util.List<Integer> pagesWithoutText) {}

  private DocumentText() {}

  /** Extracts a PDF's text layer; an unreadable or encrypted PDF is a permanent failure. */
  public static Result pdf(DocumentInput doc, int maxChars, LineSink sink) throws JobFailure, IOException {
    StringBuilder kept = new StringBuilder();
    boolean truncated = false;
    long total = 0;
    java.util.List<Integer> blank = new java.util.ArrayList<>();
    try (PDDocument pdf = Loader.loadPDF(doc.file().toFile(), "", IOUtils.createTempFileOnlyStreamCache())) {
      int pages = pdf.getNumberOfPages();
      PDFTextStripper stripper = new PDFTextStripper();
      stripper.setSortByPosition(true);
      for (int p = 1; p <= pages; p++) {
        if (Thread.currentThread().isInterrupted()) {
          throw new java.io.InterruptedIOException("text extraction interrupted");
        }
        stripper.setStartPage(p);
        stripper.setEndPage(p);
        String pageText = stripper.getText(pdf);
        if (pageText.isBlank()) {
          blank.add(p);
        }
        total += pageText.length();
        for (String line : pageText.split("\\R")) {
          sink.line(line, p);
        }
        truncated |= append(kept, pageText, maxChars);
      }
      return new Result(kept.toString(), pages, truncated, total, java.util.List.copyOf(blank));
    } catch (InvalidPasswordException e) {
      throw JobFailure.permanent("encrypted_pdf", "the PDF is password-protected and cannot be read");
    } catch (IOException e) {
      if (e instanceof java.io.InterruptedIOException) {
        throw e;
      }
      throw JobFailure.permanent(
          "corrupt_pdf", "the PDF could not be parsed: " + e.getMessage(), Map.of("parser", "pdfbox"));
    }
  }

  /** Opens a PDF with temp-file caching; an encrypted or unparseable PDF is a permanent failure. */
  public static PDDocument open(DocumentInput doc) throws JobFailure {
    try {
      return Loader.loadPDF(doc.file().toFile(), "", IOUtils.createTempFileOnlyStreamCache());
    } catch (InvalidPasswordException e) {
      throw JobFailure.permanent("encrypted_pdf", "the PDF is password-protected and cannot be read");
    } catch (IOException e) {
      throw JobFailure.permanent(
          "corrupt_pdf", "the PDF could not be parsed: " + e.getMessage(), Map.of("parser", "pdfbox"));
    }
  }

  /** Reads plain text (UTF-8, malformed bytes replaced) line by line. */
  public static Result plain(DocumentInput doc, int maxChars, LineSink sink) throws IOException {
    StringBuilder kept = new StringBuilder();
    boolean[] truncated = {false};
    long[] total = {0};
    var decoder =
        StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(doc.file()), decoder), 64 * 1024)) {
      // Own line splitting: a line is cut at MAX_LINE characters, so even a file without line
      // breaks never builds one huge string.
      char[] buf = new char[16 * 1024];
      StringBuilder line = new StringBuilder();
      long chunks = 0;
      int n;
      while ((n = r.read(buf)) >= 0) {
        if ((++chunks & 0xFF) == 0 && Thread.currentThread().isInterrupted()) {
          throw new java.io.InterruptedIOException("text extraction interrupted");
        }
        for (int i = 0; i < n; i++) {
          char c = buf[i];
          if (c == '\n') {
            total[0] += line.length() + 1;
            truncated[0] = emit(line, sink, kept, maxChars, truncated[0]);
          } else if (c != '\r' && line.length() < MAX_LINE) {
            line.append(c);
          }
        }
      }
      if (!line.isEmpty()) {
        total[0] += line.length() + 1;
        truncated[0] = emit(line, sink, kept, maxChars, truncated[0]);
      }
    }
    return new Result(kept.toString(), 1, truncated[0], total[0], kept.isEmpty() && total[0] == 0 ? java.util.List.of(1) : java.util.List.of());
  }

  private static final int MAX_LINE = 20_000;

  private static boolean emit(StringBuilder line, LineSink sink, StringBuilder kept, int maxChars, boolean truncated) {
    String l = line.toString();
    line.setLength(0);
    sink.line(l, 1);
    return truncated || append(kept, l + "\n", maxChars);
  }

  private static boolean append(StringBuilder kept, String s, int maxChars) {
    int room = maxChars - kept.length();
    if (room <= 0) {
      return true;
    }
    if (s.length() <= room) {
      kept.append(s);
      return false;
    }
    kept.append(s, 0, room);
    return true;
  }
}
