package io.queuepilot.cli.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The clairvoyant oracle schedule on cases small enough to derive by hand (4 slots per pod,
 * 20 s start-up billed, 60 s SLO unless said), and its invariants on the seeded bench traces:
 * FIFO starts, no slot over-booked, the workers' reservation rule held, never below the work
 * bound and close to it.
 */
class OracleTest {

  static final Oracle.Rules RULES = new Oracle.Rules(4, 20, 60, 50, null, null, 60);

  /** Jobs of {@code seconds} each, arriving at the given times, 1,000 tokens each. */
  static Workload jobs(double seconds, double... arrivals) {
    List<Workload.Job> js = new ArrayList<>();
    for (double a : arrivals) js.add(new Workload.Job(js.size(), a, seconds, 1000));
    return new Workload("hand", js, Math.ceil(arrivals[arrivals.length - 1]) + 1);
  }

  static Stream<Arguments> handDerived() {
    Oracle.Rules slo5 = new Oracle.Rules(4, 20, 5, 50, null, null, 60);
    // 3 jobs' tokens per 60 s window, held from a job's start until 60 s after it ends (sql/V020)
    Oracle.Rules budget3 = new Oracle.Rules(4, 20, 60, 50, 3000L, null, 60);
    return Stream.of(
        // one pod: 20 s start-up + the 10 s job
        Arguments.of("a single job", jobs(10, 0.5), RULES, 30.0, 1, 0.0, 0L),
        // a job every 2.5 s of 10 s on 4 slots: job k takes the slot job k-4 frees at 2.5k; one
        // pod busy from 0 to 22.5 + 10 = 32.5, plus the start-up
        Arguments.of("a constant rate", jobs(10, 0, 2.5, 5, 7.5, 10, 12.5, 15, 17.5, 20, 22.5), RULES, 52.5, 1, 0.0, 0L),
        // 8 jobs at 0.0..0.7 s: 4 start at once, 4 wait for the slots freed at 10.0..10.3 s (wait
        // 9.6 s < 60 s) — one pod from 0 to 20.3 s, plus the start-up, instead of two pods (60.6)
        Arguments.of("a spike within the SLO's slack", jobs(10, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7), RULES, 40.3, 1,
            9.6, 0L),
        // the same spike with a 5 s SLO: a second pod (0.4..10.7 s) for jobs 4..7, each 20 + 10.3
        Arguments.of("a spike that needs a second pod", jobs(10, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7), slo5, 60.6, 2,
            0.0, 0L),
        // an idle gap of 90 s > the 20 s start-up: removed and started again (20 + 10, twice)
        Arguments.of("an idle gap longer than start-up", jobs(10, 0, 100), RULES, 60.0, 1, 0.0, 0L),
        // a gap of 15 s < 20 s: kept (20 + 10 + 15 + 10)
        Arguments.of("an idle gap shorter than start-up", jobs(10, 0, 25), RULES, 55.0, 1, 0.0, 0L),
        // jobs 0..2 hold the whole budget until 70.0..70.2 s; job 3 starts at 70.0 (wait 69.7 s,
        // an SLO no pod can save): 20 + 10.2 busy, the 59.8 s gap costs a new start-up (20), + 10
        Arguments.of("the budget's reservation rule", jobs(10, 0, 0.1, 0.2, 0.3), budget3, 60.2, 1, 69.7, 1L));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("handDerived")
  void billsTheHandDerivedReplicaSeconds(String name, Workload w, Oracle.Rules r, double replicaSeconds, int pods,
      double maxWait, long violations) {
    Oracle.Schedule s = Oracle.schedule(w, r);
    assertThat(s.replicaSeconds()).as("replica-seconds").isCloseTo(replicaSeconds, within(1e-6));
    assertThat(s.podsUsed()).as("pods").isEqualTo(pods);
    assertThat(s.waitQuantile(1.0)).as("longest wait").isCloseTo(maxWait, within(1e-6));
    assertThat(s.sloViolations(r.sloSeconds())).as("SLO violations").isEqualTo(violations);
    assertThat(s.replicaSeconds()).isGreaterThanOrEqualTo(Oracle.workLowerBound(w, r.concurrency()));
  }

  static Workload bench(String trace) {
    return Workload.of(BenchTraces.generate(trace, 1), JobTimes.parse("lognormal:8,0.6"), ScalerBench.TOKENS_PER_JOB, 1);
  }

  static Oracle.Rules benchRules() {
    return new Oracle.Rules(ScalerBench.CONCURRENCY, ScalerBench.STARTUP_SECONDS, ScalerBench.SLO_SECONDS,
        ScalerBench.MAX_REPLICAS, ScalerBench.TOKENS_PER_MINUTE, ScalerBench.REQUESTS_PER_MINUTE, 60);
  }

  /** Checks every rule of the world on a schedule: FIFO, slots, reservation rule, billing floor. */
  static void assertObeysTheWorld(Workload w, Oracle.Rules r, Oracle.Schedule s) {
    List<Workload.Job> js = w.jobs();
    double[] starts = s.starts();
    for (int j = 0; j < js.size(); j++) {
      assertThat(starts[j]).as("job %d starts after it arrives", j).isGreaterThanOrEqualTo(js.get(j).arrival());
      if (j > 0) assertThat(starts[j]).as("FIFO start of job %d", j).isGreaterThanOrEqualTo(starts[j - 1]);
    }
    // per pod, at no start are more than `concurrency` of its jobs running
    List<List<Integer>> byPod = new ArrayList<>();
    for (int j = 0; j < js.size(); j++) {
      while (byPod.size() <= s.pods()[j]) byPod.add(new ArrayList<>());
      byPod.get(s.pods()[j]).add(j);
    }
    assertThat(byPod.size()).isLessThanOrEqualTo(r.maxReplicas());
    for (List<Integer> pod : byPod) {
      for (int i = 0; i < pod.size(); i++) {
        double at = starts[pod.get(i)];
        int running = 0;
        for (int k = Math.max(0, i - 200); k <= i; k++) {
          int j = pod.get(k);
          if (starts[j] <= at && starts[j] + js.get(j).seconds() > at) running++;
        }
        assertThat(running).as("jobs running on one pod at %.2f s", at).isLessThanOrEqualTo(r.concurrency());
      }
    }
    // the reservation rule: at every start, the tokens held (start .. end + window) fit the budget
    if (r.tokensPerWindow() != null) {
      double[][] holds = new double[js.size()][];
      for (int j = 0; j < js.size(); j++) holds[j] = new double[] {starts[j], starts[j] + js.get(j).seconds() + r.windowSeconds()};
      for (int j = 0; j < js.size(); j += 7) {
        long held = 0;
        for (int k = Math.max(0, j - 2000); k <= j; k++) {
          if (holds[k][0] <= starts[j] && holds[k][1] > starts[j]) held += js.get(k).tokens();
        }
        assertThat(held).as("tokens held at job %d's start", j).isLessThanOrEqualTo(r.tokensPerWindow());
      }
    }
    assertThat(s.replicaSeconds()).isGreaterThanOrEqualTo(Oracle.workLowerBound(w, r.concurrency()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("benchTraces")
  void benchTraceSchedulesObeyTheWorld(String trace, boolean sloCanBeMet, Double atMostBound) {
    Workload w = bench(trace);
    Oracle.Rules r = benchRules();
    Oracle.Schedule s = Oracle.schedule(w, r);
    assertObeysTheWorld(w, r, s);
    if (sloCanBeMet) {
      assertThat(s.sloViolations(r.sloSeconds())).as("SLO violations").isZero();
      // measured 2026-12-01 (seed 1): 1.02× noisy, 1.40× spikes (a start-up and a partly idle
      // last round per pod per spike); a guard that the planner stays a strong baseline
      assertThat(s.replicaSeconds() / s.lowerBoundSeconds()).as("oracle ÷ work bound").isLessThanOrEqualTo(atMostBound);
    } else {
      // the budget makes waits past the SLO unavoidable: the oracle spends pods on the least
      // lateness the budget and maxReplicas allow — the last start is no later than the
      // reservation rule alone forces on a fleet of maxReplicas pods
      Oracle.Schedule fewest = Oracle.schedule(w, new Oracle.Rules(r.concurrency(), r.startupSeconds(), r.sloSeconds(),
          1, r.tokensPerWindow(), r.requestsPerWindow(), r.windowSeconds()));
      assertThat(s.waitQuantile(0.95)).isLessThan(fewest.waitQuantile(0.95));
    }
  }

  static Stream<Arguments> benchTraces() {
    return Stream.of(Arguments.of("burst-2000", false, null), Arguments.of("noisy-5", true, 1.05),
        Arguments.of("spikes-300", true, 1.45), Arguments.of("budget-bound", false, null));
  }

  @Test
  void aSpikeStartsEnoughPodsAtOnceInsteadOfQueueingToTheSloEdge() {
    // 300 jobs in 5 s (spikes-300's shape): waiting to the SLO edge would need every job at once
    // (75 pods); the oracle opens about work ÷ (4 slots × 60 s) pods at the spike and fills them
    double[] at = new double[300];
    for (int i = 0; i < at.length; i++) at[i] = i / 60.0;
    Workload w = jobs(10, at);
    Oracle.Schedule s = Oracle.schedule(w, RULES);
    assertThat(s.sloViolations(60)).isZero();
    // 3,000 job-seconds ÷ (4 × (60 + 10) s) ≈ 10.7: 11–14 pods
    assertThat(s.podsUsed()).isBetween(11, 14);
    assertThat(Arrays.stream(s.starts()).max().orElseThrow()).isLessThanOrEqualTo(5 + 60);
  }
}
