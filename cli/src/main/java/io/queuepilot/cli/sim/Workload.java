package io.queuepilot.cli.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The jobs of one simulation, fixed before any model runs so that every model (QueuePilot,
 * KEDA + HPA, the oracle) sees exactly the same arrivals, durations and token use.
 */
public record Workload(String name, List<Job> jobs, double traceSeconds) {

  /**
   * One job: when it is enqueued, how long it runs once started, the tokens its model call uses
   * and the tokens its enqueuer estimated ({@code job_queue.tokens_estimated}; null: none given).
   */
  public record Job(int id, double arrival, double seconds, long tokens, Long tokensEstimated) {
    /** A job enqueued without an estimate. */
    public Job(int id, double arrival, double seconds, long tokens) {
      this(id, arrival, seconds, tokens, null);
    }
  }

  public Workload {
    jobs = List.copyOf(jobs);
  }

  /**
   * Spreads each second's arrivals of {@code trace} uniformly inside that second and draws each
   * job's duration from {@code times}; all randomness comes from {@code seed}.
   */
  public static Workload of(LoadTrace trace, JobTimes times, long tokensPerJob, long seed) {
    return of(trace, times, tokensPerJob, null, seed);
  }

  /**
   * {@link #of(LoadTrace, JobTimes, long, long)} with every job enqueued with
   * {@code tokensEstimated} (null: without an estimate); the draws are the same.
   */
  public static Workload of(LoadTrace trace, JobTimes times, long tokensPerJob, Long tokensEstimated, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Job> jobs = new ArrayList<>();
    for (int t = 0; t < trace.seconds(); t++) {
      int n = trace.at(t);
      double[] at = new double[n];
      for (int i = 0; i < n; i++) at[i] = t + random.nextDouble();
      java.util.Arrays.sort(at);
      for (double a : at) jobs.add(new Job(jobs.size(), a, times.next(random), tokensPerJob, tokensEstimated));
    }
    return new Workload(trace.name(), jobs, trace.seconds());
  }

  /** Sum of all job durations: the busy slot-seconds any schedule has to provide. */
  public double workSeconds() {
    return jobs.stream().mapToDouble(Job::seconds).sum();
  }
}
