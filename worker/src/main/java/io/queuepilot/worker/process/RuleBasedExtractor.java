package io.queuepilot.worker.process;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A deterministic, rule-based extractor of clinical events from document text, fed line by line.
 * It recognises section headers ("Medications:", "Allergies:", "Diagnoses:"/"Problems:",
 * "Procedures:") and the list items below them, doses with units, ICD-10-looking codes, and vital
 * signs / lab values with units anywhere in the text. It does not understand negation ("no
 * history of asthma" inside a Conditions section is still a condition), prose, tables, or
 * abbreviations beyond the listed ones; it is for the demo and tests, not clinical use.
 * Events are de-duplicated (type, name, value, unit) and capped.
 */
public final class RuleBasedExtractor {

  private enum Section { NONE, MEDICATIONS, ALLERGIES, CONDITIONS, PROCEDURES }

  private static final Pattern HEADER =
      Pattern.compile(
          "^\\s*(?:#+\\s*)?(current\\s+medications?|medications?|meds|medication\\s+list|allerg(?:y|ies)|"
              + "diagnos(?:is|es)|problems?(?:\\s+list)?|conditions?|assessment|past\\s+medical\\s+history|pmh|"
              + "procedures?|surgical\\s+history)\\s*:\\s*(.*)$",
          Pattern.CASE_INSENSITIVE);
  /** Another "Word words:" header ends the current section. */
  private static final Pattern OTHER_HEADER = Pattern.compile("^\\s*[A-Z][A-Za-z /&-]{1,40}:\\s*.*$");
  private static final Pattern BULLET = Pattern.compile("^\\s*(?:[-*•·]|\\d{1,3}[.)])\\s*");
  private static final Pattern DOSE =
      Pattern.compile(
          "^(.{2,80}?)\\s+(\\d+(?:[.,]\\d+)?)\\s*(mg|mcg|µg|ug|g|ml|mL|units?|IU|iu|%|mmol)\\b(.*)$");
  private static final Pattern ICD10 = Pattern.compile("\\b([A-TV-Z][0-9][0-9AB](?:\\.[0-9A-TV-Z]{1,4})?)\\b");
  private static final Pattern ISO_DATE = Pattern.compile("\\b(\\d{4}-\\d{2}-\\d{2})\\b");
  private static final Pattern NONE_KNOWN =
      Pattern.compile("^(?:none|nkda|nka|no\\s+known(?:\\s+drug)?\\s+allergies|n/?a|nil)\\.?$", Pattern.CASE_INSENSITIVE);

  private static final Pattern DOC_DATE =
      Pattern.compile("^(?:date|visit\\s+date|date\\s+of\\s+service)\\s*:\\s*(\\d{4}-\\d{2}-\\d{2})", Pattern.CASE_INSENSITIVE);

  private record Vital(String name, Pattern pattern, String defaultUnit) {}

  private static final List<Vital> VITALS =
      List.of(
          new Vital("blood pressure",
              Pattern.compile("\\b(?:BP|blood\\s+pressure)\\s*[:=]?\\s*(\\d{2,3}\\s*/\\s*\\d{2,3})\\s*(mm\\s*Hg)?", Pattern.CASE_INSENSITIVE),
              "mmHg"),
          new Vital("heart rate",
              Pattern.compile("\\b(?:HR|heart\\s+rate|pulse)\\s*[:=]?\\s*(\\d{2,3})\\s*(bpm|/min|beats/min)?", Pattern.CASE_INSENSITIVE),
              "bpm"),
          new Vital("body temperature",
              Pattern.compile("\\b(?:temp|temperature)\\s*[:=]?\\s*(\\d{2,3}(?:\\.\\d)?)\\s*(°\\s*[CF]|C|F)\\b", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("oxygen saturation",
              Pattern.compile("\\b(?:SpO2|O2\\s*sat|oxygen\\s+saturation)\\s*[:=]?\\s*(\\d{2,3})\\s*(%)", Pattern.CASE_INSENSITIVE),
              "%"),
          new Vital("respiratory rate",
              Pattern.compile("\\b(?:RR|respiratory\\s+rate)\\s*[:=]?\\s*(\\d{1,2})\\s*(/min|breaths/min)?", Pattern.CASE_INSENSITIVE),
              "/min"),
          new Vital("body weight",
              Pattern.compile("\\b(?:weight|wt)\\s*[:=]?\\s*(\\d{1,3}(?:\\.\\d+)?)\\s*(kg|lb|lbs)\\b", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("HbA1c",
              Pattern.compile("\\b(?:HbA1c|A1c)\\s*[:=]?\\s*(\\d{1,2}(?:\\.\\d+)?)\\s*(%|mmol/mol)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("glucose",
              Pattern.compile("\\b(?:glucose|blood\\s+sugar)\\s*[:=]?\\s*(\\d{1,3}(?:\\.\\d+)?)\\s*(mg/dL|mmol/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("LDL cholesterol",
              Pattern.compile("\\bLDL(?:-C)?\\s*[:=]?\\s*(\\d{1,3}(?:\\.\\d+)?)\\s*(mg/dL|mmol/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("HDL cholesterol",
              Pattern.compile("\\bHDL(?:-C)?\\s*[:=]?\\s*(\\d{1,3}(?:\\.\\d+)?)\\s*(mg/dL|mmol/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("total cholesterol",
              Pattern.compile("\\b(?:total\\s+)?cholesterol\\s*[:=]?\\s*(\\d{1,3}(?:\\.\\d+)?)\\s*(mg/dL|mmol/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("creatinine",
              Pattern.compile("\\bcreatinine\\s*[:=]?\\s*(\\d{1,3}(?:\\.\\d+)?)\\s*(mg/dL|µmol/L|umol/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("hemoglobin",
              Pattern.compile("\\b(?:hemoglobin|haemoglobin|Hgb|Hb)\\s*[:=]?\\s*(\\d{1,2}(?:\\.\\d+)?)\\s*(g/dL|g/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("potassium",
              Pattern.compile("\\b(?:potassium|K\\+?)\\s*[:=]\\s*(\\d(?:\\.\\d+)?)\\s*(mmol/L|mEq/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("sodium",
              Pattern.compile("\\b(?:sodium|Na\\+?)\\s*[:=]\\s*(\\d{3}(?:\\.\\d+)?)\\s*(mmol/L|mEq/L)", Pattern.CASE_INSENSITIVE),
              null),
          new Vital("TSH",
              Pattern.compile("\\bTSH\\s*[:=]?\\s*(\\d{1,3}(?:\\.\\d+)?)\\s*(mIU/L|µIU/mL|uIU/mL)", Pattern.CASE_INSENSITIVE),
              null));

  private final int maxEvents;
  private final Map<String, ClinicalEvent> events = new LinkedHashMap<>();
  private Section section = Section.NONE;
  private String documentDate;

  public RuleBasedExtractor(int maxEvents) {
    this.maxEvents = maxEvents;
  }

  /** Feeds one line of text from page {@code page} (1-based). */
  public void line(String raw, int page) {
    String line = raw.strip();
    if (line.isEmpty()) {
      section = Section.NONE;
      return;
    }
    if (documentDate == null) {
      Matcher dm = DOC_DATE.matcher(line);
      if (dm.find()) {
        documentDate = dm.group(1);
      }
    }
    vitals(line, page);
    Matcher h = HEADER.matcher(line);
    if (h.matches()) {
      section = sectionOf(h.group(1).toLowerCase(Locale.ROOT));
      String rest = h.group(2).strip();
      if (!rest.isEmpty()) {
        for (String item : rest.split("[;,]")) {
          item(item, page, line);
        }
      }
      return;
    }
    if (section != Section.NONE && OTHER_HEADER.matcher(line).matches() && !BULLET.matcher(line).lookingAt()
        && !DOSE.matcher(line).matches()) {
      section = Section.NONE;
      return;
    }
    if (section == Section.MEDICATIONS) {
      item(line, page, line); // one medication per line: commas are part of instructions
    } else if (section != Section.NONE) {
      for (String item : line.split(";")) {
        item(item, page, line);
      }
    }
  }

  /** The events found so far, in order of first appearance. */
  public List<ClinicalEvent> events() {
    return new ArrayList<>(events.values());
  }

  private static Section sectionOf(String h) {
    if (h.startsWith("med") || h.contains("medication")) {
      return Section.MEDICATIONS;
    }
    if (h.startsWith("allerg")) {
      return Section.ALLERGIES;
    }
    if (h.startsWith("procedure") || h.startsWith("surgical")) {
      return Section.PROCEDURES;
    }
    return Section.CONDITIONS;
  }

  private void item(String raw, int page, String wholeLine) {
    String item = BULLET.matcher(raw).replaceFirst("").strip();
    if (item.isEmpty() || NONE_KNOWN.matcher(item).matches()) {
      return;
    }
    String date = date(wholeLine);
    switch (section) {
      case MEDICATIONS -> {
        Matcher d = DOSE.matcher(item);
        if (d.matches()) {
          add(new ClinicalEvent("medication", clean(d.group(1)), null, null, d.group(2).replace(',', '.'),
              normaliseUnit(d.group(3)), date, 0.9, page));
        } else {
          add(new ClinicalEvent("medication", clean(item), null, null, null, null, date, 0.7, page));
        }
      }
      case ALLERGIES -> {
        // "Penicillin (rash)" or "Penicillin - hives": the substance is the event, the reaction its value
        String[] parts = item.split("\\s*[(\\-–:]\\s*", 2);
        String reaction = parts.length > 1 ? parts[1].replace(")", "").strip() : null;
        add(new ClinicalEvent("allergy", clean(parts[0]), null, null, reaction == null || reaction.isEmpty() ? null : reaction,
            null, date, 0.8, page));
      }
      case CONDITIONS, PROCEDURES -> {
        String withoutDate = ISO_DATE.matcher(item).replaceAll(" ");
        Matcher c = ICD10.matcher(withoutDate);
        String code = null;
        String name = withoutDate;
        if (c.find()) {
          code = c.group(1);
          name = (withoutDate.substring(0, c.start()) + withoutDate.substring(c.end())).replaceAll("[()\\[\\]]", " ");
        }
        add(new ClinicalEvent(section == Section.CONDITIONS ? "condition" : "procedure", clean(name), code,
            code == null ? null : "ICD-10", null, null, date, code == null ? 0.7 : 0.85, page));
      }
      case NONE -> { }
    }
  }

  private void vitals(String line, int page) {
    if (!hasDigit(line)) {
      return; // every vital sign and lab value has a number: skip the regexes on prose
    }
    for (Vital v : VITALS) {
      Matcher m = v.pattern().matcher(line);
      while (m.find()) {
        String unit = m.groupCount() >= 2 && m.group(2) != null ? normaliseUnit(m.group(2)) : v.defaultUnit();
        add(new ClinicalEvent("observation", v.name(), null, null, m.group(1).replaceAll("\\s", ""), unit, date(line), 0.8, page));
      }
    }
  }

  private static boolean hasDigit(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= '0' && c <= '9') {
        return true;
      }
    }
    return false;
  }

  private String date(String line) {
    Matcher m = ISO_DATE.matcher(line);
    return m.find() ? m.group(1) : documentDate;
  }

  private void add(ClinicalEvent e) {
    if (e.name() == null || e.name().length() < 2 || events.size() >= maxEvents) {
      return;
    }
    String key = e.eventType() + "|" + e.name().toLowerCase(Locale.ROOT) + "|" + e.value() + "|" + e.unit();
    events.putIfAbsent(key, e);
  }

  private static String clean(String s) {
    String c = s.replaceAll("\\s+", " ").replaceAll("^[\\s,.;:-]+|[\\s,.;:-]+$", "").strip();
    return c.length() > 200 ? c.substring(0, 200) : c;
  }

  private static String normaliseUnit(String u) {
    String x = u.replaceAll("\\s", "");
    return switch (x.toLowerCase(Locale.ROOT)) {
      case "ml" -> "mL";
      case "ug", "µg" -> "mcg";
      case "unit", "units" -> "units";
      case "iu" -> "IU";
      case "mmhg" -> "mmHg";
      case "°c", "c" -> "°C";
      case "°f", "f" -> "°F";
      case "lbs" -> "lb";
      default -> x;
    };
  }
}
