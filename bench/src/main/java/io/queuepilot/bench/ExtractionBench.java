package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Section extraction: the corpus documents through the real openai processor and client against
 * the fake, many passes in one JVM per setting, so a worker JVM setting (the JIT policy, C1 only)
 * is measured where it matters for patients — first-document and warm extraction time — next to
 * what it does to the queue's burn-down (section throughput). Each setting runs in fresh JVMs,
 * rounds interleaved; a pass counts only if every planted fact was found or its page listed unread
 * (the child, {@code ExtractionProbeMain}, checks).
 */
final class ExtractionBench {

  /** The child's main class, in the worker tests' fakes (the same corpus and fake as ExtractionCorpusTest). */
  static final String PROBE_MAIN = "io.queuepilot.worker.fakes.ExtractionProbeMain";

  /** A JVM setting under test: its label and options. */
  record Setting(String label, List<String> jvmOptions) {}

  /** One child JVM's passes. */
  record Run(Setting setting, String jit, double[] seconds, double[] cpuSeconds, long[] compilationMs,
      List<String> documents, double[][] documentSeconds) {}

  /** The warm passes' figures of one run (from pass {@code warmFrom}, 1-based). */
  private static double[] warm(double[] perPass, int warmFrom) {
    return Arrays.copyOfRange(perPass, warmFrom - 1, perPass.length);
  }

  private ExtractionBench() {}

  /**
   * Parses {@code label=options;label=options} (options space-separated, may be empty), naming the
   * bad part on error.
   */
  static List<Setting> parseSettings(String spec) {
    List<Setting> out = new ArrayList<>();
    for (String part : spec.split(";")) {
      if (part.isBlank()) {
        continue;
      }
      int eq = part.indexOf('=');
      String label = eq > 0 ? part.substring(0, eq).strip() : "";
      if (!label.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) { // "-XX:Foo=1" alone is options without a label
        throw new IllegalArgumentException("--extraction-settings: '" + part.strip()
            + "' is not label=JVM options (a label is letters, digits, '.', '_', '-')");
      }
      List<String> options = Arrays.stream(part.substring(eq + 1).strip().split("\\s+")).filter(s -> !s.isEmpty()).toList();
      if (out.stream().anyMatch(s -> s.label().equals(label))) {
        throw new IllegalArgumentException("--extraction-settings: label '" + label + "' given twice");
      }
      out.add(new Setting(label, options));
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("--extraction-settings: no setting in '" + spec + "'");
    }
    return out;
  }

  /** Passes from this one on are warm (the JIT has seen the pipeline three times), or the last when there are fewer. */
  static int firstWarmPass(int passes) {
    return Math.min(4, passes);
  }

  static void run(Report report, Path logDir, List<Setting> settings, int passes, int rounds, Duration timeout)
      throws InterruptedException {
    int warmFrom = firstWarmPass(passes);
    report.format("Extraction of the seven corpus documents of ExtractionCorpusTest (10-page scan, mixed PDF, 120-page"
        + " text PDF, 3-page TIFF, photo, PNG, long note) through the openai processor against the fake OpenAI: %d"
        + " passes in one JVM per setting, %d round(s), settings interleaved, a fresh JVM each (-Xmx1g). Warm = passes"
        + " %d–%d.", passes, rounds, warmFrom, passes);
    report.line("");
    report.line("| round | setting | JVM options | JIT policy | pass 1 s | warm pass s, median (min–max) | CPU s per warm pass | compilation ms: pass 1 / warm pass |");
    report.line("|---:|---|---|---|---:|---:|---:|---|");
    List<Run> runs = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      for (Setting s : settings) {
        Run r = runOnce(round, s, passes, logDir, timeout);
        runs.add(r);
        double[] warmJit = warm(Arrays.stream(r.compilationMs()).asDoubleStream().toArray(), warmFrom);
        report.format("| %d | %s | %s | %s | %.2f | %s | %.2f | %d / %d |", round, s.label(),
            s.jvmOptions().isEmpty() ? "(none)" : "`" + String.join(" ", s.jvmOptions()) + "`", r.jit(), r.seconds()[0],
            Spread.of(warm(r.seconds(), warmFrom)).format("%.2f"), Spread.of(warm(r.cpuSeconds(), warmFrom)).median(),
            r.compilationMs()[0], (long) Spread.of(warmJit).median());
      }
    }
    report.line("");
    report.line("Summary (median of the rounds, min–max in brackets):");
    report.line("");
    report.line("| setting | pass 1 s | warm pass s | CPU s per warm pass |");
    report.line("|---|---:|---:|---:|");
    Map<String, List<Run>> bySetting = new LinkedHashMap<>();
    runs.forEach(r -> bySetting.computeIfAbsent(r.setting().label(), k -> new ArrayList<>()).add(r));
    bySetting.forEach((label, rs) -> report.format("| %s | %s | %s | %s |", label,
        Spread.of(rs.stream().mapToDouble(r -> r.seconds()[0]).toArray()).format("%.2f"),
        Spread.of(rs.stream().mapToDouble(r -> Spread.of(warm(r.seconds(), warmFrom)).median()).toArray()).format("%.2f"),
        Spread.of(rs.stream().mapToDouble(r -> Spread.of(warm(r.cpuSeconds(), warmFrom)).median()).toArray()).format("%.2f")));
    report.line("");
    report.line("Warm seconds per document (median over the rounds' warm passes):");
    report.line("");
    List<String> documents = runs.get(0).documents();
    report.line("| document | " + String.join(" | ", bySetting.keySet()) + " |");
    report.line("|---|" + "---:|".repeat(bySetting.size()));
    for (int d = 0; d < documents.size(); d++) {
      StringBuilder row = new StringBuilder("| " + documents.get(d) + " |");
      for (List<Run> rs : bySetting.values()) {
        int doc = d;
        double[] warm = rs.stream().flatMapToDouble(r -> Arrays.stream(r.documentSeconds(), warmFrom - 1, passes)
            .mapToDouble(pass -> pass[doc])).toArray();
        row.append(" %.3f |".formatted(Spread.of(warm).median()));
      }
      report.line(row.toString());
    }
  }

  private static Run runOnce(int round, Setting s, int passes, Path logDir, Duration timeout) throws InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Xmx1g");
    cmd.addAll(s.jvmOptions());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(PROBE_MAIN);
    cmd.add(String.valueOf(passes));
    String label = "extraction-" + s.label() + "-" + round;
    try (WorkerProcess p = WorkerProcess.start(label, cmd, Path.of("."), logDir.resolve("extraction-" + s.label() + ".stderr.log"))) {
      p.awaitReady(Duration.ofMinutes(5));
      JsonNode result = p.awaitResult(timeout);
      JsonNode ps = result.path("passes");
      if (ps.size() != passes) {
        throw new IllegalStateException(label + " reported " + ps.size() + " passes, not " + passes);
      }
      List<String> documents = new ArrayList<>();
      result.path("documents").forEach(d -> documents.add(d.asText()));
      double[] seconds = new double[passes];
      double[] cpu = new double[passes];
      long[] jit = new long[passes];
      double[][] perDocument = new double[passes][];
      for (int i = 0; i < passes; i++) {
        seconds[i] = ps.get(i).path("seconds").asDouble();
        cpu[i] = ps.get(i).path("cpuSeconds").asDouble();
        jit[i] = ps.get(i).path("compilationMs").asLong();
        JsonNode docs = ps.get(i).path("documentSeconds");
        if (docs.size() != documents.size()) {
          throw new IllegalStateException(label + " pass " + (i + 1) + " timed " + docs.size() + " of " + documents.size() + " documents");
        }
        perDocument[i] = new double[docs.size()];
        for (int d = 0; d < docs.size(); d++) {
          perDocument[i][d] = docs.get(d).asDouble();
        }
      }
      String policy = result.path("jitPolicy").asText();
      boolean applied = result.path("jit").asText().startsWith("applied");
      // a pipeline policy the JVM refused would time the default tiers under its name: say so
      return new Run(s, policy.equals("jvm") || applied ? policy : policy + " (not applied: " + result.path("jit").asText() + ")",
          seconds, cpu, jit, documents, perDocument);
    }
  }
}
