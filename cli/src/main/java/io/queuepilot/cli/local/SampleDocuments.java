package io.queuepilot.cli.local;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;

/**
 * Generates the local mode's sample documents: fake but realistic clinical notes (medications,
 * allergies, conditions, vitals) as PDFs with a text layer, a scanned-looking PNG and plain text
 * files. Deterministic for a given seed, so runs and tests see the same documents.
 */
public final class SampleDocuments {

  /** One generated file and the facts written into it. */
  public record Sample(Path file, String mimeType, Note note) {}

  /** The content of one clinical note. */
  public record Note(
      String title,
      String patient,
      String date,
      List<String> conditions,
      List<String> medications,
      List<String> allergies,
      List<String> vitals,
      String narrative) {

    /** The note as plain text, in the section layout clinicians write (and the local processor reads). */
    public List<String> lines() {
      List<String> l = new ArrayList<>();
      l.add(title);
      l.add("Patient: " + patient);
      l.add("Date: " + date);
      l.add("");
      l.add("Problems:");
      conditions.forEach(c -> l.add("- " + c));
      l.add("");
      l.add("Medications:");
      medications.forEach(m -> l.add("- " + m));
      l.add("");
      l.add("Allergies:");
      allergies.forEach(a -> l.add("- " + a));
      l.add("");
      l.add("Vitals:");
      vitals.forEach(v -> l.add("- " + v));
      l.add("");
      l.add("Assessment and plan:");
      l.add(narrative);
      return l;
    }

    public String text() {
      return String.join("\n", lines()) + "\n";
    }
  }

  private static final String[] PATIENTS = {
    "Maria Jensen", "Tomasz Nowak", "Aisha Rahman", "Kenji Sato", "Elena Petrova", "David Okafor",
    "Sofia Lindqvist", "Lucas Moreau"
  };
  private static final String[][] CONDITIONS = {
    {"Type 2 diabetes mellitus (E11.9)", "Essential hypertension (I10)"},
    {"Asthma, mild persistent (J45.30)"},
    {"Hypothyroidism (E03.9)", "Iron deficiency anaemia (D50.9)"},
    {"Hyperlipidaemia (E78.5)", "Gastro-oesophageal reflux disease (K21.9)"},
    {"Atrial fibrillation (I48.91)", "Chronic kidney disease stage 3 (N18.30)"},
    {"Migraine without aura (G43.009)"}
  };
  private static final String[][] MEDICATIONS = {
    {"Metformin 500 mg tablet - twice daily with meals", "Lisinopril 10 mg tablet - once daily"},
    {"Salbutamol 100 mcg inhaler - 2 puffs as needed", "Budesonide 200 mcg inhaler - twice daily"},
    {"Levothyroxine 75 mcg tablet - once daily before breakfast", "Ferrous sulfate 200 mg tablet - once daily"},
    {"Atorvastatin 20 mg tablet - once daily at night", "Omeprazole 20 mg capsule - once daily"},
    {"Apixaban 5 mg tablet - twice daily", "Bisoprolol 2.5 mg tablet - once daily"},
    {"Sumatriptan 50 mg tablet - at onset of migraine", "Propranolol 40 mg tablet - twice daily"}
  };
  private static final String[][] ALLERGIES = {
    {"Penicillin - rash"},
    {"Peanuts - anaphylaxis", "Latex - contact dermatitis"},
    {"Sulfonamides - hives"},
    {"No known drug allergies"},
    {"Codeine - nausea and vomiting"},
    {"Ibuprofen - bronchospasm"}
  };
  private static final String[] TITLES = {
    "Outpatient clinic note", "Discharge summary", "General practice consultation", "Medication review"
  };

  private SampleDocuments() {}

  /** The note for sample number {@code i} (deterministic). */
  public static Note note(int i, long seed) {
    Random r = new Random(seed * 31 + i);
    int k = i % CONDITIONS.length;
    int systolic = 112 + r.nextInt(40);
    int diastolic = 68 + r.nextInt(24);
    return new Note(
        TITLES[i % TITLES.length],
        PATIENTS[i % PATIENTS.length],
        String.format(Locale.ROOT, "2025-%02d-%02d", 1 + (i * 5) % 12, 1 + (i * 7) % 28),
        List.of(CONDITIONS[k]),
        List.of(MEDICATIONS[k]),
        List.of(ALLERGIES[(i + 1) % ALLERGIES.length]),
        List.of(
            "Blood pressure: " + systolic + "/" + diastolic + " mmHg",
            "Heart rate: " + (58 + r.nextInt(40)) + " bpm",
            String.format(Locale.ROOT, "Temperature: %.1f C", 36.2 + r.nextInt(15) / 10.0),
            "SpO2: " + (94 + r.nextInt(6)) + " %",
            String.format(Locale.ROOT, "Weight: %.1f kg", 54 + r.nextInt(400) / 10.0)),
        "Condition stable. Continue current medications, review in "
            + (4 + r.nextInt(9)) + " weeks. Patient advised on diet and exercise.");
  }

  /**
   * Writes {@code count} documents into {@code folder}, cycling PDF, text, PDF, PDF, scanned PNG,
   * so a run of five or more has all three kinds.
   */
  public static List<Sample> generate(Path folder, int count, long seed) throws IOException {
    Files.createDirectories(folder);
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Note note = note(i, seed);
      String base = String.format(Locale.ROOT, "%02d-%s", i + 1,
          note.title().toLowerCase(Locale.ROOT).replaceAll("[^a-z]+", "-"));
      switch (i % 5) {
        case 0, 2, 3 -> {
          Path f = folder.resolve(base + ".pdf");
          writePdf(note, f);
          samples.add(new Sample(f, "application/pdf", note));
        }
        case 1 -> {
          Path f = folder.resolve(base + ".txt");
          Files.writeString(f, note.text(), StandardCharsets.UTF_8);
          samples.add(new Sample(f, "text/plain", note));
        }
        default -> {
          Path f = folder.resolve(base + "-scan.png");
          writeScan(note, f, seed + i);
          samples.add(new Sample(f, "image/png", note));
        }
      }
    }
    return samples;
  }

  /** A one-page A4 PDF whose text layer is the note (extractable with PDFBox's text stripper). */
  public static void writePdf(Note note, Path file) throws IOException {
    try (PDDocument doc = new PDDocument()) {
      PDPage page = new PDPage(PDRectangle.A4);
      doc.addPage(page);
      PDType1Font regular = new PDType1Font(Standard14Fonts.FontName.HELVETICA);
      PDType1Font bold = new PDType1Font(Standard14Fonts.FontName.HELVETICA_BOLD);
      try (PDPageContentStream cs = new PDPageContentStream(doc, page)) {
        float y = page.getMediaBox().getHeight() - 60;
        boolean first = true;
        for (String line : note.lines()) {
          cs.beginText();
          cs.setFont(first || line.endsWith(":") ? bold : regular, first ? 16 : 11);
          cs.newLineAtOffset(56, y);
          cs.showText(line);
          cs.endText();
          y -= first ? 24 : 15;
          first = false;
        }
      }
      doc.getDocumentInformation().setTitle(note.title() + " - " + note.patient());
      doc.save(file.toFile());
    }
  }

  /**
   * A "scanned" page: the note rendered slightly rotated in grey on off-white with speckle, as
   * a PNG without any text layer — only a vision model (the openai processor) can read it. Where
   * the JVM has no fonts, the lines are drawn as ink strokes instead of glyphs.
   */
  public static void writeScan(Note note, Path file, long seed) throws IOException {
    int w = 850;
    int h = 1100;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(new Color(246, 244, 236));
    g.fillRect(0, 0, w, h);
    Random r = new Random(seed);
    g.setColor(new Color(200, 198, 190));
    for (int i = 0; i < 1500; i++) {
      g.fillRect(r.nextInt(w), r.nextInt(h), 1, 1);
    }
    g.setTransform(AffineTransform.getRotateInstance(Math.toRadians(0.8), w / 2.0, h / 2.0));
    g.setColor(new Color(40, 40, 48));
    int y = 70;
    boolean first = true;
    for (String line : note.lines()) {
      try {
        g.setFont(new Font(Font.SERIF, first || line.endsWith(":") ? Font.BOLD : Font.PLAIN, first ? 26 : 17));
        g.drawString(line, 60, y);
      } catch (RuntimeException | Error noFonts) {
        // headless JVM without fontconfig: keep the page's look, strokes instead of glyphs
        g.fillRect(60, y - 12, Math.min(w - 120, line.length() * 9), 10);
      }
      y += first ? 40 : 24;
      first = false;
    }
    g.dispose();
    if (!ImageIO.write(img, "png", file.toFile())) {
      throw new IOException("no PNG writer in this JVM");
    }
  }
}
