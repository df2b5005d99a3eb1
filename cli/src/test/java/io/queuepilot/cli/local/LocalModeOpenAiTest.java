package io.queuepilot.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.cli.CliConfig.DbSettings;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local mode with OPENAI_API_KEY set: the replicas are the worker's own WorkerApp with the
 * openai processor, talking to a fake OpenAI on loopback that speaks the real wire format. The
 * scans, which the local processor must dead-letter, go to the vision model and complete.
 */
class LocalModeOpenAiTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @TempDir Path work;

  @Test
  void withAnApiKeyEveryDocumentIncludingTheScansIsProcessedByTheOpenAiProcessor() throws Exception {
    try (FakeOpenAi openai = new FakeOpenAi("sk-local-test", 11).latency(50, 150)) {
      StringWriter screen = new StringWriter();
      // keepDb: keeps the demo patient's rows in the existing database for the checks below
      LocalRun.Options options = new LocalRun.Options(work, null, 5, 1, true,
          new DbSettings(pg.jdbcUrl(), "postgres", "postgres", true, 5), 2, 2, Duration.ofMillis(1200),
          Duration.ZERO, Duration.ofSeconds(100), false, Optional.of("sk-local-test"), Optional.of(openai.baseUrl()),
          Optional.of("gpt-4o-mini"));

      LocalRun.Summary s = new LocalRun(options, new PrintWriter(screen, true), Clock.systemUTC()).run();

      assertThat(s.timedOut()).as(screen.toString()).isFalse();
      assertThat(s.processor()).isEqualTo("openai");
      assertThat(screen.toString()).contains("processor: openai");
      assertThat(s.documents()).isEqualTo(5);
      assertThat(s.completed()).as(s.deadLetterReasons().toString()).isEqualTo(5);
      assertThat(s.deadLettered()).isZero();
      // one model call per document; the scan went as an image (vision), the rest as text
      assertThat(openai.calls()).hasSize(5);
      assertThat(openai.calls().stream().filter(c -> c.images() > 0)).hasSize(1);
      try (Connection c = pg.superuser().getConnection();
          PreparedStatement ps = c.prepareStatement(
              "SELECT count(*) FROM public.document_texts WHERE patient_id = ? AND processor = 'openai'")) {
        ps.setObject(1, s.patientId());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          assertThat(rs.getLong(1)).isEqualTo(5);
        }
      }
    }
  }
}
