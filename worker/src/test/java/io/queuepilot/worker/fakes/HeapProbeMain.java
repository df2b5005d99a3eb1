package io.queuepilot.worker.fakes;

import io.queuepilot.worker.budget.LocalTokenBudget;
import io.queuepilot.worker.process.DocumentInput;
import io.queuepilot.worker.process.Extraction;
import io.queuepilot.worker.process.OpenAiModelClient;
import io.queuepilot.worker.process.OpenAiProcessor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * Runs one document through the real openai processor and client in a JVM of its own (started
 * by WorkerHeapIT with a small -Xmx), against the fake at args[0]: prints the events and the
 * peak heap, exits 3 on OutOfMemoryError.
 */
public final class HeapProbeMain {

  private HeapProbeMain() {}

  public static void main(String[] args) throws Exception {
    try (OpenAiModelClient client = new OpenAiModelClient(args[0], Pipeline.OPENAI_KEY, Duration.ofSeconds(60))) {
      OpenAiProcessor p = ProductionProcessor.create(client, new LocalTokenBudget(Clock.systemUTC()), 40);
      for (int i = 1; i + 1 < args.length; i += 2) {
        Path f = Path.of(args[i]);
        Extraction ex = p.process(new TestJobContext("{}"), new DocumentInput(f, Files.size(f), args[i + 1], f.getFileName().toString()));
        System.out.println("EVENTS " + f.getFileName() + " " + ex.events().size() + " " + ex.events().get(0).name()
            + " pages " + ex.pagesRead());
      }
      long peak = 0;
      for (var pool : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
        if (pool.getType() == java.lang.management.MemoryType.HEAP) {
          peak += pool.getPeakUsage().getUsed();
        }
      }
      System.out.println("PEAK_HEAP_BYTES " + peak + " MAX " + Runtime.getRuntime().maxMemory());
    } catch (OutOfMemoryError e) {
      System.out.println("OOM " + e.getMessage());
      System.exit(3);
    }
  }
}
