package io.queuepilot.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * One burn-down measurement: the jobs are already in the table; start the worker processes and
 * time from the first handler start (as the workers report it) to the moment the database shows
 * no unfinished job. Process start-up is excluded, as Graphile Worker's perfTest subtracts it.
 * With a warm-up of W jobs the table holds W + N jobs and the same processes burn through all of
 * them without a pause: the measured (warm) window is the last N, from the moment the processes
 * have handled W, and the cold figure of the same run is the first N jobs from the first start.
 */
public final class BurnDown {

  /**
   * What one burn-down measured; with a warm-up, {@code seconds .. postgresCpuSeconds} are the warm
   * window. {@code workerJitCpuSeconds} is the part of {@code workerCpuSeconds} spent by the JIT
   * compiler threads (NaN where the processes do not name them).
   */
  public record Result(
      String system,
      String mode,
      long jobs,
      double seconds,
      double jobsPerSecond,
      String loadBefore,
      String loadAfter,
      double workerCpuSeconds,
      double workerJitCpuSeconds,
      double postgresCpuSeconds,
      long warmupJobs,
      Cold cold) {

    /** CPU seconds per 1,000 jobs spent in the worker processes and in PostgreSQL: what bounds the run. */
    public String cpuPerThousand() {
      return "%.2f / %.2f".formatted(workerCpuSeconds * 1000 / jobs, postgresCpuSeconds * 1000 / jobs);
    }
  }

  /**
   * The first {@code jobs} handled by freshly started processes, from the first handler start to the
   * moment the processes' counters reached {@code jobs} (handled, not the database's judgement), and
   * the CPU spent meanwhile: the cold figure next to a warm window.
   */
  public record Cold(long jobs, double seconds, double workerCpuSeconds, double workerJitCpuSeconds,
      double postgresCpuSeconds) {
    public double jobsPerSecond() {
      return jobs / seconds;
    }

    public String cpuPerThousand() {
      return "%.2f / %.2f".formatted(workerCpuSeconds * 1000 / jobs, postgresCpuSeconds * 1000 / jobs);
    }
  }

  private BurnDown() {}

  /** Runs the burn-down of {@code jobs} jobs already inserted in {@code db}, cold (no warm-up). */
  public static Result run(
      QueueSystem system, String mode, BenchServer.Db db, WorkerSpec spec, long jobs, Duration timeout)
      throws InterruptedException {
    return run(system, mode, db, spec, 0, jobs, timeout);
  }

  /**
   * Runs the burn-down of {@code warmupJobs + jobs} jobs already inserted in {@code db}; with a
   * warm-up the result's main figures are the last {@code jobs} (see the class comment).
   */
  public static Result run(
      QueueSystem system, String mode, BenchServer.Db db, WorkerSpec spec, long warmupJobs, long jobs, Duration timeout)
      throws InterruptedException {
    long total = warmupJobs + jobs;
    String loadBefore = Machine.loadAverage();
    List<WorkerProcess> workers = new ArrayList<>();
    try {
      for (int i = 0; i < spec.processes(); i++) {
        workers.add(system.startWorker(db, spec, i));
      }
      for (WorkerProcess w : workers) {
        w.awaitReady(Duration.ofMinutes(2));
      }
      Duration workerCpuAtStart = workerCpu(workers);
      Duration workerJitAtStart = workerJitCpu(workers);
      Duration postgresCpuAtStart = Machine.postgresCpu(db.port());
      long deadline = System.nanoTime() + timeout.toNanos();
      long lastHandled = -1;
      long lastProgressAt = System.nanoTime();
      Mark warm = null; // the moment the processes had handled the warm-up jobs
      Mark firstN = null; // the moment they had handled the first `jobs` (the cold figure)
      // Phase 1: wait (cheaply, from the workers' own counters) until every job was handled.
      while (true) {
        long handled = workers.stream().mapToLong(WorkerProcess::handled).sum();
        if (warmupJobs > 0 && warm == null && handled >= warmupJobs) {
          warm = Mark.now(handled, workers, db);
        }
        if (warmupJobs > 0 && firstN == null && handled >= jobs) {
          firstN = Mark.now(handled, workers, db);
        }
        if (handled >= total) {
          break;
        }
        if (handled != lastHandled) {
          lastHandled = handled;
          lastProgressAt = System.nanoTime();
        } else if (System.nanoTime() - lastProgressAt > Duration.ofSeconds(60).toNanos()) {
          throw new IllegalStateException(system.name() + " " + mode + " made no progress for 60 s at " + handled + "/" + total);
        }
        for (WorkerProcess w : workers) {
          if (!w.isAlive()) {
            throw new IllegalStateException(system.name() + " worker died at " + handled + "/" + total);
          }
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(system.name() + " " + mode + " did not finish within " + timeout);
        }
        // finer steps while a mark is due: the counters move by thousands of jobs per 50 ms
        LockSupport.parkNanos(warmupJobs > 0 && (warm == null || firstN == null) ? 2_000_000L : 50_000_000L);
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
      // the JIT threads read inside the processes' readings at both ends, so their share never
      // exceeds the processes' CPU of the window
      Duration workerJitAtEnd = workerJitCpu(workers);
      Duration workerCpuAtEnd = workerCpu(workers);
      Duration postgresCpuAtEnd = Machine.postgresCpu(db.port());
      long startUs = workers.stream().mapToLong(WorkerProcess::firstStartMicros).filter(t -> t > 0).min().orElseThrow();
      if (warm == null) {
        double seconds = (endUs - startUs) / 1e6;
        return new Result(system.name(), mode, jobs, seconds, jobs / seconds, loadBefore, Machine.loadAverage(),
            seconds(workerCpuAtEnd.minus(workerCpuAtStart)), jit(workerJitAtStart, workerJitAtEnd),
            seconds(postgresCpuAtEnd.minus(postgresCpuAtStart)), 0, null);
      }
      long measured = total - warm.handled();
      if (measured <= 0) {
        throw new IllegalStateException(system.name() + " " + mode + ": the processes' counters passed the warm-up of "
            + warmupJobs + " and the end (" + total + ") in one 100 ms report; too few jobs for a warm window");
      }
      double seconds = (endUs - warm.atUs()) / 1e6;
      Cold cold = new Cold(firstN.handled(), (firstN.atUs() - startUs) / 1e6,
          seconds(firstN.workerCpu().minus(workerCpuAtStart)), jit(workerJitAtStart, firstN.workerJitCpu()),
          seconds(firstN.postgresCpu().minus(postgresCpuAtStart)));
      return new Result(system.name(), mode, measured, seconds, measured / seconds, loadBefore, Machine.loadAverage(),
          seconds(workerCpuAtEnd.minus(warm.workerCpu())), jit(warm.workerJitCpu(), workerJitAtEnd),
          seconds(postgresCpuAtEnd.minus(warm.postgresCpu())), warmupJobs, cold);
    } finally {
      for (WorkerProcess w : workers) {
        w.close();
      }
    }
  }

  /** Jobs handled so far (the processes' last reports), when, and the CPU spent by then. */
  private record Mark(long handled, long atUs, Duration workerCpu, Duration workerJitCpu, Duration postgresCpu) {
    static Mark now(long handled, List<WorkerProcess> workers, BenchServer.Db db) {
      return new Mark(handled, Clock.nowMicros(), BurnDown.workerCpu(workers), BurnDown.workerJitCpu(workers),
          Machine.postgresCpu(db.port()));
    }
  }

  private static Duration workerCpu(List<WorkerProcess> workers) {
    return workers.stream().map(WorkerProcess::cpu).reduce(Duration.ZERO, Duration::plus);
  }

  /** The workers' JIT compiler threads' CPU so far, null when any process names none (not a HotSpot JVM). */
  private static Duration workerJitCpu(List<WorkerProcess> workers) {
    Duration sum = Duration.ZERO;
    for (WorkerProcess w : workers) {
      var jit = w.jitCpu();
      if (jit.isEmpty()) {
        return null;
      }
      sum = sum.plus(jit.get());
    }
    return sum;
  }

  /** Seconds between two JIT readings, NaN when either is unknown. */
  private static double jit(Duration from, Duration to) {
    return from == null || to == null ? Double.NaN : seconds(to.minus(from));
  }

  private static double seconds(Duration d) {
    return d.toMillis() / 1000.0;
  }
}
