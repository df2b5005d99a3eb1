package io.queuepilot.worker.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What the rule-based extractor finds, and what it deliberately does not. */
class RuleBasedExtractorTest {

  private static List<ClinicalEvent> extract(String text) {
    RuleBasedExtractor r = new RuleBasedExtractor(100);
    for (String line : text.split("\n")) {
      r.line(line, 1);
    }
    return r.events();
  }

  private static ClinicalEvent find(List<ClinicalEvent> events, String type, String name) {
    return events.stream().filter(e -> e.eventType().equals(type) && e.name().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + type + " '" + name + "' in " + events));
  }

  @Test
  void extractsSectionsDosesCodesAndVitals() {
    String doc = """
        Visit summary
        Date: 2024-03-14
        Medications:
        - Metformin 500 mg twice daily
        - Lisinopril 10 mg once daily
        - Vitamin D
        Allergies: Penicillin (rash); NKDA
        Diagnoses:
        1. Type 2 diabetes mellitus (E11.9)
        2. Essential hypertension I10
        Procedures: Colonoscopy 2023-11-02

        Vitals: BP 132/84 mmHg, HR 78 bpm, Temp 37.1 C, SpO2 98 %, Weight 82.5 kg
        Labs: HbA1c 7.2 %, LDL 131 mg/dL, Creatinine 0.9 mg/dL
        """;
    List<ClinicalEvent> events = extract(doc);

    ClinicalEvent metformin = find(events, "medication", "Metformin");
    assertThat(metformin.value()).isEqualTo("500");
    assertThat(metformin.unit()).isEqualTo("mg");
    assertThat(metformin.eventDate()).isEqualTo("2024-03-14");
    assertThat(find(events, "medication", "Lisinopril").value()).isEqualTo("10");
    assertThat(find(events, "medication", "Vitamin D").value()).isNull();
    assertThat(find(events, "allergy", "Penicillin").value()).isEqualTo("rash");
    assertThat(events).noneMatch(e -> e.name().equalsIgnoreCase("NKDA"));
    ClinicalEvent diabetes = find(events, "condition", "Type 2 diabetes mellitus");
    assertThat(diabetes.code()).isEqualTo("E11.9");
    assertThat(diabetes.codeSystem()).isEqualTo("ICD-10");
    assertThat(find(events, "condition", "Essential hypertension").code()).isEqualTo("I10");
    assertThat(find(events, "procedure", "Colonoscopy").eventDate()).isEqualTo("2023-11-02");

    assertThat(find(events, "observation", "blood pressure").value()).isEqualTo("132/84");
    assertThat(find(events, "observation", "blood pressure").unit()).isEqualTo("mmHg");
    assertThat(find(events, "observation", "heart rate").value()).isEqualTo("78");
    assertThat(find(events, "observation", "body temperature").unit()).isEqualTo("°C");
    assertThat(find(events, "observation", "oxygen saturation").value()).isEqualTo("98");
    assertThat(find(events, "observation", "body weight").unit()).isEqualTo("kg");
    assertThat(find(events, "observation", "HbA1c").value()).isEqualTo("7.2");
    assertThat(find(events, "observation", "LDL cholesterol").unit()).isEqualTo("mg/dL");
    assertThat(find(events, "observation", "creatinine").value()).isEqualTo("0.9");
    assertThat(events).allSatisfy(e -> assertThat(e.confidence()).isBetween(0.0, 1.0));
  }

  @Test
  void aBlankLineOrAnotherHeadingEndsASection() {
    List<ClinicalEvent> events = extract("""
        Medications:
        - Aspirin 81 mg

        Plan: follow up in 3 months
        Social history: walks daily
        """);
    assertThat(events).extracting(ClinicalEvent::name).containsExactly("Aspirin");
  }

  @Test
  void duplicatesAreFoldedAndTheCapHolds() {
    RuleBasedExtractor r = new RuleBasedExtractor(3);
    for (int i = 0; i < 10; i++) {
      r.line("BP 120/80", 1);
    }
    r.line("Medications:", 1);
    for (int i = 0; i < 10; i++) {
      r.line("- Drug" + i + " 5 mg", 1);
    }
    assertThat(r.events()).hasSize(3);
    assertThat(r.events().stream().filter(e -> e.name().equals("blood pressure"))).hasSize(1);
  }

  @Test
  void negationIsNotUnderstood() {
    // documented limitation: a listed item is taken as a fact even when the text negates it
    List<ClinicalEvent> events = extract("Conditions: no history of asthma");
    assertThat(events).extracting(ClinicalEvent::name).containsExactly("no history of asthma");
  }
}
