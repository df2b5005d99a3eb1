package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.CompletedAndClaimed;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V114 on a V112 database with pending, in-flight (leases handed out before the upgrade),
 * completed and cancelled jobs: every job and field stays as it was, the old leases complete
 * through the new complete_and_claim_jobs (a wrong one is fenced), the pending jobs are claimed by
 * it, finished jobs keep their idempotency keys, and queue_stats counts the completions.
 */
class UpgradeToLeanCompletionTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  @Test
  void aV112DatabaseWithLiveInFlightAndFinishedJobsUpgradesInPlace() throws Exception {
    pg.migrateTo("112");

    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("v112_worker", "queue_worker"));
    Db su = new Db(pg.superuser());
    List<UUID> ids = worker.enqueueAll(IntStream.range(0, 8)
        .mapToObj(i -> NewJob.of("upgrade114", "{\"n\":" + i + "}", "v112-key-" + i)).toList());
    List<ClaimedJob> held = worker.claim("v112-worker", List.of("upgrade114"), List.of(), 5);
    assertThat(held).hasSize(5);
    // finished before the upgrade: one completed, one cancelled
    assertThat(worker.completeAll(List.of(new Completion(held.get(0).id(), held.get(0).leaseToken(), "{\"r\":0}", 7))))
        .isEmpty();
    su.exec("SELECT public.update_job_status(?, 'cancelled')", held.get(1).id());
    String everyField = "SELECT * FROM public.jobs WHERE job_type = 'upgrade114' ORDER BY id";
    List<Map<String, Object>> rows = su.rows(everyField);
    assertThat(rows).hasSize(8);
    String stats = "SELECT ready, processing, completed_recently FROM public.queue_stats(ARRAY['upgrade114'], NULL, interval '60 s')";
    Map<String, Object> statsBefore = su.rows(stats).get(0);

    MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
    assertThat(upgrade.success).isTrue();
    assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(114);
    assertThat(su.rows(everyField)).as("every job and field").isEqualTo(rows);
    assertThat(su.rows(stats).get(0)).isEqualTo(statsBefore);

    // the leases handed out before the upgrade: two complete, a wrong one is fenced, and the call
    // claims the three pending jobs under one new token
    ClaimedJob a = held.get(2);
    ClaimedJob b = held.get(3);
    ClaimedJob c = held.get(4);
    Map<String, Object> cBefore = su.rows("SELECT * FROM public.job_queue WHERE id = ?", c.id()).get(0);
    CompletedAndClaimed out = worker.completeAndClaim(List.of(new Completion(a.id(), a.leaseToken(), "{\"r\":2}", 2),
        new Completion(b.id(), b.leaseToken(), null, null), new Completion(c.id(), UUID.randomUUID(), "{\"r\":4}", 4)),
        "v112-worker", List.of("upgrade114"), List.of(), 10);
    assertThat(out.fenced()).containsExactly(c.id());
    assertThat(su.rows("SELECT * FROM public.job_queue WHERE id = ?", c.id()).get(0))
        .as("the fenced job is untouched").isEqualTo(cBefore);
    assertThat(out.claimed()).hasSize(3).extracting(ClaimedJob::id).containsExactlyInAnyOrderElementsOf(ids.subList(5, 8));
    assertThat(out.claimed()).extracting(ClaimedJob::leaseToken).containsOnly(out.claimed().get(0).leaseToken());
    Map<String, Object> ha = su.rows("SELECT status, lease_token, tokens_used, result::text AS result, attempt, worker_id,"
        + " started_at IS NOT NULL AS started FROM public.job_history WHERE id = ?", a.id()).get(0);
    assertThat(ha).containsEntry("status", "completed").containsEntry("lease_token", a.leaseToken())
        .containsEntry("tokens_used", 2).containsEntry("result", "{\"r\": 2}").containsEntry("attempt", 1)
        .containsEntry("worker_id", "v112-worker").containsEntry("started", true);
    assertThat(worker.completeAll(List.of(new Completion(c.id(), c.leaseToken(), null, 1)))).isEmpty();
    assertThat(worker.completeAll(out.claimed().stream().map(j -> new Completion(j.id(), j.leaseToken(), null, 1)).toList()))
        .isEmpty();

    // finished jobs keep their keys: enqueueing again returns the original job
    assertThat(worker.enqueue(NewJob.of("upgrade114", "{}", "v112-key-0"))).isEqualTo(held.get(0).id());
    assertThat(worker.enqueue(NewJob.of("upgrade114", "{}", "v112-key-1"))).isEqualTo(held.get(1).id());
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'upgrade114' AND status = 'completed'"))
        .isEqualTo(7);
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'upgrade114' AND status = 'cancelled'"))
        .isEqualTo(1);
    PostgresJobQueue controller = new PostgresJobQueue(pg.loginAs("v112_controller", "queue_controller"));
    assertThat(controller.stats(List.of("upgrade114"), List.of(), Duration.ofSeconds(60)).completedRecently())
        .as("queue_stats sees the completions").isEqualTo(7);
  }
}
