package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.WorkerConfig;
import io.queuepilot.worker.fakes.Corpus;
import io.queuepilot.worker.fakes.Corpus.Doc;
import io.queuepilot.worker.fakes.Pipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 end to end on real PostgreSQL with the production migrations: uploads through
 * register_shell_file, workers started from their environment, the OpenAI and Storage fakes.
 * The shell file shows pages read / total and a partial outcome; dropped events and text cuts
 * are stored; partial dates keep their precision; HEIC is refused at upload. An exhausted quota
 * stops the whole fleet (budget blocked, not ready, metric 1, jobs pending with no attempt
 * spent); a refused key stops the worker before it spends anything; an unknown model stops the
 * start.
 */
class WorkerExtractionCoverageIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private Pipeline world;
  private FakeStorage storage;
  private FakeOpenAi openai;
  private final List<WorkerApp> apps = new ArrayList<>();
  private static int worlds;

  @BeforeEach
  void start() throws Exception {
    world = new Pipeline(pg, "coverage_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    openai = new FakeOpenAi(Pipeline.OPENAI_KEY, 21).latency(2, 10);
    worlds++;
  }

  @AfterEach
  void stop() throws Exception {
    apps.forEach(WorkerApp::shutdown);
    openai.close();
    storage.close();
    // what a test leaves pending must not be claimed by the next test's workers
    try (var c = pg.superuser().getConnection(); var s = c.createStatement()) {
      // cancel_job moves each job into job_history (V081)
      s.execute("WITH cancelled AS (SELECT public.cancel_job(j.id) FROM public.job_queue j WHERE j.status = 'pending')"
          + " SELECT count(*) FROM cancelled");
    }
  }

  private Pipeline.Upload upload(String key, Doc doc, String ext) throws Exception {
    byte[] bytes = Files.readAllBytes(doc.file());
    storage.put(Pipeline.BUCKET, world.path(key, ext), doc.mime(), bytes);
    return world.register(key, ext, doc.mime(), bytes.length);
  }

  private WorkerApp worker(String id, Map<String, String> extra) throws Exception {
    Map<String, String> env = world.supabase(world.openAi(world.env(id), openai), storage);
    env.put("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS", "2000");
    env.putAll(extra);
    WorkerApp app = world.start(env);
    apps.add(app);
    return app;
  }

  @Test
  void everyPageIsReadOrRecordedAndTheShellFileShowsIt() throws Exception {
    Corpus corpus = new Corpus(dir);
    String k = "w" + worlds + "-";
    Pipeline.Upload scan = upload(k + "scan", corpus.scannedPdf(10), "pdf");
    Pipeline.Upload fax = upload(k + "fax", corpus.multiPageTiff(3), "tiff");
    Pipeline.Upload dates = upload(k + "dates", corpus.partialDatesAndBadEvents(), "txt");
    Pipeline.Upload filtered = upload(k + "filtered", corpus.filteredPage(), "pdf");
    Pipeline.Upload longPdf = upload(k + "long", corpus.longTextPdf(120), "pdf");
    worker("coverage-1", Map.of());
    List<UUID> all = List.of(scan.jobId(), fax.jobId(), dates.jobId(), filtered.jobId(), longPdf.jobId());
    await().atMost(Duration.ofMinutes(2)).until(() -> all.stream().allMatch(j -> done(j)));
    for (UUID j : all) {
      assertThat(world.status(j)).as(j.toString()).isEqualTo("completed");
    }

    assertThat(world.rows("SELECT pages_total, pages_read, extraction_outcome FROM public.shell_files WHERE id = ?",
        scan.shellFileId())).containsExactly(Map.of("pages_total", 10, "pages_read", 10, "extraction_outcome", "complete"));
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events WHERE shell_file_id = ?", scan.shellFileId()))
        .isEqualTo(10);
    assertThat(world.scalar("SELECT count(DISTINCT source_page) FROM public.clinical_events WHERE shell_file_id = ?",
        fax.shellFileId())).isEqualTo(3);

    // the partial outcome names the page not read, on the shell file and in the job's result
    assertThat(world.rows("SELECT pages_total, pages_read, extraction_outcome FROM public.shell_files WHERE id = ?",
        filtered.shellFileId())).containsExactly(Map.of("pages_total", 3, "pages_read", 2, "extraction_outcome", "partial"));
    JsonNode unread = JSON.readTree(world.text("SELECT pages_unread::text FROM public.shell_files WHERE id = ?",
        filtered.shellFileId()));
    assertThat(unread.toString()).isEqualTo("[{\"page\":2,\"reason\":\"content_filter\"}]");
    assertThat(world.text("SELECT result ->> 'extraction_outcome' FROM public.jobs WHERE id = ?", filtered.jobId()))
        .isEqualTo("partial");

    // partial dates are stored as such; the invalid events are kept, with their reasons, beside the text
    assertThat(world.rows("""
        SELECT name, event_date::text AS d, event_date_precision AS p FROM public.clinical_events
         WHERE shell_file_id = ? AND event_type = 'condition' ORDER BY name""", dates.shellFileId()))
        .containsExactly(Map.of("name", "Asthma", "d", "2015-06-01", "p", "month"),
            Map.of("name", "Hypothyroidism", "d", "2021-11-03", "p", "day"),
            Map.of("name", "Type 2 diabetes", "d", "2019-01-01", "p", "year"));
    JsonNode dropped = JSON.readTree(world.text("SELECT dropped_events::text FROM public.document_texts WHERE shell_file_id = ?",
        dates.shellFileId()));
    assertThat(dropped).hasSize(3);
    assertThat(dropped.findValuesAsText("field")).containsExactlyInAnyOrder("event_type", "event_date", "confidence");
    assertThat(dropped.findValue("event").isObject()).isTrue();

    // the long PDF: every page read, its stored text cut and marked so
    assertThat(world.rows("""
        SELECT d.pages_read, d.text_truncated, d.text_chars > 200000 AS longer, length(d.text) AS stored, d.model_calls > 1 AS split
          FROM public.document_texts d WHERE d.shell_file_id = ?""", longPdf.shellFileId()))
        .containsExactly(Map.of("pages_read", 120, "text_truncated", true, "longer", true, "stored", 200_000, "split", true));
    assertThat(world.scalar("SELECT max(source_page) FROM public.clinical_events WHERE shell_file_id = ?",
        longPdf.shellFileId())).isEqualTo(120);
    // the audit row of the document carries the coverage
    assertThat(world.text("""
        SELECT new_values ->> 'extraction_outcome' FROM public.audit_log
         WHERE table_name = 'document_texts' AND operation = 'INSERT' AND job_id = ?""", filtered.jobId()))
        .isEqualTo("partial");
  }

  @Test
  void heicIsRefusedAtUploadWithAClearError() {
    assertThatThrownBy(() -> world.register("w" + worlds + "-iphone", "heic", "image/heic", 2_000_000))
        .isInstanceOf(JobQueueException.class).hasCauseInstanceOf(SQLException.class)
        .hasMessageContaining("unknown mime type \"image/heic\"")
        .hasMessageContaining("image/tiff");
  }

  @Test
  void exhaustedQuotaStopsTheWholeFleetWithoutSpendingAttempts() throws Exception {
    openai.account(FakeOpenAi.Account.INSUFFICIENT_QUOTA);
    String k = "w" + worlds + "-q";
    List<UUID> jobs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Path f = dir.resolve("q" + i + ".txt");
      Files.writeString(f, "- Aspirin " + (80 + i) + " mg\n");
      jobs.add(upload(k + i, new Doc("t", f, "text/plain", 1, List.of(), List.of()), "txt").jobId());
    }
    Map<String, String> budget = Map.of("QUEUEPILOT_TOKENS_PER_MINUTE", "1000000", "QUEUEPILOT_CONCURRENCY", "1",
        "QUEUEPILOT_TOKEN_BUDGET", "quota-" + worlds);
    WorkerApp a = worker("quota-a", budget);
    await().atMost(Duration.ofSeconds(30)).until(() -> halted(a, "quota") == 1.0);
    assertThat(openai.calls()).hasSize(1);
    // a replica that starts later stops at its first reservation, without a call to OpenAI
    WorkerApp b = worker("quota-b", budget);
    await().atMost(Duration.ofSeconds(30)).until(() -> halted(b, "quota") == 1.0);
    // the shared budget is blocked for the fleet, with the reason
    assertThat(world.text("SELECT public.token_budget_blocked_reason(?)", "quota-" + worlds)).startsWith("insufficient_quota");
    assertThat(WorkerPipelineIT.get(a.httpPort(), "/readyz")).contains("model provider unusable (quota");
    assertThat(WorkerPipelineIT.get(b.httpPort(), "/readyz")).contains("model provider unusable (quota");
    // jobs wait with no attempt spent and nothing dead-lettered; hardly any call reached OpenAI
    await().atMost(Duration.ofSeconds(10)).until(() -> jobs.stream().allMatch(j -> pendingUnspent(j)));
    assertThat(openai.calls()).singleElement().satisfies(c -> assertThat(c.outcome()).isEqualTo(FakeOpenAi.Outcome.QUOTA));
    assertThat(WorkerPipelineIT.get(a.httpPort(), "/metrics"))
        .contains("queuepilot_worker_provider_halted{reason=\"quota\",worker_id=\"quota-a\"} 1.0");
  }

  @Test
  void aRefusedKeyStopsClaimingBeforeAnyJobIsTouched() throws Exception {
    openai.account(FakeOpenAi.Account.KEY_REVOKED);
    Path f = dir.resolve("k.txt");
    Files.writeString(f, "- Aspirin 81 mg\n");
    UUID job = upload("w" + worlds + "-key", new Doc("t", f, "text/plain", 1, List.of(), List.of()), "txt").jobId();
    WorkerApp a = worker("revoked", Map.of());
    assertThat(halted(a, "auth")).isEqualTo(1.0);
    assertThat(WorkerPipelineIT.get(a.httpPort(), "/readyz")).contains("model provider unusable (auth, invalid_api_key)")
        .contains("fix OPENAI_API_KEY");
    // a few poll intervals pass: the job is never claimed
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> true);
    assertThat(world.rows("SELECT status, attempt FROM public.jobs WHERE id = ?", job))
        .containsExactly(Map.of("status", "pending", "attempt", 0));
    assertThat(openai.calls()).isEmpty();
  }

  @Test
  void anUnknownModelIsAConfigurationErrorAtStartUp() {
    assertThatThrownBy(() -> worker("unknown-model", Map.of("QUEUEPILOT_OPENAI_MODEL", "gpt-6-omni")))
        .isInstanceOf(WorkerConfig.ConfigException.class).hasMessageContaining("QUEUEPILOT_OPENAI_MODEL")
        .hasMessageContaining("gpt-6-omni");
    assertThatThrownBy(() -> worker("too-much-output", Map.of("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS", "50000")))
        .isInstanceOf(WorkerConfig.ConfigException.class).hasMessageContaining("QUEUEPILOT_OPENAI_MAX_OUTPUT_TOKENS");
  }

  private boolean done(UUID job) {
    try {
      return List.of("completed", "dead_letter").contains(world.status(job));
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private boolean pendingUnspent(UUID job) {
    try {
      return world.scalar("SELECT count(*) FROM public.jobs WHERE id = ? AND status = 'pending' AND attempt = 0", job) == 1;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static double halted(WorkerApp app, String reason) {
    var g = app.registry().find("queuepilot.worker.provider.halted").tag("reason", reason).gauge();
    return g == null ? -1 : g.value();
  }
}
