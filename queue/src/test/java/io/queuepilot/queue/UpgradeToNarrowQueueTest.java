package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14, point 4: a database on today's schema (Flyway target V070) with work in every state —
 * pending, processing under workers' leases, completed, dead-lettered, cancelled — is migrated to
 * the narrow live table + history in place. Every job, field, lease and idempotency key survives;
 * a worker that claimed before the migration completes, heartbeats and fails after it with the
 * same lease; the finished rows are in job_history and the old keys still deduplicate.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class UpgradeToNarrowQueueTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  /** Every column V070 has, as text, per job: what must survive the move (live or history). */
  private static final String EVERY_FIELD = """
      SELECT id::text, concat_ws('|', job_type, job_lane, payload, status, priority, scheduled_at, created_at,
             updated_at, started_at, completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id,
             lease_token, error, error_history, idempotency_key, patient_id, shell_file_id, correlation_id,
             tokens_estimated, tokens_used, result) AS fields
        FROM %s ORDER BY id
      """;

  @Test
  @Order(1)
  void aV070DatabaseWithJobsInEveryStateUpgradesInPlace() throws Exception {
    pg.migrateTo("70");

    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("upgrade_worker", "queue_worker"));
    PostgresJobQueue operator = new PostgresJobQueue(pg.superuser());
    Db su = new Db(pg.superuser());
    for (int i = 0; i < 12; i++) {
      worker.enqueue(new NewJob("upgrade", "default", "{\"n\":" + i + "}", "upgrade-key-" + i, null, null, null,
          null, null, null, 100 + i));
    }
    List<ClaimedJob> claimed = worker.claim("upgrade-worker", List.of("upgrade"), List.of(), 9);
    // 3 completed (result, tokens), 1 dead-lettered, 1 cancelled; 4 stay in flight, 3 pending
    for (int i = 0; i < 3; i++) {
      assertThat(worker.complete(claimed.get(i).id(), claimed.get(i).leaseToken(), "{\"done\":" + i + "}", 10 * i)).isTrue();
    }
    worker.fail(claimed.get(3).id(), claimed.get(3).leaseToken(), "{\"message\":\"bad\"}", false);
    operator.cancel(claimed.get(4).id());
    List<ClaimedJob> inFlight = claimed.subList(5, 9);
    UUID cancelled = claimed.get(4).id();
    List<Map<String, Object>> before = su.rows(EVERY_FIELD.formatted("public.job_queue"));
    assertThat(before).hasSize(12);

    MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
    assertThat(upgrade.success).isTrue();
    assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(81);

    // every job and every field, wherever it is now
    assertThat(su.rows(EVERY_FIELD.formatted("public.jobs"))).isEqualTo(before);
    assertThat(su.count("SELECT count(*) FROM public.job_queue")).as("live: 3 pending, 4 processing, 1 dead letter").isEqualTo(8);
    assertThat(su.rows("SELECT status, count(*) AS n FROM public.job_history GROUP BY status ORDER BY status"))
        .containsExactly(Map.of("status", "cancelled", "n", 1L), Map.of("status", "completed", "n", 3L));
    assertThat(su.count("SELECT count(*) FROM public.job_history h WHERE h.status = 'completed' AND h.finished_at = h.completed_at"))
        .isEqualTo(3);
    assertThat(su.count("SELECT count(*) FROM pg_constraint WHERE conname = 'job_queue_live_status' AND convalidated"))
        .as("all finished rows moved, so the live-status constraint is validated").isEqualTo(1);
    // every key, still unique across live and finished jobs
    assertThat(su.count("SELECT count(*) FROM public.job_idempotency_keys k JOIN public.jobs j"
        + " ON j.id = k.job_id AND j.idempotency_key = k.idempotency_key")).isEqualTo(12);
    for (int i = 0; i < 12; i++) {
      UUID original = UUID.fromString((String) su.rows("SELECT id::text AS id FROM public.jobs WHERE idempotency_key = ?",
          "upgrade-key-" + i).get(0).get("id"));
      assertThat(worker.enqueue(NewJob.of("upgrade", "{}", "upgrade-key-" + i))).as("key %d", i).isEqualTo(original);
    }
    assertThat(su.count("SELECT count(*) FROM public.jobs")).isEqualTo(12);

    // leases taken before the migration still work after it
    assertThat(worker.heartbeat(inFlight.get(0).id(), inFlight.get(0).leaseToken())).isTrue();
    assertThat(worker.completeAll(List.of(
            new Completion(inFlight.get(0).id(), inFlight.get(0).leaseToken(), "{\"after\":true}", 7),
            new Completion(inFlight.get(1).id(), UUID.randomUUID(), null, null))))
        .containsExactly(inFlight.get(1).id());
    assertThat(su.rows("SELECT status, lease_token, tokens_used FROM public.job_history WHERE id = ?", inFlight.get(0).id()))
        .containsExactly(Map.of("status", "completed", "lease_token", inFlight.get(0).leaseToken(), "tokens_used", 7));
    assertThat(worker.fail(inFlight.get(1).id(), inFlight.get(1).leaseToken(), "{\"message\":\"retry\"}", true))
        .contains(JobQueue.JobStatus.PENDING);
    assertThat(worker.release(inFlight.get(2).id(), inFlight.get(2).leaseToken(), Duration.ZERO)).isTrue();
    // and the cancelled job moved back on re-open
    operator.retry(cancelled, null);
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE id = ? AND status = 'pending'", cancelled)).isEqualTo(1);
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE id = ?", cancelled)).isZero();
    assertThat(worker.claim("upgrade-worker-2", List.of("upgrade"), List.of(), 20))
        .extracting(ClaimedJob::id).contains(cancelled, inFlight.get(2).id());
  }

  @Test
  @Order(2)
  void aBigHistoryIsLeftForTheBatchedMoveAndStaysReadableMeanwhile() {
    // The same function the migration runs, on rows it left: moving in batches, then validating.
    assertThat(Migrations.migrate(pg.migrationRole()).migrationsExecuted).as("migrated by the test before").isZero();
    Db su = new Db(pg.superuser());
    // what the migration leaves when there are more than 100,000 finished rows (here fewer, put back)
    su.exec("ALTER TABLE public.job_queue DROP CONSTRAINT job_queue_live_status");
    su.exec("""
        INSERT INTO public.job_queue (job_type, status, idempotency_key, attempt, started_at, completed_at, updated_at)
        SELECT 'legacy', CASE WHEN g % 5 = 0 THEN 'cancelled' ELSE 'completed' END, 'legacy-' || g, 1,
               now() - interval '2 days', now() - interval '2 days', now() - interval '2 days'
          FROM generate_series(1, 2500) g
        """);
    su.exec("ALTER TABLE public.job_queue ADD CONSTRAINT job_queue_live_status"
        + " CHECK (status IN ('pending', 'processing', 'dead_letter')) NOT VALID");
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'legacy'")).isEqualTo(2500);
    assertThat((Integer) su.value("SELECT public.job_queue_move_finished(1000)")).isEqualTo(1000);
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'legacy'")).as("readable meanwhile").isEqualTo(2500);
    assertThat((Integer) su.value("SELECT public.job_queue_move_finished(1000)")).isEqualTo(1000);
    assertThat((Integer) su.value("SELECT public.job_queue_move_finished(1000)")).isEqualTo(500);
    assertThat((Integer) su.value("SELECT public.job_queue_move_finished(1000)")).isZero();
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE job_type = 'legacy'")).isEqualTo(2500);
    assertThat(su.count("SELECT count(*) FROM pg_constraint WHERE conname = 'job_queue_live_status' AND convalidated"))
        .isEqualTo(1);
  }
}
