package io.queuepilot.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * One burn-down measurement: the jobs are already in the table; start the worker processes and
 * time from the first handler start (as the workers report it) to the moment the database shows
 * no unfinished job. Process start-up is excluded, as Graphile Worker's perfTest subtracts it.
 */
public final class BurnDown {

  /** What one burn-down measured. */
  public record Result(
      String system,
      String mode,
      long jobs,
      double seconds,
      double jobsPerSecond,
      String loadBefore,
      String loadAfter,
      double workerCpuSeconds,
      double postgresCpuSeconds) {

    /** CPU seconds per 1,000 jobs spent in the worker processes and in PostgreSQL: what bounds the run. */
    public String cpuPerThousand() {
      return "%.2f / %.2f".formatted(workerCpuSeconds * 1000 / jobs, postgresCpuSeconds * 1000 / jobs);
    }
  }

  private BurnDown() {}

  /** Runs the burn-down of {@code jobs} jobs already inserted in {@code db}. */
  public static Result run(
      QueueSystem system, String mode, BenchServer.Db db, WorkerSpec spec, long jobs, Duration timeout)
      throws InterruptedException {
    String loadBefore = Machine.loadAverage();
    List<WorkerProcess> workers = new ArrayList<>();
    try {
      for (int i = 0; i < spec.processes(); i++) {
        workers.add(system.startWorker(db, spec, i));
      }
      for (WorkerProcess w : workers) {
        w.awaitReady(Duration.ofMinutes(2));
      }
      Duration workerCpuAtStart = workers.stream().map(WorkerProcess::cpu).reduce(Duration.ZERO, Duration::plus);
      Duration postgresCpuAtStart = Machine.postgresCpu(db.port());
      long deadline = System.nanoTime() + timeout.toNanos();
      long lastHandled = -1;
      long lastProgressAt = System.nanoTime();
      // Phase 1: wait (cheaply, from the workers' own counters) until every job was handled.
      while (true) {
        long handled = workers.stream().mapToLong(WorkerProcess::handled).sum();
        if (handled >= jobs) {
          break;
        }
        if (handled != lastHandled) {
          lastHandled = handled;
          lastProgressAt = System.nanoTime();
        } else if (System.nanoTime() - lastProgressAt > Duration.ofSeconds(60).toNanos()) {
          throw new IllegalStateException(system.name() + " " + mode + " made no progress for 60 s at " + handled + "/" + jobs);
        }
        for (WorkerProcess w : workers) {
          if (!w.isAlive()) {
            throw new IllegalStateException(system.name() + " worker died at " + handled + "/" + jobs);
          }
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(system.name() + " " + mode + " did not finish within " + timeout);
        }
        LockSupport.parkNanos(50_000_000L);
      }
      // Phase 2: the database is the judge of "done" (completions may be batched or async).
      long endUs;
      while (true) {
        long unfinished = db.queryLong(system.unfinishedJobsSql());
        if (unfinished == 0) {
          endUs = Clock.nowMicros();
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(system.name() + " " + mode + ": " + unfinished + " jobs never finished");
        }
        LockSupport.parkNanos(5_000_000L);
      }
      Duration workerCpu = workers.stream().map(WorkerProcess::cpu).reduce(Duration.ZERO, Duration::plus).minus(workerCpuAtStart);
      Duration postgresCpu = Machine.postgresCpu(db.port()).minus(postgresCpuAtStart);
      long startUs = workers.stream().mapToLong(WorkerProcess::firstStartMicros).filter(t -> t > 0).min().orElseThrow();
      double seconds = (endUs - startUs) / 1e6;
      return new Result(system.name(), mode, jobs, seconds, jobs / seconds, loadBefore, Machine.loadAverage(),
          workerCpu.toMillis() / 1000.0, postgresCpu.toMillis() / 1000.0);
    } finally {
      for (WorkerProcess w : workers) {
        w.close();
      }
    }
  }
}
