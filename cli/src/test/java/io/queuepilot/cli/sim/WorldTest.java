package io.queuepilot.cli.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/**
 * The simulated fleet behaves as the real parts do: start-up delay, draining pods billed until
 * their last job ends, idle pods removed first, the workers' reservation rule (tokens held
 * until 60 s after the job settles) and the request limit, NOTIFY-driven reconciles with the
 * controller's 500 ms throttle, and KEDA + HPA's default timing.
 */
class WorldTest {

  /** A scripted scaler: replicas as a function of the observation; records every reconcile time. */
  static final class Scripted implements World.Model {
    final ToIntFunction<World.Observation> replicas;
    final boolean notify;
    final double poll;
    final List<Double> reconciles = new ArrayList<>();
    /** When each decision asks to be reconciled again (null: the poll and NOTIFY suffice). */
    java.util.function.Function<World.Observation, Double> againAt = o -> null;

    Scripted(boolean notify, double poll, ToIntFunction<World.Observation> replicas) {
      this.notify = notify;
      this.poll = poll;
      this.replicas = replicas;
    }

    @Override
    public String name() {
      return "scripted";
    }

    @Override
    public double pollSeconds() {
      return poll;
    }

    @Override
    public boolean wakesOnNotify() {
      return notify;
    }

    @Override
    public Decision reconcile(World.Observation o) {
      reconciles.add(o.now());
      return new Decision(replicas.applyAsInt(o), "none", "scripted", againAt.apply(o));
    }
  }

  static World world(double startup, Long tokens, Long requests, boolean enforce) {
    return new World(new World.Config(1, startup, 0.1, tokens, requests, 60, enforce, 0, 10, 600, 300));
  }

  static Workload jobs(double... arrivalAndSeconds) {
    List<Workload.Job> list = new ArrayList<>();
    for (int i = 0; i < arrivalAndSeconds.length; i += 2) {
      list.add(new Workload.Job(i / 2, arrivalAndSeconds[i], arrivalAndSeconds[i + 1], 2000));
    }
    return new Workload("test", list, Math.ceil(arrivalAndSeconds[arrivalAndSeconds.length - 2]) + 1);
  }

  @Test
  void aNewPodServesOnlyAfterItsStartUpDelayAndIsBilledFromItsCreation() {
    Scripted oneWhileWork = new Scripted(true, 15, o -> o.ready() + o.processing() > 0 ? 1 : 0);
    World.Result r = world(20, null, null, false).run(jobs(5.0, 4.0), oneWhileWork, 0);
    // NOTIFY at 5.0 → scale call at 5.1 → Ready at 25.1 → the job waits 20.1 s
    assertThat(r.waitQuantile(1.0)).isCloseTo(20.1, within(1e-6));
    assertThat(r.firstScaleCallSeconds()).isCloseTo(0.1, within(1e-6));
    // billed from 5.1 until scale-down: the job ends at 29.1, the next poll (30) asks for 0, applied at 30.1
    assertThat(r.replicaSeconds()).isCloseTo(30.1 - 5.1, within(1e-6));
  }

  @Test
  void aDrainingPodKeepsItsJobAndIsBilledUntilTheJobEnds() {
    // one replica from the start; the model asks for 0 at the poll at t=15 while a 40 s job runs
    Scripted upThenDown = new Scripted(false, 15, o -> o.now() < 10 ? 1 : 0);
    World.Result r = world(0, null, null, false).run(jobs(1.0, 40.0), upThenDown, 1);
    assertThat(r.completed()).isEqualTo(1);
    // the pod exists from 0 and is billed until the job ends at 41, not cut at 15.1
    assertThat(r.replicaSeconds()).isCloseTo(41.0, within(1e-6));
  }

  @Test
  void scaleDownRemovesTheIdlePodAtOnceAndLetsTheBusyOneFinish() {
    // two pods, one job of 100 s; the model goes 2 → 1 at t=15: the idle pod goes at 15.1
    Scripted twoThenOne = new Scripted(false, 15, o -> o.now() < 10 ? 2 : o.processing() > 0 ? 1 : 0);
    World.Result r = world(0, null, null, false).run(jobs(1.0, 100.0), twoThenOne, 2);
    assertThat(r.completed()).isEqualTo(1);
    // busy pod: 0 → 101 (then the poll at 105 asks for 0); idle pod: 0 → 15.1
    assertThat(r.replicaSeconds()).isCloseTo(105.1 + 15.1, within(1e-6));
  }

  @Test
  void enforcedReservationsHoldTokensUntilSixtySecondsAfterTheJobSettles() {
    // budget 4000 tokens per 60 s, 2000 per job: two jobs run; the third may start only when the
    // first reservation expires, 60 s after that job ended (at 1 + 10 + 60 = 71)
    World w = new World(new World.Config(4, 0, 0.1, 4000L, null, 60, true, 0, 10, 600, 300));
    Scripted one = new Scripted(false, 15, o -> 1);
    World.Result r = w.run(jobs(1.0, 10.0, 1.0, 10.0, 1.0, 10.0), one, 1);
    assertThat(r.completed()).isEqualTo(3);
    assertThat(r.waitQuantile(1.0)).isCloseTo(70.0, within(1e-6));
    assertThat(r.secondsOverTokenBudget()).isZero();
  }

  @Test
  void withoutTheWorkersRuleTheProviderSeesMoreThanTheBudget() {
    World w = new World(new World.Config(4, 0, 0.1, 4000L, null, 60, false, 0, 10, 600, 300));
    World.Result r = w.run(jobs(1.0, 10.0, 1.0, 10.0, 1.0, 10.0), new Scripted(false, 15, o -> 1), 1);
    assertThat(r.waitQuantile(1.0)).isZero();
    // 6000 tokens reach the provider between t=1 and t=61: 60 seconds over a 4000-token budget
    assertThat(r.secondsOverTokenBudget()).isEqualTo(60);
  }

  @Test
  void theRequestLimitHoldsTheFourthCall() {
    World w = new World(new World.Config(10, 0, 0.1, null, 3L, 60, true, 0, 10, 600, 300));
    World.Result r = w.run(jobs(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0), new Scripted(false, 15, o -> 1), 1);
    // the first reservations expire at 1 + 1 + 60 = 62
    assertThat(r.waitQuantile(1.0)).isCloseTo(61.0, within(1e-6));
    assertThat(r.secondsOverRequestBudget()).isZero();
  }

  @Test
  void notifyWakesTheScalerAtMostEveryHalfSecondAndAfterTheLastArrival() {
    double[] spec = new double[2 * 21];
    for (int i = 0; i <= 20; i++) {
      spec[2 * i] = 3.0 + i * 0.1; // arrivals every 100 ms for 2 s
      spec[2 * i + 1] = 1.0;
    }
    Scripted s = new Scripted(true, 15, o -> 1);
    world(0, null, null, false).run(jobs(spec), s, 0);
    List<Double> wakes = s.reconciles.stream().filter(t -> t > 0 && t < 15).toList();
    assertThat(wakes.get(0)).isCloseTo(3.0, within(1e-9));
    for (int i = 1; i < wakes.size(); i++) {
      assertThat(wakes.get(i) - wakes.get(i - 1)).isGreaterThanOrEqualTo(0.5 - 1e-9);
    }
    assertThat(wakes.get(wakes.size() - 1)).isGreaterThanOrEqualTo(5.0);
    assertThat(wakes).hasSizeLessThanOrEqualTo(6);
  }

  @Test
  void kedaActivatesOnItsThirtySecondPollThenTheHpaAtMostDoublesOrAddsFourPer15Seconds() {
    List<Workload.Job> list = new ArrayList<>();
    for (int i = 0; i < 400; i++) list.add(new Workload.Job(i, 5.0 + i * 0.001, 600, 0));
    Workload burst = new Workload("b", list, 10);
    World w = new World(new World.Config(4, 0, 0.1, null, null, 60, false, 0, 100, 200, 300));
    World.Result r = w.run(burst, new KedaHpaModel(4, 100), 0);
    List<String> calls = r.timeline().decisions().stream().map(d -> d.t() + ":" + d.from() + "->" + d.to()).toList();
    // activation at the poll at t=30 (not at the burst at 5), then HPA steps at 45, 60, 75, ...
    assertThat(calls).startsWith("30:0->1", "45:1->5", "60:5->10", "75:10->20", "90:20->40", "105:40->80", "120:80->100");
    assertThat(r.firstScaleCallSeconds()).isCloseTo(25.1, within(1e-3));
  }

  @Test
  void jobTimesAreSeededAndLognormalHasItsMean() {
    JobTimes ln = JobTimes.parse("lognormal:8,0.6");
    SplittableRandom a = new SplittableRandom(7);
    SplittableRandom b = new SplittableRandom(7);
    double sum = 0;
    for (int i = 0; i < 200_000; i++) {
      double x = ln.next(a);
      assertThat(x).isEqualTo(ln.next(b));
      sum += x;
    }
    assertThat(sum / 200_000).isCloseTo(8 * Math.exp(0.18), within(0.1));
    assertThat(BenchTraces.generate("noisy-5", 3).arrivals()).isEqualTo(BenchTraces.generate("noisy-5", 3).arrivals());
    assertThat(BenchTraces.generate("spikes-300", 1).total()).isEqualTo(12 * 300);
    assertThat(BenchTraces.generate("burst-2000", 1).total()).isEqualTo(2000);
  }

  @Test
  void aDecisionThatAsksForItsNextCycleIsReconciledThenNotAtTheNextPoll() {
    // polls at 0, 60, 120; the first decision asks for a cycle at 42.5 s (a pre-warm due then)
    Scripted asks = new Scripted(false, 60, o -> o.now() >= 42.5 ? 1 : 0);
    asks.againAt = o -> o.now() == 0 ? 42.5 : null;
    World.Result r = world(0, null, null, false).run(jobs(100.0, 1.0), asks, 0);
    assertThat(asks.reconciles).startsWith(0.0, 42.5, 60.0);
    assertThat(r.timeline().decisions()).first().extracting(Timeline.Decision::t).isEqualTo(42);
  }
  @Test
  void aPreWarmAskedForAfterTheTraceIsRunAndBilledNotCutOffWhenTheFleetIsIdle() {
    // one 1 s job at t=1, done by 2.1; the trace ends at 2 s with the fleet idle. The model then
    // asks for a cycle at 30 s (a predicted burst's pre-warm) and holds 3 pods from 30 to 45 for a
    // burst that never comes: those 3 × 15 s are billed, as a real fleet would pay them.
    Scripted preWarm = new Scripted(true, 15, o -> o.ready() + o.processing() > 0 ? 1
        : o.now() >= 30 && o.now() < 45 ? 3 : 0);
    preWarm.againAt = o -> o.now() < 30 ? Double.valueOf(30) : null;
    World.Result r = world(0, null, null, false).run(jobs(1.0, 1.0), preWarm, 0);
    assertThat(preWarm.reconciles).contains(30.0, 45.0);
    // the job's pod 1.1 → 15.1 (the poll at 15 asks for 0), the pre-warm 3 × (30.1 → 45.1)
    assertThat(r.replicaSeconds()).isCloseTo((15.1 - 1.1) + 3 * 15, within(1e-6));
    assertThat(r.simulatedSeconds()).isGreaterThanOrEqualTo(45.1);
  }

  @Test
  void aNotifyDuringACyclesScaleCallWaitsForItAndReadsTheNewCountNotTheOld() {
    // 2 pods; the poll at 0 scales to 1 (the call lands at 0.1). A job arriving at 0.05 sends a
    // NOTIFY during that call. The controller runs one cycle at a time, so that reconcile runs
    // after the call and sees 1; a model that holds what it sees (as the policy's step-down
    // period does) must then not scale 1 -> 2 -> 1 on the count from before its own call.
    List<Integer> seen = new ArrayList<>();
    Scripted holds = new Scripted(true, 15, o -> {
      seen.add(o.currentReplicas());
      return o.now() == 0 ? 1 : o.currentReplicas();
    });
    World.Result r = world(0, null, null, false).run(jobs(0.05, 1.0), holds, 2);
    assertThat(holds.reconciles).startsWith(0.0, 0.1);
    assertThat(seen).startsWith(2, 1);
    assertThat(r.timeline().decisions()).extracting(d -> d.from() + "->" + d.to()).containsExactly("2->1");
    assertThat(r.reversals()).isZero();
  }
}
