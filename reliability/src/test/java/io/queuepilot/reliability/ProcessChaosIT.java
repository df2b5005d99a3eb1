package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.testkit.WorkerProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;

/**
 * Worker processes dying and freezing: at least 20 SIGKILLs at random points while the others
 * keep running (each killed process replaced), and a worker frozen with SIGSTOP past the
 * heartbeat timeout, then resumed with SIGCONT — its late writes must be refused.
 */
class ProcessChaosIT {

  private static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(6);

  @Test
  void twentySigkillsAtRandomPointsWhileOthersRun() {
    int jobs = Scale.jobs();
    int kills = Scale.pick(20, 30);
    try (ChaosWorld world = ChaosWorld.create("sigkill", HEARTBEAT_TIMEOUT)) {
      // every job spends a little time on the wire so kills land mid-job, not only between jobs
      world.proxy().latency(Duration.ofMillis(50));
      world.startWorkers(3);
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(25), Duration.ofSeconds(150)), 40);
      List<UUID> orphans = new ArrayList<>();
      List<Instant> killTimes = new ArrayList<>();
      Map<Instant, List<UUID>> orphansByKill = new java.util.LinkedHashMap<>();
      int killedHolding = 0;
      for (int k = 0; k < kills; k++) {
        List<WorkerProcess> live = world.workers().stream().filter(WorkerProcess::alive).toList();
        // a random live worker, preferably one that has finished starting (so it holds work)
        List<WorkerProcess> ready = live.stream().filter(WorkerProcess::healthy).toList();
        List<WorkerProcess> pool = ready.isEmpty() ? live : ready;
        WorkerProcess victim = pool.get(ThreadLocalRandom.current().nextInt(pool.size()));
        // a random point: somewhere 0.2–0.9 s (SOAK: 0.3–2.5 s) from now
        long pause = Scale.soak() ? ThreadLocalRandom.current().nextLong(300, 2500) : ThreadLocalRandom.current().nextLong(200, 900);
        Instant at = Instant.now().plusMillis(pause);
        await().atMost(Duration.ofSeconds(5)).until(() -> !Instant.now().isBefore(at));
        world.kill(victim);
        Instant killed = Instant.now();
        killTimes.add(killed);
        List<UUID> held = world.heldBy(victim.workerId()); // frozen in the table: its holder is gone
        orphans.addAll(held);
        orphansByKill.put(killed, held);
        killedHolding += held.isEmpty() ? 0 : 1;
        world.startWorker(); // the replacement (like a Deployment) — not awaited, the others keep running
      }
      world.workers().forEach(world::awaitReady);
      world.awaitUploaded(jobs, Duration.ofMinutes(5));
      world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(3), Duration.ofMinutes(15)));
      // per kill: from the kill until the last job it orphaned was settled by another worker
      double orphanRecovery = orphansByKill.entrySet().stream().filter(e -> !e.getValue().isEmpty())
          .mapToDouble(e -> world.secondsUntilSettled(e.getValue(), e.getKey())).max().orElse(0);
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();

      assertThat(killTimes).hasSize(kills);
      assertThat(killedHolding).as("kills that landed while the victim held jobs").isPositive();
      assertThat(orphans).as("jobs orphaned by the kills").isNotEmpty();
      assertThat(exits.values()).containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.lateWrites()).isZero();
      assertThat(r.completed() + r.deadLettered()).isEqualTo(jobs);
      ScenarioReport.row(kills + " SIGKILLs of worker processes at random points", r,
          kills + " kills (" + killedHolding + " mid-job), " + orphans.size() + " jobs orphaned, requeued as stale " + world.requeued(),
          "n/a (killed)", "orphaned jobs settled ≤ " + ScenarioReport.seconds(orphanRecovery) + " after their kill "
              + "(heartbeat timeout " + HEARTBEAT_TIMEOUT.toSeconds() + " s)");
    }
  }

  @Test
  void workerFrozenPastTheHeartbeatTimeoutHasItsLateWritesRefused() {
    int jobs = Scale.jobs();
    try (ChaosWorld world = ChaosWorld.create("sigstop", HEARTBEAT_TIMEOUT)) {
      world.proxy().latency(Duration.ofMillis(50));
      // downloads to temp files: the resumed worker must clean up after its cancelled jobs too
      FakeStorage storage = world.useSupabaseStore();
      List<WorkerProcess> ws = world.startWorkers(3);
      WorkerProcess frozen = ws.get(0);
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(15), Duration.ofSeconds(100)), 40);

      // freeze it while it holds work
      List<UUID> held = new ArrayList<>();
      await("frozen worker holds jobs").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
        frozen.sigstop();
        List<UUID> h = world.heldBy(frozen.workerId());
        if (h.isEmpty()) {
          frozen.sigcont();
          return false;
        }
        held.addAll(h);
        return true;
      });
      Instant stopped = Instant.now();
      // the controller stand-in requeues them after the heartbeat timeout; others finish them
      // (a job frozen inside its write-back transaction keeps its row lock, so requeue_stale_jobs
      // skips it until the process resumes and commits within its still-valid lease)
      await("frozen worker's jobs taken over and settled").atMost(Duration.ofSeconds(90))
          .until(() -> {
            List<UUID> stillFrozen = world.heldBy(frozen.workerId());
            long settled = held.stream().filter(id -> !stillOpen(world, id)).count();
            long elsewhere = held.stream().filter(id -> stillOpen(world, id) && !stillFrozen.contains(id)).count();
            return settled >= 1 && elsewhere == 0;
          });
      Instant resumed = Instant.now();
      frozen.sigcont();
      await("the resumed worker noticed its lost leases").atMost(Duration.ofSeconds(30))
          .until(() -> frozen.metric("queuepilot_worker_jobs_lease_lost") >= 1);
      double refused = frozen.metric("queuepilot_worker_jobs_lease_lost");

      world.awaitUploaded(jobs, Duration.ofMinutes(5));
      world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(3), Duration.ofMinutes(15)));
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();

      assertThat(Duration.between(stopped, resumed)).isGreaterThan(HEARTBEAT_TIMEOUT);
      assertThat(storage.downloads()).as("documents downloaded to temp files").isGreaterThanOrEqualTo(jobs);
      assertThat(r.tempFilesLeft()).isZero();
      assertThat(refused).as("late writes / heartbeats of the frozen worker refused").isGreaterThanOrEqualTo(1);
      assertThat(exits.values()).containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lateWrites()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.completed() + r.deadLettered()).isEqualTo(jobs);
      ScenarioReport.row("worker SIGSTOPped " + ScenarioReport.seconds(Duration.between(stopped, resumed).toMillis() / 1000.0) + " (timeout "
              + HEARTBEAT_TIMEOUT.toSeconds() + " s), then SIGCONT", r,
          "1 freeze holding " + held.size() + " jobs", (int) refused + "",
          "its jobs settled by others " + ScenarioReport.seconds(world.secondsUntilSettled(held, stopped)) + " after the freeze");
    }
  }

  private static boolean stillOpen(ChaosWorld world, UUID id) {
    try (var c = world.superuser().getConnection();
        var ps = c.prepareStatement("SELECT status FROM public.jobs WHERE id = ?")) {
      ps.setObject(1, id);
      try (var rs = ps.executeQuery()) {
        rs.next();
        String s = rs.getString(1);
        return !s.equals("completed") && !s.equals("dead_letter");
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
