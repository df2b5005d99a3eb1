package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.PageInk;
import io.queuepilot.worker.fakes.Corpus;
import io.queuepilot.worker.fakes.HeapProbeMain;
import io.queuepilot.worker.fakes.Pipeline;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The heap assumption (QUEUEPILOT_HEAP_PER_JOB_MB = 64) holds for the largest images a job may
 * take: a 20 MB PNG and a 20 MB TIFF go through the real openai processor and client in a JVM
 * whose whole heap is 64 MiB; they are decoded with subsampling and sent at the size OpenAI keeps.
 */
class WorkerHeapIT {

  @TempDir Path dir;

  @Test
  void twentyMegabyteImagesFitInASixtyFourMegabyteHeap() throws Exception {
    Corpus corpus = new Corpus(dir);
    Path png = corpus.bigNoisyPng(20_000_000L).file();
    assertThat(Files.size(png)).isBetween(19_000_000L, 20_000_000L);
    // a 20 MB uncompressed grayscale TIFF (4,470 x 4,470): what a scanner writes without compression
    BufferedImage gray = new BufferedImage(4470, 4470, BufferedImage.TYPE_BYTE_GRAY);
    gray.getGraphics().drawImage(PageInk.page(4470, 4470, "- Tacrolimus 2 mg"), 0, 0, null);
    Path tiff = dir.resolve("big.tiff");
    ImageIO.write(gray, "tiff", tiff.toFile());
    gray = null;
    assertThat(Files.size(tiff)).isBetween(19_000_000L, 20L << 20);

    try (FakeOpenAi openai = new FakeOpenAi(Pipeline.OPENAI_KEY, 5)) {
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx64m", "-XX:+UseSerialGC", "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"),
          HeapProbeMain.class.getName(), openai.baseUrl(), png.toString(), "image/png", tiff.toString(), "image/tiff"));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      System.out.println(out.lines().filter(l -> l.startsWith("EVENTS") || l.startsWith("PEAK") || l.startsWith("OOM"))
          .reduce("", (a, b) -> a + b + "\n"));
      assertThat(p.exitValue()).as(out).isZero();
      assertThat(out).contains("EVENTS " + png.getFileName() + " 1 Methotrexate pages 1")
          .contains("EVENTS big.tiff 1 Tacrolimus pages 1");
      // what reached OpenAI: images at OpenAI's own detail-high size, a small fraction of the upload
      assertThat(openai.calls()).hasSize(2).allSatisfy(c -> assertThat(c.request().toString().length()).isLessThan(2_000_000));
    }
  }
}
