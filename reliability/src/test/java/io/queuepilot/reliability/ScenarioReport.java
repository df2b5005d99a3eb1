package io.queuepilot.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Appends one scenario's figures as a Markdown table row to
 * {@code target/reliability-report/scenarios.md} (docs/reliability.md is written from it).
 */
final class ScenarioReport {

  private ScenarioReport() {}

  static final String HEADER =
      "| scenario | jobs | faults injected | completed | dead-lettered (reasons) | duplicates | lost | late writes refused | recovery |\n"
          + "|---|---|---|---|---|---|---|---|---|\n";

  static void row(String scenario, Invariants.Result r, String faults, String lateWritesRefused, String recovery) {
    row(scenario, r.jobs(), faults, Long.toString(r.completed()), r.deadLettered() + " (" + r.deadLetterSummary() + ")",
        r.duplicates(), r.lost(), lateWritesRefused, recovery);
  }

  static void row(String scenario, long jobs, String faults, String completed, String deadLettered, long duplicates,
      long lost, String lateWritesRefused, String recovery) {
    String line = String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %d | %d | %s | %s |%n",
        scenario, jobs, faults, completed, deadLettered, duplicates, lost, lateWritesRefused, recovery);
    Path dir = Path.of(System.getProperty("reliability.reportDir", "target/reliability-report"));
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve("scenarios.md");
      if (!Files.exists(file)) {
        Files.writeString(file, HEADER, StandardCharsets.UTF_8);
      }
      Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    System.out.print("RELIABILITY " + line);
  }

  static String seconds(Double s) {
    return s == null ? "n/a" : String.format(Locale.ROOT, "%.1f s", s);
  }
}
