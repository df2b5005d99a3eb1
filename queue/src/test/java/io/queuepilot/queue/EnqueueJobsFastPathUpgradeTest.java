package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database migrated with every migration but V093 (main before it, V105 included) and holding
 * live, in-flight and finished jobs with keys is upgraded with the production configuration:
 * V093 applies, the keys keep naming their jobs, the lease taken before still completes.
 */
class EnqueueJobsFastPathUpgradeTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  private static final MigrationVersion V093 = MigrationVersion.fromVersion("093");

  @Test
  void upgradesADatabaseThatAlreadyHasLaterMigrations(@TempDir Path withoutV093) throws IOException {
    Flyway production = Migrations.flyway(pg.migrationRole());
    for (MigrationInfo m : production.info().all()) {
      if (m.getVersion() != null && !m.getVersion().equals(V093)) {
        try (InputStream in = EnqueueJobsFastPathUpgradeTest.class.getResourceAsStream("/db/migration/" + m.getScript())) {
          Files.copy(in, withoutV093.resolve(m.getScript()));
        }
      }
    }
    Flyway before = Flyway.configure().configuration(production.getConfiguration())
        .locations("filesystem:" + withoutV093).load();
    assertThat(before.migrate().success).isTrue();
    Db su = new Db(pg.superuser());
    assertThat(su.count("SELECT count(*) FROM public.queuepilot_schema_history WHERE version = '093'")).isZero();
    assertThat(su.count("SELECT count(*) FROM public.queuepilot_schema_history WHERE version::int > 93")).isPositive();

    String run = UUID.randomUUID().toString();
    PostgresJobQueue q = new PostgresJobQueue(pg.superuser());
    List<UUID> old = q.enqueueAll(List.of(NewJob.of("upgrade.fast", "{}", run + ":live"),
        NewJob.of("upgrade.fast", "{}", run + ":held"), NewJob.of("upgrade.fast", "{}", run + ":done")));
    ClaimedJob done = q.claim("pre-upgrade", List.of("upgrade.fast"), List.of(), 1).get(0);
    assertThat(q.complete(done.id(), done.leaseToken(), null, null)).isTrue();
    ClaimedJob held = q.claim("pre-upgrade", List.of("upgrade.fast"), List.of(), 1).get(0);

    assertThat(Migrations.migrate(pg.migrationRole()).success).isTrue();
    assertThat(su.count("SELECT count(*) FROM public.queuepilot_schema_history WHERE version = '093' AND success")).isEqualTo(1);

    List<UUID> again = q.enqueueAll(List.of(NewJob.of("upgrade.fast", "{}", run + ":live"),
        NewJob.of("upgrade.fast", "{}", run + ":held"), NewJob.of("upgrade.fast", "{}", run + ":done"),
        NewJob.of("upgrade.fast", "{}", run + ":new")));
    assertThat(again.subList(0, 3)).as("keys from before the upgrade name their jobs, live or finished").isEqualTo(old);
    assertThat(again.get(3)).isNotIn(old);
    assertThat(q.complete(held.id(), held.leaseToken(), null, null)).as("a lease taken before the upgrade").isTrue();
    assertThat(su.count("SELECT count(*) FROM public.jobs WHERE idempotency_key LIKE ?", run + ":%")).isEqualTo(4);
  }
}
