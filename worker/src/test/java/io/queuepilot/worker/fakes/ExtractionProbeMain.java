package io.queuepilot.worker.fakes;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.worker.JitPolicies;
import io.queuepilot.worker.WorkerConfig;
import io.queuepilot.worker.budget.LocalTokenBudget;
import io.queuepilot.worker.process.DocumentInput;
import io.queuepilot.worker.process.Extraction;
import io.queuepilot.worker.process.OpenAiModelClient;
import io.queuepilot.worker.process.OpenAiProcessor;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * The extraction benchmark's child JVM (bench/run.sh extraction): the seven corpus documents of
 * ExtractionCorpusTest, {@code args[0]} passes in this one JVM through the real openai processor
 * and client against the fake, under the JIT policy named by {@code -Dqueuepilot.jitPolicy} (what
 * QUEUEPILOT_JIT_POLICY sets in a worker) and whatever JVM options it was started with. Speaks
 * the bench's line protocol: {@code READY} once the corpus is written, then {@code RESULT} with
 * each pass's wall time, CPU time, HotSpot's compilation time and per-document seconds. A fact lost
 * or a page neither read nor listed ends the probe with an error: a pass is timed only if its
 * extraction is right.
 */
public final class ExtractionProbeMain {

  private static final String PROBE_KEY = "sk-probe";

  private ExtractionProbeMain() {}

  public static void main(String[] args) throws Exception {
    int passes = Integer.parseInt(args[0]);
    if (passes < 1) {
      throw new IllegalArgumentException("passes must be at least 1, got " + passes);
    }
    String policyName = System.getProperty("queuepilot.jitPolicy", "jvm");
    WorkerConfig.JitPolicy policy;
    try {
      policy = WorkerConfig.JitPolicy.valueOf(policyName.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("-Dqueuepilot.jitPolicy must be jvm or pipeline, got '" + policyName + "'", e);
    }
    Path dir = Files.createTempDirectory("qp-extraction-probe");
    JitPolicies.Outcome jit = JitPolicies.apply(policy, dir);
    Corpus corpus = new Corpus(dir);
    List<Corpus.Doc> docs = List.of(corpus.scannedPdf(10), corpus.mixedPdf(), corpus.longTextPdf(120),
        corpus.multiPageTiff(3), corpus.photo(), corpus.png(), corpus.longNote(60));
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    var compilation = ManagementFactory.getCompilationMXBean();
    ObjectMapper json = new ObjectMapper();
    ObjectNode result = json.createObjectNode()
        .put("jitPolicy", policy.name().toLowerCase(Locale.ROOT))
        .put("jit", (jit.applied() ? "applied: " : "default tiers: ") + jit.detail());
    ArrayNode kinds = result.putArray("documents");
    docs.forEach(d -> kinds.add(d.kind()));
    ArrayNode out = result.putArray("passes");
    try (FakeOpenAi openai = new FakeOpenAi(PROBE_KEY, 13);
         OpenAiModelClient client = new OpenAiModelClient(openai.baseUrl(), PROBE_KEY, Duration.ofSeconds(60))) {
      OpenAiProcessor processor = ProductionProcessor.create(client, new LocalTokenBudget(Clock.systemUTC()), 40);
      System.out.println("READY");
      for (int pass = 1; pass <= passes; pass++) {
        long cpu0 = os.getProcessCpuTime();
        long jit0 = compilation.getTotalCompilationTime();
        long t0 = System.nanoTime();
        ObjectNode p = out.addObject();
        ArrayNode perDoc = p.putArray("documentSeconds");
        for (Corpus.Doc doc : docs) {
          long d0 = System.nanoTime();
          Extraction ex = processor.process(new TestJobContext("{}"),
              new DocumentInput(doc.file(), Files.size(doc.file()), doc.mime(), doc.file().getFileName().toString()));
          perDoc.add((System.nanoTime() - d0) / 1e9);
          check(doc, ex, pass);
        }
        p.put("seconds", (System.nanoTime() - t0) / 1e9)
            .put("cpuSeconds", (os.getProcessCpuTime() - cpu0) / 1e9)
            .put("compilationMs", compilation.getTotalCompilationTime() - jit0);
      }
    }
    try (var files = Files.walk(dir)) { // the corpus is tens of MB: leave nothing behind
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
    System.out.println("RESULT " + json.writeValueAsString(result));
  }

  private static void check(Corpus.Doc doc, Extraction ex, int pass) {
    List<Corpus.Fact> lost = doc.lost(ex);
    if (!lost.isEmpty() || ex.pagesRead() + ex.unreadPages().size() != doc.pages()) {
      throw new IllegalStateException("pass " + pass + ", " + doc.kind() + ": " + lost.size() + " fact(s) lost, "
          + ex.pagesRead() + " page(s) read + " + ex.unreadPages().size() + " listed unread of " + doc.pages());
    }
  }
}
