package io.queuepilot.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * What heartbeats cost: {@code --held-jobs} jobs held in flight by product workers that heartbeat
 * them every {@code --heartbeat-seconds} (one statement per worker per interval), against the
 * same jobs held without heartbeats (interval of an hour). Per variant: PostgreSQL CPU while only
 * the held jobs exist (the heartbeats' own cost), then a batched burn-down of {@code --jobs}
 * no-op jobs next to them (the claim rate with and without heartbeats). Rounds alternate the
 * order of the two variants.
 */
final class Heartbeat {

  private static final int HELD_PER_PROCESS = 250;

  private Heartbeat() {}

  record Run(boolean heartbeats, double idleCpuMsPerSecond, BurnDown.Result burnDown) {}

  static void run(Report report, BenchServer server, Path logDir, BenchMain o) throws Exception {
    WorkerSpec spec = o.spec().withBatching(true);
    int holders = (o.heldJobs + HELD_PER_PROCESS - 1) / HELD_PER_PROCESS;
    report.format("%,d jobs held in flight by %d product worker processes, heartbeating every %.1f s (the default) or "
            + "not at all; PostgreSQL CPU over %d s with only the held jobs, then a batched burn-down of %,d no-op jobs "
            + "(%d processes x %d, local queue %d) next to them; %d rounds, the variants' order alternating.",
        o.heldJobs, holders, o.heartbeatSeconds, o.idleWindowSeconds, o.jobs, spec.processes(), spec.concurrency(),
        spec.localQueueSize(), o.repeat);
    report.line("");
    report.line("| round | heartbeats | PostgreSQL CPU while holding, ms per s | burn-down jobs/s | PostgreSQL CPU ms per job | load before | load after |");
    report.line("|---:|---|---:|---:|---:|---|---|");
    QueuePilotSystem system = new QueuePilotSystem(logDir);
    List<Run> runs = new ArrayList<>();
    for (int round = 1; round <= o.repeat; round++) {
      boolean[] order = round % 2 == 1 ? new boolean[] {false, true} : new boolean[] {true, false};
      for (boolean heartbeats : order) {
        Run r = once(server, system, o, spec, holders, heartbeats);
        runs.add(r);
        report.format("| %d | %s | %.1f | %,.0f | %.3f | %s | %s |", round, heartbeats ? "every " + o.heartbeatSeconds + " s" : "none",
            r.idleCpuMsPerSecond(), r.burnDown().jobsPerSecond(),
            r.burnDown().postgresCpuSeconds() * 1000 / r.burnDown().jobs(), r.burnDown().loadBefore(), r.burnDown().loadAfter());
      }
    }
    report.line("");
    report.line("| heartbeats | PostgreSQL CPU while holding, ms per s | burn-down jobs/s | PostgreSQL CPU ms per job |");
    report.line("|---|---:|---:|---:|");
    for (boolean heartbeats : new boolean[] {false, true}) {
      List<Run> of = runs.stream().filter(r -> r.heartbeats() == heartbeats).toList();
      report.format("| %s | %s | %s | %s |", heartbeats ? "every " + o.heartbeatSeconds + " s" : "none",
          Spread.of(of.stream().mapToDouble(Run::idleCpuMsPerSecond).toArray()).format("%.1f"),
          Spread.of(of.stream().mapToDouble(r -> r.burnDown().jobsPerSecond()).toArray()).format("%,.0f"),
          Spread.of(of.stream().mapToDouble(r -> r.burnDown().postgresCpuSeconds() * 1000 / r.burnDown().jobs()).toArray())
              .format("%.3f"));
    }
    report.line("");
    report.format("(median, min–max in brackets; ms per s of PostgreSQL CPU = thousandths of one core)");
  }

  private static Run once(BenchServer server, QueuePilotSystem system, BenchMain o, WorkerSpec spec, int holders,
      boolean heartbeats) throws Exception {
    BenchServer.Db db = server.freshDatabase("hb_" + (heartbeats ? "on" : "off"));
    QueuePilotSystem.migrate(db);
    QueuePilotSystem.insertJobs(db, "held", o.heldJobs);
    QueuePilotSystem.insertJobs(db, "noop", o.jobs);
    db.execute("VACUUM ANALYZE");
    List<WorkerProcess> holding = new ArrayList<>();
    try {
      int perProcess = (o.heldJobs + holders - 1) / holders;
      for (int i = 0; i < holders; i++) {
        ObjectNode config = system.baseConfig(db)
            .put("concurrency", Math.min(perProcess, o.heldJobs - i * perProcess))
            .put("pool", 4)
            .put("heartbeatSeconds", heartbeats ? Double.toString(o.heartbeatSeconds) : "3000")
            .put("heartbeatTimeoutSeconds", heartbeats ? "60" : "3600");
        holding.add(system.start("queuepilot-holder-" + i, "hold", config));
      }
      for (WorkerProcess w : holding) {
        w.awaitReady(Duration.ofMinutes(2));
      }
      long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
      while (holding.stream().mapToLong(WorkerProcess::handled).sum() < o.heldJobs) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the holders did not take all " + o.heldJobs + " jobs within 2 minutes");
        }
        LockSupport.parkNanos(50_000_000L);
      }
      Duration before = Machine.postgresCpu(db.port());
      long t0 = System.nanoTime();
      LockSupport.parkNanos(Duration.ofSeconds(o.idleWindowSeconds).toNanos());
      double seconds = (System.nanoTime() - t0) / 1e9;
      double idleCpuMsPerSecond = Machine.postgresCpu(db.port()).minus(before).toMillis() / seconds;
      BurnDown.Result r = BurnDown.run(system, BenchMain.mode(system, spec), db, spec, o.jobs, Duration.ofMinutes(20));
      if (db.queryLong("SELECT count(*) FROM public.job_queue WHERE job_type = 'held' AND status = 'processing'") != o.heldJobs) {
        throw new IllegalStateException("a held job lost its lease during the run");
      }
      return new Run(heartbeats, idleCpuMsPerSecond, r);
    } finally {
      for (WorkerProcess w : holding) {
        w.close();
      }
    }
  }
}
