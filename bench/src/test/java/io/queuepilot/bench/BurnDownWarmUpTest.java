package io.queuepilot.bench;

import static io.queuepilot.bench.BenchSmokeTest.completedOnce;
import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm-up method on a real PostgreSQL (its own database: the burn-downs' idempotency keys would
 * collide with {@link BenchSmokeTest}'s): the same worker processes burn the warm-up jobs and the
 * measured ones in one go; the result's figures cover only what was left after the warm-up, the cold
 * figure the first jobs from the first start, and every job still completes once.
 */
class BurnDownWarmUpTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @TempDir Path logs;

  @BeforeAll
  static void login() throws Exception {
    BenchSmokeTest.serviceLogin(pg);
  }

  @Test
  void aWarmUpMeasuresOnlyTheJobsAfterItWithTheColdFigureBeside() throws Exception {
    BenchServer.Db db = new BenchServer.Db(pg.databaseName(), pg.port());
    QueuePilotSystem system = new QueuePilotSystem(logs);
    long completedBefore = completedOnce(db);
    system.setup(db, 600);

    // one process, one job at a time, one complete_job each: slow enough for its 100 ms counters to see the warm-up end
    WorkerSpec spec = new WorkerSpec(1, 1, 2, false, 10, 500);
    BurnDown.Result r = BurnDown.run(system, "smoke", db, spec, 300, 300, Duration.ofMinutes(2));

    assertThat(r.warmupJobs()).isEqualTo(300);
    // the window holds what was left once the counters had passed the warm-up: at most the measured 300
    assertThat(r.jobs()).isBetween(1L, 300L);
    assertThat(r.seconds()).isPositive();
    assertThat(r.cold()).isNotNull();
    assertThat(r.cold().jobs()).isBetween(300L, 600L);
    assertThat(r.cold().seconds()).isPositive();
    assertThat(db.queryLong(system.unfinishedJobsSql())).isZero();
    assertThat(completedOnce(db) - completedBefore)
        .as("warm-up and measured jobs each claimed once and completed under its lease").isEqualTo(600);
    assertThat(java.nio.file.Files.readString(logs.resolve("queuepilot.stderr.log")))
        .as("no --diagnose: no diagnostics").doesNotContain("DIAG ");
  }

}
