package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.fakes.Pipeline;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bounded memory: a 300 MB document served by the Storage fake is processed by the shaded
 * worker jar in its own JVM with -Xmx128m: no OutOfMemoryError, the temp file is removed, and
 * SIGTERM ends the process with exit code 0. Also checks the JSON log format carries job_id, and
 * that the process refuses to start on bad configuration or a public bucket.
 */
class WorkerProcessIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long SIZE_TARGET = 300L << 20;

  @TempDir Path temp;

  /** A 300 MB text document generated while it is streamed. */
  private static FakeStorage.Content bigDocument() {
    byte[] header = "Clinic record\nMedications:\n- Metformin 500 mg\n- Lisinopril 10 mg\n\nVitals: BP 130/85 mmHg, HR 72 bpm\n"
        .getBytes(StandardCharsets.US_ASCII);
    byte[] filler = "Patient narrative continues here without any measurements in this long paragraph of the record.\n"
        .getBytes(StandardCharsets.US_ASCII);
    long lines = (SIZE_TARGET - header.length) / filler.length;
    byte[] block = new byte[filler.length * 1024];
    for (int i = 0; i < 1024; i++) {
      System.arraycopy(filler, 0, block, i * filler.length, filler.length);
    }
    return new FakeStorage.Content() {
      @Override
      public long size() {
        return header.length + lines * filler.length;
      }

      @Override
      public void writeTo(OutputStream out) throws IOException {
        out.write(header);
        long left = lines;
        while (left >= 1024) {
          out.write(block);
          left -= 1024;
        }
        out.write(block, 0, (int) left * filler.length);
      }
    };
  }

  @Test
  void a300MbDocumentInA128MbHeap() throws Exception {
    Pipeline world = new Pipeline(pg, "memory_worker");
    try (Connection c = world.superuser().getConnection(); Statement s = c.createStatement()) {
      s.execute("UPDATE public.upload_settings SET max_size_bytes = 400 * 1024 * 1024");
    }
    Path jar = Path.of("target", "queuepilot-worker.jar").toAbsolutePath();
    assertThat(jar).exists();
    Path tempDir = Files.createDirectories(temp.resolve("worker-tmp"));
    Path log = temp.resolve("worker.log");
    try (FakeStorage storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false)) {
      FakeStorage.Content doc = bigDocument();
      storage.put(Pipeline.BUCKET, world.path("big", "txt"), "text/plain", doc);
      Pipeline.Upload u = world.register("big", "txt", "text/plain", doc.size());

      Map<String, String> env = world.supabase(world.env("memory-worker"), storage);
      env.put("QUEUEPILOT_PROCESSOR", "local");
      env.put("QUEUEPILOT_TEMP_DIR", tempDir.toString());
      env.put("QUEUEPILOT_MAX_DOCUMENT_BYTES", String.valueOf(400L << 20));
      env.put("QUEUEPILOT_LOG_FORMAT", "json");
      env.put("QUEUEPILOT_CONCURRENCY", "4");
      ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx128m", "-XX:+ExitOnOutOfMemoryError", "-jar", jar.toString());
      pb.environment().putAll(env);
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      Process worker = pb.start();
      try {
        await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofSeconds(1))
            .until(() -> !worker.isAlive() || "completed".equals(world.status(u.jobId())));
        assertThat(worker.isAlive()).as("worker alive; log:\n%s", tail(log)).isTrue();
        assertThat(world.status(u.jobId())).isEqualTo("completed");

        worker.destroy(); // SIGTERM: drain and exit 0
        assertThat(worker.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(worker.exitValue()).as(tail(log)).isZero();
      } finally {
        worker.destroyForcibly();
      }
    }
    String output = Files.readString(log);
    assertThat(output).doesNotContain("OutOfMemoryError");
    try (Stream<Path> files = Files.list(tempDir)) {
      assertThat(files.toList()).isEmpty();
    }
    // memory-aware cap: 128 MiB * 0.6 / 64 MiB per job = 1 job at a time despite concurrency 4
    assertThat(output).contains("capacity 1 (concurrency 4)");
    List<JsonNode> lines = output.lines().filter(l -> l.startsWith("{")).map(WorkerProcessIT::parse).toList();
    assertThat(lines).isNotEmpty();
    String jobId = world.text("SELECT id::text FROM public.jobs");
    assertThat(lines).anySatisfy(l -> {
      assertThat(l.path("mdc").path("job_id").asText()).isEqualTo(jobId);
      assertThat(l.path("mdc").path("correlation_id").asText()).isNotBlank();
      assertThat(l.path("formattedMessage").asText()).contains("314572");
    });
    assertThat(world.scalar("SELECT length(text) FROM public.document_texts")).isEqualTo(200_000);
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events")).isEqualTo(4);
  }

  private static JsonNode parse(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new AssertionError("log line is not JSON: " + line, e);
    }
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private static Process launch(Map<String, String> env, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-jar", Path.of("target", "queuepilot-worker.jar").toAbsolutePath().toString());
    pb.environment().putAll(env);
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    return pb.start();
  }

  @Test
  void refusesToStartOnBadConfigurationOrAPublicBucket() throws Exception {
    Pipeline world = new Pipeline(pg, "refusing_worker");
    try (FakeStorage storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket("public-docs", true)) {
      Map<String, String> template = world.supabase(world.env("x"), storage);
      template.put("QUEUEPILOT_WORKER_ID", "$(POD_NAME)");
      Path log1 = temp.resolve("template.log");
      Process p1 = launch(template, log1);
      assertThat(p1.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p1.exitValue()).isEqualTo(2);
      assertThat(Files.readString(log1)).contains("configuration error: QUEUEPILOT_WORKER_ID looks like an unexpanded template");

      Map<String, String> publicBucket = world.supabase(world.env("public-check"), storage);
      publicBucket.put("QUEUEPILOT_STORAGE_BUCKET", "public-docs");
      Path log2 = temp.resolve("public.log");
      Process p2 = launch(publicBucket, log2);
      assertThat(p2.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p2.exitValue()).isEqualTo(1);
      assertThat(Files.readString(log2)).contains("bucket 'public-docs' is PUBLIC").contains("refusing to start");
    }
  }
}
