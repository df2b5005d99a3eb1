package io.queuepilot.cli.sim;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A discrete-event model of the worker fleet a scaler drives, built from how the real parts
 * behave: jobs wait in FIFO order and start on a free slot of a Ready, non-draining pod; a new
 * pod serves after the start-up delay and is billed from its creation; on scale-down starting
 * pods go first, then idle pods (the controller marks busy pods with a higher
 * {@code pod-deletion-cost}), then the least busy, which drain — they take no new job and stay
 * billed until their last job ends. Every job start reserves its tokens and one request in the
 * shared budget as the workers do ({@code reserve_tokens}, sql/V020): the reservation counts
 * from the start until {@code windowSeconds} after the job settles; with
 * {@link Config#workersEnforceBudget()} a start that does not fit waits until enough
 * reservations expire. The scaler reconciles every {@code pollSeconds} and, if the model says
 * so, on NOTIFY (an arrival), at most once per {@link #NOTIFY_MIN_GAP_SECONDS} with the last
 * NOTIFY of a burst always followed by one — as the controller's event source does — and at the
 * instant a decision asks for the next ({@link Model.Decision#againAt()}: the reconciler's
 * {@code rescheduleAfter}). A decision
 * is applied {@link Config#cycleSeconds()} after the cycle starts (observe + scale call).
 * Simulated time only; deterministic for a given workload and model.
 */
public final class World {

  /** The controller's NOTIFY throttle: at most one wake-up per 500 ms per scaler. */
  public static final double NOTIFY_MIN_GAP_SECONDS = 0.5;

  /** Seconds of finished jobs {@code queue_stats} averages over ({@code completed_recently}). */
  public static final double RECENT_WINDOW_SECONDS = 300;

  /** The world's fixed parameters. Budget limits may be null (no limit). */
  public record Config(
      int concurrency,
      double startupSeconds,
      double cycleSeconds,
      Long tokensPerWindow,
      Long requestsPerWindow,
      int windowSeconds,
      boolean workersEnforceBudget,
      int minReplicas,
      int maxReplicas,
      double drainSeconds,
      double reversalWindowSeconds) {}

  /** A scaler under test: how often it looks, whether NOTIFY wakes it, and its decision. */
  public interface Model {
    String name();

    double pollSeconds();

    boolean wakesOnNotify();

    Decision reconcile(Observation observation);

    /**
     * Desired replicas, the binding limit, the decision's arithmetic and when it asks to be
     * reconciled again (simulated seconds; null: the poll and NOTIFY suffice).
     */
    record Decision(int replicas, String limitedBy, String reason, Double againAt) {
      public Decision(int replicas, String limitedBy, String reason) {
        this(replicas, limitedBy, reason, null);
      }
    }
  }

  /**
   * What a reconcile can see: the {@code queue_stats} row (with the ready jobs' estimates: how
   * many carry one, their sum and the largest — V113), the target's replica count
   * ({@code spec.replicas}: starting and running pods, not draining ones) and the shared
   * budget's {@code token_budget_status} row (null without a budget).
   */
  public record Observation(
      double now,
      long ready,
      long processing,
      double oldestReadyAgeSeconds,
      Double avgDurationSeconds,
      Double avgTokensPerJob,
      long completedRecently,
      int currentReplicas,
      BudgetStatus budget,
      long readyEstimated,
      long readyTokensEstimated,
      long maxReadyTokensEstimated) {

    /** An observation in which no ready job carries an estimate. */
    public Observation(double now, long ready, long processing, double oldestReadyAgeSeconds, Double avgDurationSeconds,
        Double avgTokensPerJob, long completedRecently, int currentReplicas, BudgetStatus budget) {
      this(now, ready, processing, oldestReadyAgeSeconds, avgDurationSeconds, avgTokensPerJob, completedRecently,
          currentReplicas, budget, 0, 0, 0);
    }
  }

  /** The shared budget's row as {@code token_budget_status} returns it. */
  public record BudgetStatus(
      long tokensPerWindow, long requestsPerWindow, int windowSeconds, long tokensInWindow, long requestsInWindow,
      long inFlight) {}

  /** Everything one run measured. */
  public record Result(
      String model,
      Workload workload,
      Timeline timeline,
      double[] sortedWaits,
      long completed,
      double replicaSeconds,
      double secondsOverTokenBudget,
      double secondsOverRequestBudget,
      Double firstScaleCallSeconds,
      int reversals,
      int maxReversalsPerWindow,
      double simulatedSeconds) {

    public double waitQuantile(double q) {
      if (sortedWaits.length == 0) return 0;
      int i = (int) Math.ceil(q * sortedWaits.length) - 1;
      return sortedWaits[Math.max(0, Math.min(sortedWaits.length - 1, i))];
    }

    public long sloViolations(double targetWaitSeconds) {
      return Arrays.stream(sortedWaits).filter(w -> w > targetWaitSeconds + 1e-9).count();
    }

    public double replicaMinutes() {
      return replicaSeconds / 60;
    }
  }

  private enum Kind { ARRIVAL, FINISH, READY, POLL, NOTIFY, WAKE, APPLY, RETRY, TICK }

  private record Event(double at, long seq, Kind kind, int a, int b) {}

  private static final class Pod {
    final int id;
    final double created;
    double readyAt;
    boolean ready;
    boolean draining;
    boolean gone;
    int busy;

    Pod(int id, double created, double readyAt) {
      this.id = id;
      this.created = created;
      this.readyAt = readyAt;
    }
  }

  private record Reservation(double activeUntil, long tokens) {}

  private final Config cfg;

  public World(Config cfg) {
    this.cfg = cfg;
  }

  /** The world's fixed parameters. */
  public Config config() {
    return cfg;
  }

  public Result run(Workload workload, Model model, int initialReplicas) {
    return new Run(workload, model).go(initialReplicas);
  }

  /** One run's mutable state. */
  private final class Run {
    final Workload w;
    final Model model;
    final PriorityQueue<Event> events =
        new PriorityQueue<>((x, y) -> x.at != y.at ? Double.compare(x.at, y.at) : Long.compare(x.seq, y.seq));
    long seq;
    final List<Pod> pods = new ArrayList<>();
    final ArrayDeque<Integer> readyQueue = new ArrayDeque<>();
    long readyEstimated;
    long readyTokensEstimated;
    final double[] startedAt;
    final PriorityQueue<Reservation> reservations =
        new PriorityQueue<>((x, y) -> Double.compare(x.activeUntil, y.activeUntil));
    long reservedTokens;
    long reservedRequests;
    final ArrayDeque<double[]> recent = new ArrayDeque<>(); // {finish, seconds, tokens}
    double recentSeconds;
    double recentTokens;
    final List<double[]> providerCalls = new ArrayList<>(); // {start, tokens}
    boolean notifyPending;
    double lastNotifyWake = Double.NEGATIVE_INFINITY;
    boolean retryPending;
    /** A decision's scale call is on its way (cycleSeconds): the controller runs one cycle at a time. */
    boolean cycleInFlight;
    /** A reconcile asked for while a cycle was in flight: it runs once that cycle's scale call is made. */
    boolean reconcileQueued;
    final java.util.TreeSet<Double> wakes = new java.util.TreeSet<>();
    int desired;
    String limitedBy = "none";
    long completed;
    int processing;
    final List<Timeline.Tick> ticks = new ArrayList<>();
    final List<Timeline.Decision> decisions = new ArrayList<>();
    final List<double[]> scaleCalls = new ArrayList<>(); // {time, direction}
    int arrivalsThisSecond;
    double lastTime;

    Run(Workload w, Model model) {
      this.w = w;
      this.model = model;
      this.startedAt = new double[w.jobs().size()];
      Arrays.fill(startedAt, -1);
    }

    void at(double t, Kind k, int a, int b) {
      events.add(new Event(t, seq++, k, a, b));
    }

    Result go(int initialReplicas) {
      for (int i = 0; i < initialReplicas; i++) {
        Pod p = new Pod(pods.size(), 0, 0);
        p.ready = true;
        pods.add(p);
      }
      desired = initialReplicas;
      for (Workload.Job j : w.jobs()) at(j.arrival(), Kind.ARRIVAL, j.id(), 0);
      at(0, Kind.POLL, 0, 0);
      at(0, Kind.TICK, 0, 0);
      double hardEnd = w.traceSeconds() + cfg.drainSeconds();
      while (!events.isEmpty()) {
        Event e = events.poll();
        if (e.at > hardEnd) break;
        lastTime = e.at;
        switch (e.kind) {
          case ARRIVAL -> {
            readyQueue.addLast(e.a);
            Long est = w.jobs().get(e.a).tokensEstimated();
            if (est != null) {
              readyEstimated++;
              readyTokensEstimated += est;
            }
            arrivalsThisSecond++;
            dispatch(e.at);
            if (model.wakesOnNotify() && !notifyPending) {
              notifyPending = true;
              at(Math.max(e.at, lastNotifyWake + NOTIFY_MIN_GAP_SECONDS), Kind.NOTIFY, 0, 0);
            }
          }
          case FINISH -> finish(e.at, pods.get(e.a), e.b);
          case READY -> {
            Pod p = pods.get(e.a);
            if (!p.gone) {
              p.ready = true;
              dispatch(e.at);
            }
          }
          case POLL -> {
            reconcile(e.at);
            at(e.at + model.pollSeconds(), Kind.POLL, 0, 0);
          }
          case NOTIFY -> {
            notifyPending = false;
            lastNotifyWake = e.at;
            reconcile(e.at);
          }
          case WAKE -> {
            wakes.remove(e.at);
            reconcile(e.at);
          }
          case APPLY -> {
            apply(e.at, e.a);
            cycleInFlight = false;
            if (reconcileQueued) {
              reconcileQueued = false;
              reconcile(e.at);
            }
          }
          case RETRY -> {
            retryPending = false;
            dispatch(e.at);
          }
          case TICK -> {
            tick((int) Math.round(e.at));
            if (done(e.at)) {
              events.clear();
            } else {
              at(e.at + 1, Kind.TICK, 0, 0);
            }
          }
        }
      }
      return result();
    }

    /**
     * The run ends after the trace once nothing is queued or running, no pod drains, the fleet is
     * back at {@code minReplicas} — and the model asked for no later cycle: a pre-warm the
     * forecast plans after the trace (for a burst that never comes) is run and billed, not cut off.
     */
    boolean done(double t) {
      if (t < w.traceSeconds() || !readyQueue.isEmpty() || processing > 0 || !wakes.isEmpty()) return false;
      for (Pod p : pods) {
        if (!p.gone && p.draining) return false;
      }
      return desired <= cfg.minReplicas() && liveSpecCount() <= cfg.minReplicas();
    }

    long maxReadyEstimate() {
      long max = 0;
      for (int id : readyQueue) {
        Long est = w.jobs().get(id).tokensEstimated();
        if (est != null) max = Math.max(max, est);
      }
      return max;
    }

    int liveSpecCount() {
      int n = 0;
      for (Pod p : pods) if (!p.gone && !p.draining) n++;
      return n;
    }

    void expireReservations(double now) {
      while (!reservations.isEmpty() && reservations.peek().activeUntil <= now) {
        Reservation r = reservations.poll();
        reservedTokens -= r.tokens;
        reservedRequests -= 1;
      }
    }

    boolean budgetRefuses(long tokens) {
      if (!cfg.workersEnforceBudget()) return false;
      boolean tokensFull = cfg.tokensPerWindow() != null && reservedTokens + tokens > cfg.tokensPerWindow();
      boolean requestsFull = cfg.requestsPerWindow() != null && reservedRequests + 1 > cfg.requestsPerWindow();
      return tokensFull || requestsFull;
    }

    void dispatch(double now) {
      expireReservations(now);
      while (!readyQueue.isEmpty()) {
        Pod free = null;
        for (Pod p : pods) {
          if (!p.gone && p.ready && !p.draining && p.busy < cfg.concurrency()) {
            free = p;
            break;
          }
        }
        if (free == null) return;
        Workload.Job j = w.jobs().get(readyQueue.peekFirst());
        if (budgetRefuses(j.tokens())) {
          if (!retryPending && !reservations.isEmpty()) {
            retryPending = true;
            at(reservations.peek().activeUntil, Kind.RETRY, 0, 0);
          }
          return;
        }
        readyQueue.pollFirst();
        if (j.tokensEstimated() != null) {
          readyEstimated--;
          readyTokensEstimated -= j.tokensEstimated();
        }
        startedAt[j.id()] = now;
        free.busy++;
        processing++;
        double end = now + j.seconds();
        reservations.add(new Reservation(end + cfg.windowSeconds(), j.tokens()));
        reservedTokens += j.tokens();
        reservedRequests += 1;
        providerCalls.add(new double[] {now, j.tokens()});
        at(end, Kind.FINISH, free.id, j.id());
      }
    }

    void finish(double now, Pod p, int jobId) {
      Workload.Job j = w.jobs().get(jobId);
      p.busy--;
      processing--;
      completed++;
      recent.addLast(new double[] {now, j.seconds(), j.tokens()});
      recentSeconds += j.seconds();
      recentTokens += j.tokens();
      if (p.draining && p.busy == 0) {
        p.gone = true;
        bill(p, now);
      }
      dispatch(now);
    }

    double replicaSeconds;

    void bill(Pod p, double end) {
      replicaSeconds += Math.max(0, end - p.created);
    }

    void reconcile(double now) {
      // The controller's cycles are serialized (one reconcile per QueueScaler at a time, the
      // Render scaler's runOnce synchronized): a poll, NOTIFY or wake-up during a cycle's scale
      // call is queued until the call is made, and then reads the replica count it set, not the
      // one before it.
      if (cycleInFlight) {
        reconcileQueued = true;
        return;
      }
      while (!recent.isEmpty() && recent.peekFirst()[0] <= now - RECENT_WINDOW_SECONDS) {
        double[] r = recent.pollFirst();
        recentSeconds -= r[1];
        recentTokens -= r[2];
      }
      expireReservations(now);
      double oldest = readyQueue.isEmpty() ? 0 : now - w.jobs().get(readyQueue.peekFirst()).arrival();
      int n = recent.size();
      BudgetStatus budget = cfg.tokensPerWindow() == null && cfg.requestsPerWindow() == null ? null
          : new BudgetStatus(
              cfg.tokensPerWindow() == null ? Long.MAX_VALUE : cfg.tokensPerWindow(),
              cfg.requestsPerWindow() == null ? Long.MAX_VALUE : cfg.requestsPerWindow(),
              cfg.windowSeconds(), reservedTokens, reservedRequests, processing);
      Observation o = new Observation(now, readyQueue.size(), processing, oldest,
          n == 0 ? null : recentSeconds / n, n == 0 ? null : recentTokens / n, n, liveSpecCount(), budget,
          readyEstimated, readyTokensEstimated, readyEstimated == 0 ? 0 : maxReadyEstimate());
      Model.Decision d = model.reconcile(o);
      limitedBy = d.limitedBy();
      if (d.againAt() != null && d.againAt() > now && wakes.add(d.againAt())) at(d.againAt(), Kind.WAKE, 0, 0);
      int next = Math.max(0, d.replicas());
      if (next != desired) {
        decisions.add(new Timeline.Decision((int) Math.floor(now), desired, next, d.limitedBy(), d.reason()));
        at(now + cfg.cycleSeconds(), Kind.APPLY, next, 0);
        cycleInFlight = true;
        desired = next;
      }
    }

    void apply(double now, int target) {
      int current = liveSpecCount();
      if (target == current) return;
      scaleCalls.add(new double[] {now, Math.signum(target - current)});
      if (target > current) {
        for (int i = current; i < target; i++) {
          Pod p = new Pod(pods.size(), now, now + cfg.startupSeconds());
          pods.add(p);
          if (cfg.startupSeconds() <= 0) {
            p.ready = true;
          } else {
            at(p.readyAt, Kind.READY, p.id, 0);
          }
        }
        dispatch(now);
        return;
      }
      int remove = current - target;
      // starting pods first (newest first), then idle ones, then the least busy, which drain
      for (int i = pods.size() - 1; i >= 0 && remove > 0; i--) {
        Pod p = pods.get(i);
        if (!p.gone && !p.draining && !p.ready) {
          p.gone = true;
          bill(p, now);
          remove--;
        }
      }
      for (int i = pods.size() - 1; i >= 0 && remove > 0; i--) {
        Pod p = pods.get(i);
        if (!p.gone && !p.draining && p.busy == 0) {
          p.gone = true;
          bill(p, now);
          remove--;
        }
      }
      while (remove > 0) {
        Pod least = null;
        for (Pod p : pods) {
          if (!p.gone && !p.draining && (least == null || p.busy < least.busy)) least = p;
        }
        if (least == null) break;
        least.draining = true;
        remove--;
      }
    }

    void tick(int t) {
      int billed = 0;
      for (Pod p : pods) if (!p.gone) billed++;
      double from = t - 60;
      long tokens = 0;
      for (int i = providerCalls.size() - 1; i >= 0 && providerCalls.get(i)[0] > from; i--) {
        tokens += (long) providerCalls.get(i)[1];
      }
      ticks.add(new Timeline.Tick(t, arrivalsThisSecond, readyQueue.size(), processing, billed, desired, limitedBy,
          tokens, completed));
      arrivalsThisSecond = 0;
    }

    Result result() {
      double end = lastTime;
      for (Pod p : pods) {
        if (!p.gone) bill(p, end);
      }
      double[] waits = new double[w.jobs().size()];
      int n = 0;
      for (Workload.Job j : w.jobs()) {
        double s = startedAt[j.id()];
        // a job never started within the simulation waited at least until its end
        waits[n++] = s < 0 ? end - j.arrival() : s - j.arrival();
      }
      Arrays.sort(waits);
      Double firstCall = null;
      if (!w.jobs().isEmpty()) {
        double first = w.jobs().get(0).arrival();
        for (double[] c : scaleCalls) {
          if (c[1] > 0 && c[0] >= first) {
            firstCall = c[0] - first;
            break;
          }
        }
      }
      int reversals = 0;
      List<Double> reversalTimes = new ArrayList<>();
      double lastDir = 0;
      for (double[] c : scaleCalls) {
        if (lastDir != 0 && c[1] != lastDir) {
          reversals++;
          reversalTimes.add(c[0]);
        }
        lastDir = c[1];
      }
      int maxPerWindow = 0;
      for (int i = 0, j = 0; i < reversalTimes.size(); i++) {
        while (reversalTimes.get(i) - reversalTimes.get(j) >= cfg.reversalWindowSeconds()) j++;
        maxPerWindow = Math.max(maxPerWindow, i - j + 1);
      }
      Timeline tl = new Timeline(w.name(), ticks, decisions, cfg.minReplicas(), cfg.maxReplicas(),
          cfg.tokensPerWindow(), null);
      return new Result(model.name(), w, tl, waits, completed, replicaSeconds,
          overSeconds(cfg.tokensPerWindow(), true, end), overSeconds(cfg.requestsPerWindow(), false, end),
          firstCall, reversals, maxPerWindow, end);
    }

    /**
     * Seconds (sampled every second) at which what reached the provider in the trailing
     * {@code windowSeconds} exceeded the limit: tokens of the calls started in that window, or
     * their number.
     */
    double overSeconds(Long limit, boolean tokens, double end) {
      if (limit == null) return 0;
      int over = 0;
      double sum = 0;
      int head = 0;
      int tail = 0;
      for (int t = 1; t <= (int) Math.ceil(end); t++) {
        while (tail < providerCalls.size() && providerCalls.get(tail)[0] <= t) {
          sum += tokens ? providerCalls.get(tail)[1] : 1;
          tail++;
        }
        while (head < tail && providerCalls.get(head)[0] <= t - cfg.windowSeconds()) {
          sum -= tokens ? providerCalls.get(head)[1] : 1;
          head++;
        }
        if (sum > limit) over++;
      }
      return over;
    }
  }
}
