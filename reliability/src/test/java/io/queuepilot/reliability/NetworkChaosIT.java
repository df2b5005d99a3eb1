package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.testkit.WorkerProcess;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Faults on the path between worker processes and PostgreSQL: connections cut every few seconds
 * for the whole run (mid-claim, mid-heartbeat, mid-write-back), 2 s latency spikes with sliced
 * packets, and a full blackhole (partition) with a worker on another path taking the jobs over.
 */
class NetworkChaosIT {

  private static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(8);

  @Test
  void connectionsCutRepeatedlyForTheWholeRun() {
    int jobs = Scale.jobs();
    try (ChaosWorld world = ChaosWorld.create("cuts", HEARTBEAT_TIMEOUT)) {
      world.startWorkers(3);
      // a WAN-like 100 ms on every response keeps calls in flight, so cuts land inside claims,
      // heartbeats and write-backs rather than only on idle pooled connections
      world.proxy().latency(Duration.ofMillis(100));
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(10), Duration.ofSeconds(100)), 40);
      List<Instant> cuts = new CopyOnWriteArrayList<>();
      AtomicInteger reset = new AtomicInteger();
      ScheduledExecutorService chaos = Executors.newSingleThreadScheduledExecutor();
      try {
        scheduleRandomly(chaos, 1000, 3000, () -> {
          reset.addAndGet(world.proxy().cutAll());
          cuts.add(Instant.now());
        });
        world.awaitUploaded(jobs, Duration.ofMinutes(5));
        world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(3), Duration.ofMinutes(15)));
      } finally {
        chaos.shutdownNow();
      }
      Map<String, Double> hits = faultHits(world);
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();

      assertThat(cuts).as("cuts during the run").hasSizeGreaterThanOrEqualTo(5);
      assertThat(hits.get("claim") + hits.get("heartbeat") + hits.get("settle"))
          .as("the cuts hit claims, heartbeats or write-backs").isPositive();
      assertThat(exits.values()).as("workers drained and exited 0 after the chaos").containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.completed() + r.deadLettered()).isEqualTo(jobs);
      double recovery = cuts.stream().map(world::secondsToNextCompletion).filter(java.util.Objects::nonNull)
          .mapToDouble(Double::doubleValue).max().orElse(0);
      ScenarioReport.row("connections cut every 1–3 s (100 ms link)", r,
          cuts.size() + " cuts, " + reset.get() + " connections reset; failed claims " + hits.get("claim").intValue()
              + ", heartbeats " + hits.get("heartbeat").intValue() + ", job DB errors " + hits.get("settle").intValue(),
          hits.get("leaseLost").intValue() + "", "≤ " + ScenarioReport.seconds(recovery) + " to next completion after a cut");
    }
  }

  @Test
  void latencySpikesOfTwoSecondsWithSlicedPackets() {
    int jobs = Scale.jobs();
    try (ChaosWorld world = ChaosWorld.create("latency", HEARTBEAT_TIMEOUT)) {
      world.startWorkers(3);
      world.proxy().slice(7); // every chunk in 7-byte writes for the whole run
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(12), Duration.ofSeconds(120)), 40);
      List<Instant> spikeEnds = new CopyOnWriteArrayList<>();
      AtomicInteger spikes = new AtomicInteger();
      long spikeMs = Scale.pick(3000, 4000);
      ScheduledExecutorService chaos = Executors.newSingleThreadScheduledExecutor();
      try {
        // 4 s (FAST: 3 s) of +2 s on every response, then calm, repeated every 9 s (FAST: 6 s)
        chaos.scheduleWithFixedDelay(() -> {
          world.proxy().latency(Duration.ofSeconds(2));
          spikes.incrementAndGet();
          chaos.schedule(() -> {
            world.proxy().latency(Duration.ZERO);
            spikeEnds.add(Instant.now());
          }, spikeMs, TimeUnit.MILLISECONDS);
        }, 2, Scale.pick(6, 9), TimeUnit.SECONDS);
        world.awaitUploaded(jobs, Duration.ofMinutes(5));
        world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(3), Duration.ofMinutes(15)));
      } finally {
        chaos.shutdownNow();
        world.proxy().heal();
      }
      Map<String, Double> hits = faultHits(world);
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();
      assertThat(spikes.get()).isGreaterThanOrEqualTo(2);
      assertThat(exits.values()).containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.completed() + r.deadLettered()).isEqualTo(jobs);
      double recovery = spikeEnds.stream().map(world::secondsToNextCompletion).filter(java.util.Objects::nonNull)
          .mapToDouble(Double::doubleValue).max().orElse(0);
      ScenarioReport.row("2 s latency spikes (" + spikeMs / 1000 + " s each), 7-byte slices", r,
          spikes.get() + " spikes; requeued as stale " + world.requeued() + "; heartbeat errors " + hits.get("heartbeat").intValue(),
          hits.get("leaseLost").intValue() + "", "≤ " + ScenarioReport.seconds(recovery) + " to next completion after a spike");
    }
  }

  @Test
  void blackholeThenLinkReturnsWithoutDoubleProcessing() {
    int jobs = Scale.jobs();
    Duration blackhole = Scale.pick(Duration.ofSeconds(10), Duration.ofSeconds(30));
    try (ChaosWorld world = ChaosWorld.create("blackhole", Duration.ofSeconds(5))) {
      List<WorkerProcess> behindProxy = world.startWorkers(2);
      // a third worker reaches the database on another path and takes the requeued jobs over
      String proxied = "jdbc:postgresql://127.0.0.1:" + world.proxy().port() + "/postgres";
      world.workerEnv("QUEUEPILOT_DB_URL", world.pg().jdbcUrl(world.pg().port()));
      WorkerProcess direct = world.startWorker();
      world.awaitReady(direct);
      world.workerEnv("QUEUEPILOT_DB_URL", proxied);
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(15), Duration.ofSeconds(120)), 40);

      // the proxied path is a slower link, so its workers hold jobs for a while
      world.proxy().latency(Duration.ofMillis(50));
      // partition them at a moment they hold jobs (try again at once when they hold none)
      List<UUID> stranded = new ArrayList<>();
      await("blackhole while the proxied workers hold jobs").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(50))
          .until(() -> {
            world.proxy().blackhole(true);
            List<UUID> held = new ArrayList<>();
            behindProxy.forEach(w -> held.addAll(world.heldBy(w.workerId())));
            if (held.isEmpty()) {
              world.proxy().blackhole(false);
              return false;
            }
            stranded.addAll(held);
            return true;
          });
      Instant start = Instant.now();
      // the controller stand-in requeues the stranded jobs after the heartbeat timeout; the direct worker finishes them
      await().atMost(blackhole.plus(Duration.ofSeconds(30))).until(() -> Duration.between(start, Instant.now()).compareTo(blackhole) >= 0);
      List<UUID> takenOver = stranded.stream().filter(id -> !world.heldBy(behindProxy.get(0).workerId()).contains(id)
          && !world.heldBy(behindProxy.get(1).workerId()).contains(id)).toList();
      world.proxy().blackhole(false);
      Instant healed = Instant.now();

      world.awaitUploaded(jobs, Duration.ofMinutes(5));
      world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(3), Duration.ofMinutes(15)));
      // the partitioned workers let go of their stranded jobs: a call that was waiting in the
      // partition finds the lease gone (refused), one that timed out meanwhile (the pool's 10 s)
      // failed and could not record anything — either way nothing of theirs may land
      await("proxied workers let go of their stranded jobs").atMost(Duration.ofSeconds(90))
          .until(() -> behindProxy.stream().mapToDouble(w -> w.metric("queuepilot_worker_jobs_in_flight")).sum() == 0);
      double refused = behindProxy.stream().mapToDouble(w -> w.metric("queuepilot_worker_jobs_lease_lost")).sum();
      double gaveUp = behindProxy.stream().mapToDouble(w -> w.metric("queuepilot_worker_loop_errors")).sum();
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();

      assertThat(takenOver).as("stranded jobs requeued during the blackhole").isNotEmpty();
      assertThat(exits.values()).containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lateWrites()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.completed() + r.deadLettered()).isEqualTo(jobs);
      ScenarioReport.row(blackhole.toSeconds() + " s blackhole (partition) of 2 of 3 workers", r,
          "1 blackhole; " + stranded.size() + " jobs stranded, " + takenOver.size() + " requeued and taken over during it",
          (int) refused + " (+ " + (int) gaveUp + " outcome writes that timed out in the partition)",
          ScenarioReport.seconds(world.secondsToNextCompletion(healed)) + " to next completion after the link returned; "
              + "stranded settled " + ScenarioReport.seconds(world.secondsUntilSettled(stranded, start)) + " after the cut");
    }
  }

  /** Fault counters summed over the live workers' /metrics. */
  static Map<String, Double> faultHits(ChaosWorld world) {
    double claim = 0, heartbeat = 0, settle = 0, leaseLost = 0;
    for (WorkerProcess w : world.workers()) {
      claim += Math.max(0, w.metric("queuepilot_worker_claim_errors"));
      heartbeat += Math.max(0, w.metric("queuepilot_worker_heartbeat_failures"));
      settle += Math.max(0, w.metric("queuepilot_worker_jobs_failed")) + Math.max(0, w.metric("queuepilot_worker_loop_errors"));
      leaseLost += Math.max(0, w.metric("queuepilot_worker_jobs_lease_lost"));
    }
    return Map.of("claim", claim, "heartbeat", heartbeat, "settle", settle, "leaseLost", leaseLost);
  }

  /** Runs {@code action} again and again with a random pause between {@code minMs} and {@code maxMs}. */
  static void scheduleRandomly(ScheduledExecutorService s, long minMs, long maxMs, Runnable action) {
    s.schedule(() -> {
      try {
        action.run();
      } finally {
        if (!s.isShutdown()) {
          scheduleRandomly(s, minMs, maxMs, action);
        }
      }
    }, ThreadLocalRandom.current().nextLong(minMs, maxMs), TimeUnit.MILLISECONDS);
  }
}
