package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.CompletedAndClaimed;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.JobQueue.QueueStats;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14: a V081 database with work in flight (pending, processing under leases, completed
 * history, a dead letter, keys) is migrated to V082+ in place: every job and field survives, the
 * workers' leases still complete and heartbeat, the old keys still deduplicate in enqueue_jobs,
 * the history's finished_at index is the BRIN index and queue_stats still counts the recent
 * completions through it.
 */
class UpgradeFromV081Test {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  /** Every field of every job, live or finished (the upgrade tests compare it before and after). */
  static final String EVERY_FIELD = """
      SELECT id::text, concat_ws('|', job_type, job_lane, payload, status, priority, scheduled_at, created_at,
             updated_at, started_at, completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id,
             lease_token, error, error_history, idempotency_key, patient_id, shell_file_id, correlation_id,
             tokens_estimated, tokens_used, result, finished_at) AS fields
        FROM public.jobs ORDER BY id
      """;

  @Test
  void aV081DatabaseWithJobsInFlightUpgradesInPlace() throws Exception {
    pg.migrateTo("81");

    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("v081_worker", "queue_worker"));
    Db su = new Db(pg.superuser());
    for (int i = 0; i < 10; i++) {
      worker.enqueue(new NewJob("upgrade81", "default", "{\"n\":" + i + "}", "v081-key-" + i, null, null, null, null,
          null, null, 50 + i));
    }
    List<ClaimedJob> claimed = worker.claim("v081-worker", List.of("upgrade81"), List.of(), 7);
    for (int i = 0; i < 2; i++) {
      assertThat(worker.complete(claimed.get(i).id(), claimed.get(i).leaseToken(), "{\"done\":" + i + "}", 7)).isTrue();
    }
    worker.fail(claimed.get(2).id(), claimed.get(2).leaseToken(), "{\"message\":\"bad\"}", false);
    List<ClaimedJob> inFlight = claimed.subList(3, 7);
    List<Map<String, Object>> before = su.rows(EVERY_FIELD);
    assertThat(before).hasSize(10);

    MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
    assertThat(upgrade.success).isTrue();
    assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(84);

    assertThat(su.rows(EVERY_FIELD)).as("every job and field").isEqualTo(before);
    assertThat(su.<String>value("""
        SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = 'job_history_finished_idx'
        """)).isEqualTo("brin");
    assertThat(su.count("""
        SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid
          JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_am am ON am.oid = ic.relam
         WHERE i.inhparent = 'public.job_history'::regclass AND am.amname = 'btree'
           AND pg_get_indexdef(x.indexrelid) ~ '\\(finished_at\\)$'
        """)).as("no partition keeps the old btree on finished_at").isZero();

    // the leases taken before the migration still hold: heartbeat one, complete two and claim in one call
    assertThat(worker.heartbeat(inFlight.get(0).id(), inFlight.get(0).leaseToken())).isTrue();
    CompletedAndClaimed out = worker.completeAndClaim(
        List.of(new Completion(inFlight.get(0).id(), inFlight.get(0).leaseToken(), null, 1),
            new Completion(inFlight.get(1).id(), inFlight.get(1).leaseToken(), null, 2)),
        "v081-worker", List.of("upgrade81"), List.of(), 10);
    assertThat(out.fenced()).isEmpty();
    assertThat(out.claimed()).as("the 3 jobs still pending").hasSize(3);
    assertThat(worker.completeAll(List.of(new Completion(inFlight.get(2).id(), inFlight.get(2).leaseToken(), null, null),
        new Completion(inFlight.get(3).id(), UUID.randomUUID(), null, null)))).containsExactly(inFlight.get(3).id());
    // old keys still deduplicate (live and finished)
    List<UUID> again = worker.enqueueAll(List.of(NewJob.of("upgrade81", "{}", "v081-key-0"),
        NewJob.of("upgrade81", "{}", "v081-key-9"), NewJob.of("upgrade81", "{}", "v081-key-new")));
    assertThat(again.get(0)).isEqualTo(claimed.get(0).id());
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'upgrade81'")).isEqualTo(11);
    QueueStats stats = new PostgresJobQueue(pg.superuser()).stats(List.of("upgrade81"), List.of(), Duration.ofMinutes(1));
    assertThat(stats.completedRecently()).as("2 before, 3 after the upgrade").isEqualTo(5);
    assertThat(stats.deadLetter()).isEqualTo(1);
  }
}
