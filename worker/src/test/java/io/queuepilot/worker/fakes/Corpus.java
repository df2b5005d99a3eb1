package io.queuepilot.worker.fakes;

import io.queuepilot.testkit.PageInk;
import io.queuepilot.worker.process.Extraction;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.AccessPermission;
import org.apache.pdfbox.pdmodel.encryption.StandardProtectionPolicy;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.apache.pdfbox.pdmodel.graphics.image.LosslessFactory;
import org.apache.pdfbox.pdmodel.graphics.image.PDImageXObject;

/**
 * A corpus of realistic test documents generated in the tests, each with the facts planted in
 * it and the page each stands on: multi-page scans, mixed typed and scanned PDFs, a long text
 * PDF, multi-page TIFF fax output, a phone photo, a long note whose answer outgrows the output
 * cap, events with partial dates and invalid ones, a page the model will not read, and the
 * documents no one can read (encrypted, corrupt). Scanned pages carry their text as
 * {@link PageInk}, never in a text layer.
 */
public final class Corpus {

  /** A planted fact: event type, name, and the page it stands on. */
  public record Fact(String type, String name, int page) {
    public String key() {
      return type + ":" + name;
    }
  }

  /** One document: file, declared MIME type, pages, the facts it holds and the pages no model can be made to read. */
  public record Doc(String kind, Path file, String mime, int pages, List<Fact> facts, List<Integer> unreadable) {

    /** The planted facts the extraction neither found on their page nor listed as on an unread page: lost silently. */
    public List<Fact> lost(Extraction ex) {
      Set<Integer> unread = ex.unreadPages().stream().map(Extraction.UnreadPage::page).collect(Collectors.toSet());
      Set<String> found = ex.events().stream().map(e -> e.eventType() + ":" + e.name() + "@" + e.sourcePage())
          .collect(Collectors.toSet());
      return facts.stream().filter(f -> !found.contains(f.key() + "@" + f.page()) && !unread.contains(f.page())).toList();
    }
  }

  private static final String[] DRUGS = {"Metformin", "Lisinopril", "Atorvastatin", "Amlodipine", "Levothyroxine",
      "Omeprazole", "Simvastatin", "Losartan", "Gabapentin", "Sertraline", "Warfarin", "Furosemide", "Prednisone",
      "Tamsulosin", "Citalopram", "Bisoprolol", "Apixaban", "Ramipril", "Allopurinol", "Clopidogrel"};

  private final Path dir;

  public Corpus(Path dir) {
    this.dir = dir;
  }

  private static String drug(int i) {
    return DRUGS[i % DRUGS.length] + (i >= DRUGS.length ? "-" + (i / DRUGS.length) : "");
  }

  private static String med(Fact f, int dose) {
    return "- " + f.name() + " " + dose + " mg";
  }

  /** A 10-page scanned PDF (no text layer), one medication per page. */
  public Doc scannedPdf(int pages) throws IOException {
    List<Fact> facts = new ArrayList<>();
    List<String> inks = new ArrayList<>();
    for (int p = 1; p <= pages; p++) {
      Fact f = new Fact("medication", drug(p), p);
      facts.add(f);
      inks.add("Clinic letter p" + p + "\n" + med(f, 10 * p));
    }
    return new Doc("scanned PDF (" + pages + " pages)", write("scan-" + pages + ".pdf", pdf(null, inks)),
        "application/pdf", pages, facts, List.of());
  }

  /** One typed page (text layer) and four scanned pages. */
  public Doc mixedPdf() throws IOException {
    List<Fact> facts = new ArrayList<>();
    List<List<String>> typed = new ArrayList<>();
    List<String> inks = new ArrayList<>();
    Fact typedFact = new Fact("medication", "Ramipril", 1);
    facts.add(typedFact);
    typed.add(List.of("Discharge summary", "Medications:", med(typedFact, 5), "BP 132/84"));
    facts.add(new Fact("observation", "blood pressure", 1));
    inks.add(null);
    for (int p = 2; p <= 5; p++) {
      Fact f = new Fact("medication", drug(p + 30), p);
      facts.add(f);
      typed.add(List.of());
      inks.add("Scanned lab sheet\n" + med(f, p));
    }
    return new Doc("mixed PDF (1 typed + 4 scanned)", write("mixed.pdf", pdf(typed, inks)), "application/pdf", 5, facts,
        List.of());
  }

  /** A long text PDF: {@code pages} pages of ~2,500 characters, medications on the first, middle and last page. */
  public Doc longTextPdf(int pages) throws IOException {
    List<Fact> facts = new ArrayList<>();
    List<List<String>> typed = new ArrayList<>();
    Random r = new Random(pages);
    for (int p = 1; p <= pages; p++) {
      List<String> lines = new ArrayList<>();
      lines.add("Progress notes, page " + p);
      for (int l = 0; l < 30; l++) {
        lines.add(filler(r, 80));
      }
      if (p == 1 || p == pages / 2 || p == pages) {
        Fact f = new Fact("medication", drug(p + 40), p);
        facts.add(f);
        lines.add(med(f, 25));
      }
      typed.add(lines);
    }
    return new Doc("long text PDF (" + pages + " pages)", write("long-" + pages + ".pdf", pdf(typed, null)),
        "application/pdf", pages, facts, List.of());
  }

  /** Multi-page TIFF as a fax or scanner writes it (200 dpi letter, Deflate), one medication per page. */
  public Doc multiPageTiff(int pages) throws IOException {
    List<Fact> facts = new ArrayList<>();
    Path f = dir.resolve("fax-" + pages + ".tiff");
    ImageWriter writer = ImageIO.getImageWritersByFormatName("tiff").next();
    try (ImageOutputStream out = ImageIO.createImageOutputStream(f.toFile())) {
      writer.setOutput(out);
      writer.prepareWriteSequence(null);
      for (int p = 1; p <= pages; p++) {
        Fact fact = new Fact("medication", drug(p + 60), p);
        facts.add(fact);
        BufferedImage page = PageInk.page(1700, 2200, "FAX page " + p + "\n" + med(fact, 40));
        BufferedImage gray = new BufferedImage(1700, 2200, BufferedImage.TYPE_BYTE_GRAY);
        gray.getGraphics().drawImage(page, 0, 0, null);
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionType("Deflate");
        writer.writeToSequence(new IIOImage(gray, null, null), param);
      }
      writer.endWriteSequence();
    } finally {
      writer.dispose();
    }
    return new Doc("multi-page TIFF (" + pages + " pages)", f, "image/tiff", pages, facts, List.of());
  }

  /** A phone photo of a prescription: 4032 x 3024 JPEG. */
  public Doc photo() throws IOException {
    Fact fact = new Fact("medication", "Amoxicillin", 1);
    BufferedImage img = PageInk.page(4032, 3024, "Rx\n" + med(fact, 500) + "\nBP 118/76");
    Path f = dir.resolve("photo.jpg");
    ImageIO.write(img, "jpeg", f.toFile());
    return new Doc("phone photo (JPEG 4032x3024)", f, "image/jpeg", 1,
        List.of(fact, new Fact("observation", "blood pressure", 1)), List.of());
  }

  /** A PNG screenshot of a lab portal. */
  public Doc png() throws IOException {
    Fact fact = new Fact("medication", "Insulin glargine", 1);
    BufferedImage img = PageInk.page(1280, 900, "Portal\n" + med(fact, 20));
    Path f = dir.resolve("portal.png");
    ImageIO.write(img, "png", f.toFile());
    return new Doc("PNG screenshot", f, "image/png", 1, List.of(fact), List.of());
  }

  /** A medication list with {@code n} entries: the answer needs more than 2,000 output tokens. */
  public Doc longNote(int n) throws IOException {
    List<Fact> facts = new ArrayList<>();
    StringBuilder b = new StringBuilder("Medication reconciliation\n");
    for (int i = 0; i < n; i++) {
      Fact f = new Fact("medication", drug(i + 80), 1);
      facts.add(f);
      b.append(med(f, 5 + i)).append('\n');
    }
    return new Doc("note with " + n + " medications", write("note-" + n + ".txt", b.toString().getBytes()), "text/plain",
        1, facts, List.of());
  }

  /** Partial dates ("2019", "2015-06") and three invalid events the model also returns. */
  public Doc partialDatesAndBadEvents() throws IOException {
    String text = "Problem list\nCondition: Type 2 diabetes since 2019\nCondition: Asthma since 2015-06\n"
        + "Condition: Hypothyroidism since 2021-11-03\n- Metformin 500 mg\n#BAD_EVENTS\n";
    return new Doc("partial dates + invalid events", write("problems.txt", text.getBytes()), "text/plain", 1,
        List.of(new Fact("condition", "Type 2 diabetes", 1), new Fact("condition", "Asthma", 1),
            new Fact("condition", "Hypothyroidism", 1), new Fact("medication", "Metformin", 1)), List.of());
  }

  /** A 3-page text PDF whose page 2 the model will not read (content filter). */
  public Doc filteredPage() throws IOException {
    List<List<String>> typed = List.of(
        List.of("Page one", med(new Fact("medication", "Sotalol", 1), 80)),
        List.of("Page two", "#CONTENT_FILTER", med(new Fact("medication", "Unseen", 2), 1)),
        List.of("Page three", med(new Fact("medication", "Digoxin", 3), 1)));
    return new Doc("3 pages, one filtered", write("filtered.pdf", pdf(typed, null)), "application/pdf", 3,
        List.of(new Fact("medication", "Sotalol", 1), new Fact("medication", "Digoxin", 3)), List.of(2));
  }

  /** A password-protected PDF. */
  public Doc encryptedPdf() throws IOException {
    try (PDDocument doc = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      doc.addPage(new PDPage());
      StandardProtectionPolicy policy = new StandardProtectionPolicy("owner-secret", "user-secret", new AccessPermission());
      policy.setEncryptionKeyLength(128);
      doc.protect(policy);
      doc.save(out);
      return new Doc("encrypted PDF", write("encrypted.pdf", out.toByteArray()), "application/pdf", 1, List.of(), List.of());
    }
  }

  /** A PDF cut off in transfer. */
  public Doc corruptPdf() throws IOException {
    byte[] good = pdf(List.of(List.of("- Metformin 500 mg")), null);
    byte[] cut = java.util.Arrays.copyOf(good, good.length / 3);
    return new Doc("corrupt PDF", write("corrupt.pdf", cut), "application/pdf", 1, List.of(), List.of());
  }

  /** A TIFF header followed by garbage. */
  public Doc corruptTiff() throws IOException {
    byte[] b = new byte[4096];
    new Random(5).nextBytes(b);
    b[0] = 'I';
    b[1] = 'I';
    b[2] = 42;
    b[3] = 0;
    return new Doc("corrupt TIFF", write("corrupt.tiff", b), "image/tiff", 1, List.of(), List.of());
  }

  /**
   * A noisy photo of about {@code bytes} bytes as PNG (noise does not compress), carrying one
   * medication in its ink cells: the 20 MB upload of the heap test.
   */
  public Doc bigNoisyPng(long bytes) throws IOException {
    Fact fact = new Fact("medication", "Methotrexate", 1);
    Path f = dir.resolve("big-" + bytes + ".png");
    int side = (int) Math.sqrt(bytes / 2.6);
    for (int attempt = 0; attempt < 4; attempt++) {
      // the ink cells, then sensor noise over everything (dark cells stay dark, light ones light): noise does not compress
      BufferedImage img = PageInk.page(side, side, med(fact, 15));
      Random r = new Random(9);
      for (int y = 0; y < side; y++) {
        for (int x = 0; x < side; x++) {
          boolean dark = (img.getRGB(x, y) & 0xFF) < 128;
          int lo = dark ? 0 : 165;
          img.setRGB(x, y, (lo + r.nextInt(91)) << 16 | (lo + r.nextInt(91)) << 8 | (lo + r.nextInt(91)));
        }
      }
      ImageIO.write(img, "png", f.toFile());
      long size = Files.size(f);
      if (size > bytes * 0.95 && size <= bytes) {
        break;
      }
      side = (int) (side * Math.sqrt(bytes * 0.975 / size));
    }
    return new Doc("noisy PNG (" + Files.size(f) / (1 << 20) + " MiB)", f, "image/png", 1, List.of(fact), List.of());
  }

  private Path write(String name, byte[] bytes) throws IOException {
    Path f = dir.resolve(name);
    Files.write(f, bytes);
    return f;
  }

  private static String filler(Random r, int chars) {
    String[] words = {"patient", "reports", "stable", "no", "acute", "distress", "follow", "up", "in", "weeks", "reviewed",
        "labs", "within", "normal", "limits", "continue", "current", "plan", "discussed", "with", "family"};
    StringBuilder b = new StringBuilder();
    while (b.length() < chars) {
      b.append(words[r.nextInt(words.length)]).append(' ');
    }
    return b.toString().trim();
  }

  /**
   * A PDF: page i gets the text lines {@code typed.get(i)} (a text layer) and, when
   * {@code inks.get(i)} is not null, a full-page scanned image carrying that ink.
   */
  static byte[] pdf(List<List<String>> typed, List<String> inks) throws IOException {
    int pages = typed != null ? typed.size() : inks.size();
    try (PDDocument doc = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
      PDType1Font font = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
      for (int i = 0; i < pages; i++) {
        PDPage page = new PDPage(PDRectangle.LETTER);
        doc.addPage(page);
        List<String> lines = typed == null ? List.of() : typed.get(i);
        String ink = inks == null ? null : inks.get(i);
        if (lines.isEmpty() && ink == null) {
          continue;
        }
        try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
          if (ink != null) {
            BufferedImage scan = PageInk.page(1275, 1650, ink); // 150 dpi letter
            PDImageXObject x = LosslessFactory.createFromImage(doc, scan);
            cs.drawImage(x, 0, 0, PDRectangle.LETTER.getWidth(), PDRectangle.LETTER.getHeight());
          }
          if (!lines.isEmpty()) {
            cs.beginText();
            cs.setFont(font, 9);
            cs.setLeading(11);
            cs.newLineAtOffset(40, 750);
            for (String line : lines) {
              cs.showText(line);
              cs.newLine();
            }
            cs.endText();
          }
        }
      }
      doc.save(out);
      return out.toByteArray();
    }
  }
}
