package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Upgrading a database at the schema just before V105 with jobs in flight: after migrating to
 * the newest version, jobs_held_by_workers counts the jobs claimed before the upgrade, and their
 * leases still work.
 */
class WorkerOccupancyUpgradeTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  @Test
  void jobsClaimedBeforeTheUpgradeAreCountedAfterIt() throws SQLException {
    MigrationVersion v105 = MigrationVersion.fromVersion("105");
    MigrationVersion previous = Arrays.stream(Migrations.flyway(pg.migrationRole()).info().all())
        .map(m -> m.getVersion()).filter(v -> v != null && v.compareTo(v105) < 0)
        .max(MigrationVersion::compareTo).orElseThrow();
    Flyway toPrevious = Flyway.configure().configuration(Migrations.flyway(pg.migrationRole()).getConfiguration())
        .target(previous).load();
    assertThat(toPrevious.migrate().success).isTrue();
    Db su = new Db(pg.superuser());
    assertThat(su.count("SELECT count(*) FROM pg_proc WHERE proname = 'jobs_held_by_workers'")).isZero();

    PostgresJobQueue q = new PostgresJobQueue(pg.superuser());
    for (int i = 0; i < 3; i++) q.enqueue(NewJob.of("occupancy", "{}", "upgrade-" + i));
    List<ClaimedJob> claimed = q.claim("pod-before-upgrade", List.of("occupancy"), List.of(), 2);
    assertThat(claimed).hasSize(2);

    assertThat(Migrations.migrate(pg.migrationRole()).success).isTrue();

    WorkerOccupancy controller = new PostgresWorkerOccupancy(pg.loginAs("occupancy_upgrade_controller", "queue_controller"));
    assertThat(controller.jobsHeld(List.of("pod-before-upgrade", "pod-new"), Duration.ofSeconds(60)))
        .containsExactlyInAnyOrderEntriesOf(Map.of("pod-before-upgrade", 2, "pod-new", 0));
    assertThat(q.complete(claimed.get(0).id(), claimed.get(0).leaseToken(), "{}", 1)).isTrue();
    assertThat(controller.jobsHeld(List.of("pod-before-upgrade"), Duration.ofSeconds(60)))
        .containsExactlyEntriesOf(Map.of("pod-before-upgrade", 1));
  }
}
