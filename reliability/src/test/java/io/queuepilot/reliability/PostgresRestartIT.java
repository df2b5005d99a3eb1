package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL restarted in the middle of the run (fast shutdown: every session terminated,
 * open transactions rolled back; same data directory): the workers reconnect by themselves and
 * nothing is lost or written twice.
 */
class PostgresRestartIT {

  @Test
  void postgresRestartedMidRun() {
    int jobs = Scale.jobs();
    int restarts = Scale.pick(1, 2);
    try (ChaosWorld world = ChaosWorld.create("pgrestart", Duration.ofSeconds(8))) {
      world.proxy().latency(Duration.ofMillis(20));
      world.startWorkers(3);
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(15), Duration.ofSeconds(120)), 40);
      double worstDowntime = 0;
      double worstRecovery = 0;
      for (int i = 0; i < restarts; i++) {
        long before = world.completed();
        await().atMost(Duration.ofSeconds(120)).until(() -> world.completed() >= before + Math.max(10, jobs / (4 * restarts)));
        Instant down = Instant.now();
        world.pg().stop();
        // stays down a while (a managed database restarting): workers meet refused connections
        Instant back = down.plus(Scale.pick(Duration.ofSeconds(3), Duration.ofSeconds(20)));
        await().atMost(Duration.ofSeconds(60)).until(() -> !Instant.now().isBefore(back));
        world.pg().start();
        Instant up = Instant.now();
        worstDowntime = Math.max(worstDowntime, Duration.between(down, up).toMillis() / 1000.0);
        await("a job completes after the restart").atMost(Duration.ofSeconds(120))
            .until(() -> world.secondsToNextCompletion(up) != null);
        worstRecovery = Math.max(worstRecovery, world.secondsToNextCompletion(up));
      }
      world.awaitUploaded(jobs, Duration.ofMinutes(5));
      world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(3), Duration.ofMinutes(15)));
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();

      assertThat(exits.values()).containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.lateWrites()).isZero();
      // the uploader outside the fault path may have retried a registration PostgreSQL
      // committed just before it went down: count what the table holds, not what we sent
      assertThat(r.completed() + r.deadLettered()).isGreaterThanOrEqualTo(jobs);
      ScenarioReport.row("PostgreSQL restarted mid-run", r,
          restarts + " restart(s) (fast shutdown), down " + ScenarioReport.seconds(worstDowntime) + " each",
          "—", ScenarioReport.seconds(worstRecovery) + " from server up to next completion");
    }
  }
}
