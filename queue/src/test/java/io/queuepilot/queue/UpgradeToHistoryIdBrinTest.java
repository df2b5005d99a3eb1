package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V111 on a V110 database with history in its partitions and work in flight: every job and field
 * stays as it was, the leases held before the upgrade complete after it, finished jobs are found by
 * id, a cancelled one re-opens, and the default partition's rows are still purged.
 */
class UpgradeToHistoryIdBrinTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  private static final String EVERY_FIELD = UpgradeFromV081Test.EVERY_FIELD;

  @Test
  void aV110DatabaseWithHistoryAndLeasesInFlightUpgradesInPlace() throws Exception {
    pg.migrateTo("110");

    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("v110_worker", "queue_worker"));
    PostgresJobQueue operator = new PostgresJobQueue(pg.superuser());
    Db su = new Db(pg.superuser());
    List<UUID> ids = worker.enqueueAll(java.util.stream.IntStream.range(0, 8)
        .mapToObj(i -> NewJob.of("upgrade111", "{\"n\":" + i + "}", "v110-key-" + i)).toList());
    List<ClaimedJob> claimed = worker.claim("v110-worker", List.of("upgrade111"), List.of(), 6);
    assertThat(worker.completeAll(List.of(new Completion(claimed.get(0).id(), claimed.get(0).leaseToken(), "{\"r\":0}", 3),
        new Completion(claimed.get(1).id(), claimed.get(1).leaseToken(), null, null)))).isEmpty();
    operator.cancel(claimed.get(2).id());
    List<ClaimedJob> inFlight = claimed.subList(3, 6);
    // a row that reached the default partition (no partition for its day), ten days old
    su.exec("""
        INSERT INTO public.job_history
          (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, completed_at,
           attempt, max_attempts, error_history, idempotency_key, correlation_id, finished_at)
        VALUES (gen_random_uuid(), 'upgrade111', 'default', '{}', 'completed', 5, now() - interval '400 days',
                now() - interval '400 days', now() - interval '400 days', now() - interval '400 days', 1, 5, '[]',
                'v110-old', gen_random_uuid(), now() - interval '400 days')""");
    assertThat(su.<String>value("SELECT tableoid::regclass::text FROM public.job_history WHERE idempotency_key = 'v110-old'"))
        .isEqualTo("queuepilot_history.job_history_default");
    List<Map<String, Object>> before = su.rows(EVERY_FIELD);
    assertThat(before).hasSize(9);

    MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
    assertThat(upgrade.success).isTrue();
    assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(111);
    assertThat(su.rows(EVERY_FIELD)).as("every job and field").isEqualTo(before);

    // the btree primary key is gone; every partition has the id BRIN index, the default its btree
    assertThat(su.count("SELECT count(*) FROM pg_constraint WHERE conname = 'job_history_pkey'")).isZero();
    assertThat(su.count("""
        SELECT count(*) FROM pg_inherits p
         WHERE p.inhparent = 'public.job_history'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_inherits x JOIN pg_index i ON i.indexrelid = x.inhrelid
                            WHERE x.inhparent = 'public.job_history_id_brin'::regclass AND i.indrelid = p.inhrelid)"""))
        .as("partitions without the id BRIN index").isZero();
    assertThat(su.count("SELECT count(*) FROM pg_class WHERE relname = 'job_history_default_by_id'")).isEqualTo(1);

    // leases taken before the upgrade complete after it; a wrong one is fenced
    assertThat(worker.heartbeat(inFlight.get(0).id(), inFlight.get(0).leaseToken())).isTrue();
    assertThat(worker.completeAll(List.of(new Completion(inFlight.get(0).id(), inFlight.get(0).leaseToken(), null, 1),
        new Completion(inFlight.get(1).id(), UUID.randomUUID(), null, null)))).containsExactly(inFlight.get(1).id());
    assertThat(worker.complete(inFlight.get(1).id(), inFlight.get(1).leaseToken(), null, 2)).isTrue();

    // finished jobs, from before and after, are found by id; a cancelled one re-opens and runs once more
    for (UUID finished : List.of(claimed.get(0).id(), claimed.get(1).id(), inFlight.get(0).id())) {
      assertThat(su.<String>value("SELECT status FROM public.jobs WHERE id = ?", finished)).isEqualTo("completed");
    }
    operator.retry(claimed.get(2).id(), Instant.now().minusSeconds(1));
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE id = ?", claimed.get(2).id())).isEqualTo(1);
    assertThat(su.<String>value("SELECT status FROM public.job_queue WHERE id = ?", claimed.get(2).id())).isEqualTo("pending");

    // the default partition's old row goes by retention (its row-by-row purge)
    assertThat(su.count("SELECT public.purge_finished_jobs('7 days', 100, NULL)")).isGreaterThanOrEqualTo(1);
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE idempotency_key = 'v110-old'")).isZero();
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'upgrade111'")).isEqualTo(8);
    assertThat(ids).hasSize(8);
  }
}
