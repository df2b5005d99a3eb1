package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.queue.writeback.PostgresWriteBack;
import io.queuepilot.worker.fakes.Pipeline;
import io.queuepilot.worker.process.DocumentKind;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V060 upgrades a database at V040 that holds data: an extraction written before it, a job
 * registered before it and written back after it, upload settings that still list HEIC.
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class ExtractionCoverageMigrationIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension(false);

  private static void exec(DataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  @Test
  @org.junit.jupiter.api.Order(1)
  void upgradesFromV040WithDataInIt() throws Exception {
    Flyway flyway = Flyway.configure().configuration(Migrations.flyway(pg.superuser()).getConfiguration()).target("40").load();
    flyway.migrate();
    Pipeline world = new Pipeline(pg, "upgrade_worker");
    DataSource worker = pg.dataSource("upgrade_worker", "upgrade_worker");
    assertThat(world.text("SELECT array_to_string(allowed_mime_types, ',') FROM public.upload_settings")).contains("image/heic");

    // before: one extraction written at V040, one upload still waiting for the worker
    Pipeline.Upload old = world.register("old", "pdf", "application/pdf", 1000);
    JobQueue queue = new PostgresJobQueue(worker);
    JobQueue.ClaimedJob oldJob = queue.claim("w", List.of("document_extraction"), List.of(), 1).get(0);
    assertThat(new PostgresWriteBack(worker).writeBack(oldJob.id(), oldJob.leaseToken(),
        "{\"text\":\"Metformin 500 mg\",\"page_count\":1,\"processor\":\"local\",\"model\":null}",
        "[{\"event_type\":\"medication\",\"name\":\"Metformin\",\"event_date\":\"2024-03-01\",\"confidence\":0.9}]", null))
        .isTrue();
    Pipeline.Upload waiting = world.register("waiting", "tiff", "image/tiff", 2000);

    Migrations.migrate(pg.superuser());

    // the old rows: their date is a day; their coverage was never recorded and says so (NULL)
    assertThat(world.text("SELECT event_date_precision FROM public.clinical_events WHERE shell_file_id = ?",
        old.shellFileId())).isEqualTo("day");
    assertThat(world.rows("SELECT pages_read, extraction_outcome FROM public.document_texts WHERE shell_file_id = ?",
        old.shellFileId())).singleElement().satisfies(r -> {
          assertThat(r.get("pages_read")).isNull();
          assertThat(r.get("extraction_outcome")).isNull();
        });
    // HEIC is gone from the accepted types (the rest kept, in order) and cannot come back
    assertThat(world.text("SELECT array_to_string(allowed_mime_types, ',') FROM public.upload_settings"))
        .isEqualTo("application/pdf,image/jpeg,image/png,image/tiff,image/webp,text/plain");
    assertThatThrownBy(() -> exec(pg.superuser(),
        "UPDATE public.upload_settings SET allowed_mime_types = allowed_mime_types || ARRAY['image/heic']"))
        .hasMessageContaining("upload_settings_mime_types_processable");
    assertThat(DocumentKind.ACCEPTED_MIME_TYPES).containsAll(
        List.of(world.text("SELECT array_to_string(allowed_mime_types, ',') FROM public.upload_settings").split(",")));

    // the job registered before the upgrade is written back after it, with the new keys
    JobQueue.ClaimedJob job = queue.claim("w", List.of("document_extraction"), List.of(), 1).get(0);
    assertThat(job.id()).isEqualTo(waiting.jobId());
    assertThat(new PostgresWriteBack(worker).writeBack(job.id(), job.leaseToken(), """
        {"text":"fax","page_count":3,"processor":"openai","model":"gpt-4o-mini","pages_read":2,
         "pages_unread":[{"page":3,"reason":"content_filter"}],"dropped_events":[],"text_truncated":false,
         "text_chars":3,"model_calls":2,"tokens_reserved":90000}""",
        "[{\"event_type\":\"condition\",\"name\":\"Asthma\",\"event_date\":\"2015\",\"confidence\":0.9,\"source_page\":1}]",
        51000)).isTrue();
    assertThat(world.rows("SELECT pages_total, pages_read, extraction_outcome FROM public.shell_files WHERE id = ?",
        waiting.shellFileId())).containsExactly(Map.of("pages_total", 3, "pages_read", 2, "extraction_outcome", "partial"));
    assertThat(world.rows("SELECT event_date::text AS d, event_date_precision AS p FROM public.clinical_events WHERE shell_file_id = ?",
        waiting.shellFileId())).containsExactly(Map.of("d", "2015-01-01", "p", "year"));
  }

  @Test
  @org.junit.jupiter.api.Order(2)
  void writeBackRefusesInconsistentPageCountsAndJobsThatAreNotTheFilesCurrentOne() throws Exception {
    Migrations.migrate(pg.superuser());
    Pipeline world = new Pipeline(pg, "upgrade_worker");
    DataSource worker = pg.dataSource("upgrade_worker", "upgrade_worker");
    Pipeline.Upload u = world.register("counts", "pdf", "application/pdf", 1000);
    JobQueue.ClaimedJob job = new PostgresJobQueue(worker).claim("w", List.of("document_extraction"), List.of(), 1).stream()
        .filter(j -> j.id().equals(u.jobId())).findFirst().orElseThrow();
    // 1 page read + 0 unread is not 3 pages: a lost page can not be written as complete
    assertThatThrownBy(() -> new PostgresWriteBack(worker).writeBack(job.id(), job.leaseToken(),
        "{\"text\":\"x\",\"page_count\":3,\"processor\":\"openai\",\"pages_read\":1,\"pages_unread\":[]}", "[]", 10))
        .hasMessageContaining("pages_read 1 + 0 unread pages is not page_count 3");
    // a partial date that is no date
    assertThatThrownBy(() -> new PostgresWriteBack(worker).writeBack(job.id(), job.leaseToken(),
        "{\"text\":\"x\",\"page_count\":1,\"processor\":\"openai\",\"pages_read\":1}",
        "[{\"event_type\":\"condition\",\"name\":\"x\",\"event_date\":\"2019-13\"}]", 10))
        .hasMessageContaining("is not a valid date");
    // the shell file now points at another job: this one may not write its rows
    exec(pg.superuser(), "UPDATE public.shell_files SET processing_job_id = gen_random_uuid() WHERE id = '" + u.shellFileId() + "'");
    assertThatThrownBy(() -> new PostgresWriteBack(worker).writeBack(job.id(), job.leaseToken(),
        "{\"text\":\"x\",\"page_count\":1,\"processor\":\"openai\",\"pages_read\":1}", "[]", 10))
        .hasMessageContaining("is not the current extraction job");
  }
}
