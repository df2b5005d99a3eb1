package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.Lease;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V112 on a V111 database with jobs in flight under per-job tokens: every job and field stays as it
 * was, the tokens handed out before the upgrade keep working (and only for their own job), and the
 * first claim after it hands its jobs one token.
 */
class UpgradeToLeasePerClaimTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  @Test
  void aV111DatabaseWithLeasesInFlightUpgradesInPlace() throws Exception {
    pg.migrateTo("111");

    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("v111_worker", "queue_worker"));
    Db su = new Db(pg.superuser());
    worker.enqueueAll(IntStream.range(0, 6)
        .mapToObj(i -> NewJob.of("upgrade112", "{\"n\":" + i + "}", "v111-key-" + i)).toList());
    List<ClaimedJob> before = worker.claim("v111-worker", List.of("upgrade112"), List.of(), 3);
    assertThat(before).hasSize(3).extracting(ClaimedJob::leaseToken).as("V111: a token per job").doesNotHaveDuplicates();
    assertThat(worker.complete(before.get(0).id(), before.get(0).leaseToken(), "{\"r\":0}", 4)).isTrue();
    String everyField = "SELECT * FROM public.jobs WHERE job_type = 'upgrade112' ORDER BY id";
    List<Map<String, Object>> rows = su.rows(everyField);
    assertThat(rows).hasSize(6);

    MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
    assertThat(upgrade.success).isTrue();
    assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(112);
    assertThat(su.rows(everyField)).as("every job and field").isEqualTo(rows);

    // tokens from before: each opens its own job only
    ClaimedJob a = before.get(1);
    ClaimedJob b = before.get(2);
    assertThat(worker.heartbeatAll(List.of(new Lease(a.id(), a.leaseToken()), new Lease(b.id(), a.leaseToken()))))
        .containsExactly(b.id());
    assertThat(worker.completeAll(List.of(new Completion(a.id(), a.leaseToken(), null, 1),
        new Completion(b.id(), a.leaseToken(), null, 1)))).containsExactly(b.id());
    assertThat(worker.complete(b.id(), b.leaseToken(), null, 2)).isTrue();

    // claims after the upgrade: one token per statement
    List<ClaimedJob> after = worker.claim("v111-worker", List.of("upgrade112"), List.of(), 3);
    assertThat(after).hasSize(3).extracting(ClaimedJob::leaseToken).containsOnly(after.get(0).leaseToken());
    UUID shared = after.get(0).leaseToken();
    assertThat(shared).isNotIn(before.stream().map(ClaimedJob::leaseToken).toList());
    assertThat(worker.completeAll(after.stream().map(j -> new Completion(j.id(), shared, null, 1)).toList())).isEmpty();
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'upgrade112' AND status = 'completed'"))
        .isEqualTo(6);
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE job_type = 'upgrade112' AND lease_token = ?", shared))
        .as("history keeps the finishing token").isEqualTo(3);
  }
}
