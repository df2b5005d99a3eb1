package io.queuepilot.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.queuepilot.queue.testing.PostgresExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tiny run of the QueuePilot side of the harness on a real PostgreSQL (the peers need
 * npm and run only through bench/run.sh): the burn-down drains every job through the worker
 * processes and the latency run returns its samples. It checks the harness works, not speed.
 */
class BenchSmokeTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @TempDir Path logs;

  /**
   * On Supabase (the test world) the migrating postgres may not grant service_role; the
   * bench's service login is prepared by the superuser fixture, as a project's admin would.
   */
  @BeforeAll
  static void serviceLogin() throws Exception {
    serviceLogin(pg);
  }

  static void serviceLogin(PostgresExtension pg) throws Exception {
    pg.loginAs(QueuePilotSystem.SERVICE_USER, "service_role");
  }

  @Test
  void burnDownDrainsEveryJobThroughWorkerProcesses() throws Exception {
    BenchServer.Db db = new BenchServer.Db(pg.databaseName(), pg.port());
    // --diagnose on: the processes also report where their pipeline waited (their stderr log)
    QueuePilotSystem system = new QueuePilotSystem(logs).diagnosing(true);
    long completedBefore = completedOnce(db);
    system.setup(db, 300);
    assertThat(db.queryLong(system.unfinishedJobsSql())).isEqualTo(300);

    WorkerSpec spec = new WorkerSpec(2, 2, 3, true, 10, 500);
    BurnDown.Result r = BurnDown.run(system, "smoke", db, spec, 300, Duration.ofMinutes(2));

    assertThat(r.jobs()).isEqualTo(300);
    assertThat(r.seconds()).isPositive();
    assertThat(r.warmupJobs()).isZero();
    assertThat(r.cold()).as("no warm-up: the whole burn-down is the cold figure").isNull();
    assertThat(r.workerJitCpuSeconds()).as("the JIT compiler threads' share of the workers' CPU (HotSpot names them)")
        .isNotNaN().isBetween(0.0, r.workerCpuSeconds());
    assertThat(db.queryLong(system.unfinishedJobsSql())).isZero();
    assertThat(completedOnce(db) - completedBefore).as("each job claimed once and completed under its lease").isEqualTo(300);
    assertThat(Files.readAllLines(logs.resolve("queuepilot.stderr.log")).stream().filter(l -> l.startsWith("DIAG pid ")))
        .as("one diagnostics line per worker process").hasSize(2);
  }

  /** Jobs of the burn-downs completed at their first attempt (claimed once, completed under that lease). */
  static long completedOnce(BenchServer.Db db) {
    return db.queryLong("SELECT count(*) FROM public.jobs WHERE job_type = 'noop' AND status = 'completed' AND attempt = 1");
  }

  @Test
  void latencyRunReportsEverySampleAndItsJvmGetsTheGivenOptions() throws Exception {
    BenchServer.Db db = new BenchServer.Db(pg.databaseName(), pg.port());
    // --worker-jvm-options: an option with a visible effect (the JVM opens its own log file)
    Path jvmLog = logs.resolve("worker-jvm.log");
    QueuePilotSystem system = new QueuePilotSystem(logs).withJvmOptions(List.of("", "-Xlog:gc:file=" + jvmLog));
    assertThat(system.version()).endsWith("worker JVM options -Xlog:gc:file=" + jvmLog);
    system.setup(db, 0);

    JsonNode r = system.latency(db, 20, 2, Duration.ofMinutes(2));

    assertThat(r.path("samples").asInt()).isEqualTo(20);
    assertThat(r.path("p50Ms").asDouble()).isPositive();
    assertThat(r.path("maxMs").asDouble()).isGreaterThanOrEqualTo(r.path("p99Ms").asDouble());
    assertThat(db.queryLong("SELECT count(*) FROM public.jobs WHERE job_type = 'latency' AND status = 'completed'"))
        .isEqualTo(22);
    assertThat(jvmLog).as("the worker JVM was started with the option").exists();
  }
}
