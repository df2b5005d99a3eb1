package io.queuepilot.cli.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The clairvoyant oracle a scaler is measured against: a real schedule under the
 * {@link World}'s rules, planned knowing every arrival and every job's duration, and the work
 * lower bound beneath it.
 *
 * <p><b>The schedule</b> ({@link #schedule}). Jobs start in FIFO order (start times never
 * decrease, as the queue's claim order gives), each on one slot of a pod with
 * {@code concurrency} slots; a pod is requested {@code startupSeconds} before its first job so
 * it is Ready just in time, and the start-up is billed; a pod that would sit idle longer than
 * the start-up is removed and requested again {@code startupSeconds} before its next job
 * (idle for g seconds costs min(g, start-up)); at most {@code maxReplicas} pods; every start
 * obeys the workers' reservation rule (sql/V020: a job's tokens and request are held from its
 * start until {@code windowSeconds} after it ends, and a start waits until its reservation
 * fits the budget). Every second {@code t} the planner opens the fewest pods {@code m} with
 * which the work-conserving FIFO schedule from {@code t} meets the SLO of every job already
 * waiting or arriving by {@code t + sloSeconds} (when the budget or {@code maxReplicas} makes
 * lateness unavoidable: the fewest with no more total lateness than all pods leave), then
 * starts the jobs that can start within that second, each on the lowest-numbered of the
 * {@code m} pods with a free slot, so the higher pods empty and are removed. Waiting is free in
 * replica-seconds, so this uses the SLO's slack: a spike is spread over the SLO on about
 * work ÷ (slots × SLO) pods instead of one slot per job, and a minute's noise is absorbed by the
 * queue.
 *
 * <p><b>Why it is near-optimal.</b> Every schedule bills at least {@link #workLowerBound} (each
 * replica-second serves at most {@code concurrency} job-seconds); the oracle's bill is that plus
 * only start-ups and the idle slot-seconds its integer pods cannot avoid (a pod's last round of
 * jobs before it empties, gaps shorter than a start-up). Both are reported side by side
 * ({@code scaler bench}, docs/benchmarks.md §7; 1.02–1.03× the bound on the noisy and ramp
 * traces), so the gap any better schedule could close is visible per trace. It is a greedy
 * planner (each second decided once, a constant pod count assumed over the look-ahead), not a
 * proven optimum.
 */
public final class Oracle {

  private Oracle() {}

  /**
   * The work lower bound: {@code Σ job seconds / concurrency} — every replica fully busy from the
   * moment it exists, no start-up, no idle slot, every job started on arrival. No schedule bills
   * less (with a budget, not even one that waits).
   */
  public static double workLowerBound(Workload w, int concurrency) {
    return w.workSeconds() / concurrency;
  }

  /** The world's rules the schedule obeys. Budget limits may be null (no limit). */
  public record Rules(
      int concurrency, double startupSeconds, double sloSeconds, int maxReplicas, Long tokensPerWindow,
      Long requestsPerWindow, int windowSeconds) {}

  /** The planned schedule: each job's start and pod, the bill, and the waits it implies. */
  public record Schedule(double[] starts, int[] pods, double replicaSeconds, int podsUsed, double[] sortedWaits,
      double lowerBoundSeconds) {

    public long sloViolations(double slo) {
      return Arrays.stream(sortedWaits).filter(w -> w > slo + 1e-9).count();
    }

    public double waitQuantile(double q) {
      if (sortedWaits.length == 0) return 0;
      int i = (int) Math.ceil(q * sortedWaits.length) - 1;
      return sortedWaits[Math.max(0, Math.min(sortedWaits.length - 1, i))];
    }
  }

  private static final class Pod {
    final double[] slotFree;
    /** End of the latest busy interval (the union of its jobs' intervals is contiguous up to here from {@code lastStart}). */
    double busyUntil = Double.NEGATIVE_INFINITY;
    /** Replica-seconds billed so far: start-ups, busy time, idle gaps kept. */
    double billed;

    Pod(int concurrency) {
      slotFree = new double[concurrency];
      Arrays.fill(slotFree, Double.NEGATIVE_INFINITY);
    }

    int freeSlot() {
      int best = 0;
      for (int i = 1; i < slotFree.length; i++) if (slotFree[i] < slotFree[best]) best = i;
      return best;
    }

    /** Replica-seconds that running [start, start + seconds) on this pod adds to its bill. */
    double cost(double start, double seconds, double startup) {
      if (busyUntil == Double.NEGATIVE_INFINITY) return startup + seconds;
      if (start < busyUntil) return Math.max(0, start + seconds - busyUntil);
      // idle from busyUntil to start: keep it (the gap) or remove it and start it again in time
      return Math.min(start - busyUntil, startup) + seconds;
    }
  }

  private record Hold(double until, long tokens) {}

  /** The holds of the workers' reservation rule: tokens and requests held until each reservation's end + window. */
  private static final class Holds {
    final PriorityQueue<Hold> q;
    long tokens;
    long requests;

    Holds() {
      q = new PriorityQueue<>((a, b) -> Double.compare(a.until, b.until));
    }

    Holds(Holds o) {
      q = new PriorityQueue<>(o.q);
      tokens = o.tokens;
      requests = o.requests;
    }

    /** The earliest time from {@code t} at which a reservation of {@code jobTokens} fits (expired holds leave). */
    double fit(double t, long jobTokens, Rules r) {
      while (!q.isEmpty() && q.peek().until <= t) pop();
      while (!q.isEmpty()
          && ((r.tokensPerWindow() != null && tokens + jobTokens > r.tokensPerWindow())
              || (r.requestsPerWindow() != null && requests + 1 > r.requestsPerWindow()))) {
        t = Math.max(t, q.peek().until);
        pop();
      }
      return t;
    }

    void pop() {
      Hold h = q.poll();
      tokens -= h.tokens;
      requests--;
    }

    void add(double until, long jobTokens) {
      q.add(new Hold(until, jobTokens));
      tokens += jobTokens;
      requests++;
    }
  }

  /**
   * Plans the oracle schedule for {@code w} under {@code r}: every second {@code t} it opens the
   * fewest pods {@code m} with which the FIFO, work-conserving schedule from now meets the SLO
   * of every job already waiting or arriving within the next SLO (no more lateness than the most
   * pods leave, when the budget makes some unavoidable), then starts the jobs that can start
   * within that second on the lowest-numbered pod with a free slot, so the higher pods idle out
   * and are removed.
   */
  public static Schedule schedule(Workload w, Rules r) {
    List<Workload.Job> jobs = w.jobs();
    int n = jobs.size();
    double[] starts = new double[n];
    int[] podOf = new int[n];
    List<Pod> pods = new ArrayList<>();
    for (int p = 0; p < r.maxReplicas(); p++) pods.add(new Pod(r.concurrency()));
    Holds holds = new Holds();
    double previous = Double.NEGATIVE_INFINITY;
    int next = 0;
    int m = 1;
    double t = n == 0 ? 0 : Math.floor(jobs.get(0).arrival());
    while (next < n) {
      double possible = Math.max(jobs.get(next).arrival(), previous);
      if (possible >= t + 1) t = Math.floor(possible); // nothing can start before then: skip ahead
      m = fewestPods(jobs, next, previous, holds, pods, t, m, r);
      // start what can start within [t, t + 1) with m pods, each on the lowest pod free by then
      while (next < n) {
        Workload.Job job = jobs.get(next);
        double earliest = holds.fit(Math.max(Math.max(job.arrival(), previous), t), job.tokens(), r);
        // the holds fit() let go expire by `earliest` only: no later start (FIFO) may come before it
        previous = Math.max(previous, earliest);
        double slot = Double.POSITIVE_INFINITY;
        for (int p = 0; p < m; p++) slot = Math.min(slot, pods.get(p).slotFree[pods.get(p).freeSlot()]);
        double start = Math.max(earliest, slot);
        if (start >= t + 1) break;
        int chosen = 0;
        while (pods.get(chosen).slotFree[pods.get(chosen).freeSlot()] > start) chosen++;
        Pod pod = pods.get(chosen);
        pod.billed += pod.cost(start, job.seconds(), r.startupSeconds());
        pod.slotFree[pod.freeSlot()] = start + job.seconds();
        pod.busyUntil = Math.max(pod.busyUntil, start + job.seconds());
        starts[next] = start;
        podOf[next] = chosen;
        previous = start;
        holds.add(start + job.seconds() + r.windowSeconds(), job.tokens());
        next++;
      }
      t += 1;
    }
    double billed = 0;
    int used = 0;
    for (Pod p : pods) {
      billed += p.billed;
      if (p.busyUntil != Double.NEGATIVE_INFINITY) used++;
    }
    double[] waits = new double[n];
    for (int j = 0; j < n; j++) waits[j] = starts[j] - jobs.get(j).arrival();
    Arrays.sort(waits);
    return new Schedule(starts, podOf, billed, used, waits, workLowerBound(w, r.concurrency()));
  }

  /**
   * The fewest pods (from {@code guess}) whose FIFO schedule from {@code t} misses no SLO; when
   * even all pods miss some (the budget or maxReplicas binds), the fewest whose total lateness
   * is no worse than with all pods.
   */
  private static int fewestPods(List<Workload.Job> jobs, int next, double previous, Holds holds, List<Pod> pods,
      double t, int guess, Rules r) {
    int max = r.maxReplicas();
    int m = Math.max(1, Math.min(max, guess));
    if (lateness(jobs, next, previous, holds, pods, t, m, r, 0) == 0) {
      while (m > 1 && lateness(jobs, next, previous, holds, pods, t, m - 1, r, 0) == 0) m--;
      return m;
    }
    double floor = lateness(jobs, next, previous, holds, pods, t, max, r, Double.MAX_VALUE);
    double enough = floor * 1.001 + 1e-6;
    if (floor == 0) {
      while (m < max && lateness(jobs, next, previous, holds, pods, t, m, r, 0) > 0) m++;
      return m;
    }
    if (lateness(jobs, next, previous, holds, pods, t, m, r, enough) <= enough) {
      while (m > 1 && lateness(jobs, next, previous, holds, pods, t, m - 1, r, enough) <= enough) m--;
      return m;
    }
    while (m < max && lateness(jobs, next, previous, holds, pods, t, m, r, enough) > enough) m++;
    return m;
  }

  /**
   * Total lateness (seconds past each SLO) of the FIFO, work-conserving schedule from {@code t}
   * with pods 0..m-1, over the jobs arriving by t + SLO (at most four rounds of every slot's
   * worth); counting stops above {@code enough}.
   */
  private static double lateness(List<Workload.Job> jobs, int next, double previous, Holds committed, List<Pod> pods,
      double t, int m, Rules r, double enough) {
    double[] heap = new double[m * r.concurrency()];
    int size = 0;
    for (int p = 0; p < m; p++) for (double f : pods.get(p).slotFree) heap[size++] = f;
    Arrays.sort(heap); // a sorted array is a min-heap
    double horizon = t + r.sloSeconds();
    int last = next;
    long tokens = committed.tokens;
    long requests = committed.requests;
    // a backlog longer than four rounds of every slot is planned at the next seconds (keeps it linear)
    int lookahead = 4 * r.maxReplicas() * r.concurrency();
    while (last < jobs.size() && last - next < lookahead && jobs.get(last).arrival() <= horizon) {
      tokens += jobs.get(last).tokens();
      requests++;
      last++;
    }
    // the budget can only delay a start when everything held plus every job to come would not fit
    boolean budgetMatters = (r.tokensPerWindow() != null && tokens > r.tokensPerWindow())
        || (r.requestsPerWindow() != null && requests > r.requestsPerWindow());
    Holds holds = budgetMatters ? new Holds(committed) : null;
    double late = 0;
    for (int j = next; j < last; j++) {
      Workload.Job job = jobs.get(j);
      double earliest = Math.max(Math.max(job.arrival(), previous), t);
      if (holds != null) earliest = holds.fit(earliest, job.tokens(), r);
      double start = Math.max(earliest, heap[0]);
      double over = start - (job.arrival() + r.sloSeconds());
      if (over > 1e-9) {
        late += over;
        if (late > enough) return late;
      }
      replaceTop(heap, size, start + job.seconds());
      if (holds != null) holds.add(start + job.seconds() + r.windowSeconds(), job.tokens());
      previous = start;
    }
    return late;
  }

  /** Replaces the smallest element of the binary min-heap {@code h[0..size)} by {@code v}. */
  private static void replaceTop(double[] h, int size, double v) {
    int i = 0;
    while (true) {
      int c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && h[c + 1] < h[c]) c++;
      if (h[c] >= v) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = v;
  }
}
