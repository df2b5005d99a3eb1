package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V110 on a V105 database with work in flight: the random ids of existing jobs, their fields and
 * the leases held stay as they were; old keys still name their jobs; new jobs get version 7 ids
 * and are claimed by priority and age next to the old ones, not by id.
 */
class UpgradeToTimeOrderedIdsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  private static final String EVERY_FIELD = UpgradeFromV081Test.EVERY_FIELD;

  @Test
  void aV105DatabaseWithLeasesInFlightUpgradesInPlace() throws Exception {
    pg.migrateTo("105");

    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("v105_worker", "queue_worker"));
    Db su = new Db(pg.superuser());
    List<UUID> old = worker.enqueueAll(List.of(NewJob.of("upgrade110", "{\"n\":0}", "v105-key-0"),
        NewJob.of("upgrade110", "{\"n\":1}", "v105-key-1"), NewJob.of("upgrade110", "{\"n\":2}", "v105-key-2"),
        NewJob.of("upgrade110", "{\"n\":3}", "v105-key-3"), NewJob.of("upgrade110", "{\"n\":4}", "v105-key-4")));
    assertThat(old).allSatisfy(id -> assertThat(id.version()).as("V105 ids are random").isEqualTo(4));
    List<ClaimedJob> claimed = worker.claim("v105-worker", List.of("upgrade110"), List.of(), 3);
    assertThat(worker.complete(claimed.get(0).id(), claimed.get(0).leaseToken(), "{\"done\":true}", 3)).isTrue();
    List<ClaimedJob> inFlight = claimed.subList(1, 3);
    List<Map<String, Object>> before = su.rows(EVERY_FIELD);

    MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
    assertThat(upgrade.success).isTrue();
    assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(110);
    assertThat(su.rows(EVERY_FIELD)).as("every job and field, ids included").isEqualTo(before);

    // old keys name their jobs (live and finished); a new key gets a version 7 id
    List<UUID> again = worker.enqueueAll(List.of(NewJob.of("upgrade110", "{}", "v105-key-0"),
        NewJob.of("upgrade110", "{}", "v105-key-4"), NewJob.of("upgrade110", "{}", "v110-key-new")));
    assertThat(again.subList(0, 2)).containsExactly(old.get(0), old.get(4));
    assertThat(again.get(2).version()).isEqualTo(7);
    assertThat(worker.enqueue(NewJob.of("upgrade110", "{}", "v110-key-single")).version()).isEqualTo(7);

    // the leases taken before the upgrade still heartbeat and complete; a wrong one is fenced
    assertThat(worker.heartbeat(inFlight.get(0).id(), inFlight.get(0).leaseToken())).isTrue();
    assertThat(worker.completeAll(List.of(new Completion(inFlight.get(0).id(), inFlight.get(0).leaseToken(), null, 1),
        new Completion(inFlight.get(1).id(), UUID.randomUUID(), null, null)))).containsExactly(inFlight.get(1).id());
    assertThat(worker.complete(inFlight.get(1).id(), inFlight.get(1).leaseToken(), null, 2)).isTrue();

    // old pending jobs (random ids) are older, so they are claimed before the new ones
    List<ClaimedJob> next = worker.claim("v110-worker", List.of("upgrade110"), List.of(), 4);
    assertThat(next).extracting(ClaimedJob::id).containsExactlyInAnyOrder(old.get(3), old.get(4), again.get(2),
        su.<UUID>value("SELECT id FROM public.job_queue WHERE idempotency_key = 'v110-key-single'"));
    assertThat(next.subList(0, 2)).extracting(ClaimedJob::id).containsExactlyInAnyOrder(old.get(3), old.get(4));
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE job_type = 'upgrade110'")).isEqualTo(7);
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE job_type = 'upgrade110' AND status = 'completed'"))
        .isEqualTo(3);
  }
}
