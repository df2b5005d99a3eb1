package io.queuepilot.cli.sim;

import io.queuepilot.queue.JobQueue.QueueStats;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Replays a {@link LoadTrace} second by second through a {@link ServiceModel} and a scaling
 * {@link Decider} polled every {@code pollSeconds}, producing the {@link Timeline}. Deterministic:
 * simulated time only, no clock, no randomness.
 */
public final class Simulator {

  /** The scaling decision for one poll; the real controller policy sits behind this in the CLI. */
  @FunctionalInterface
  public interface Decider {
    Result decide(QueueStats snapshot, int currentReplicas, Instant now);

    /** Desired replicas, what limited them ({@code min}, {@code max}, {@code tokenBudget}, ...) and why. */
    record Result(int desiredReplicas, String limitedBy, String reason) {}
  }

  /** Seconds of recent history {@code completed_recently} and the averages look at. */
  static final int RECENT_WINDOW_SECONDS = 300;

  private final ServiceModel model;
  private final Decider decider;
  private final int pollSeconds;
  private final int minReplicas;
  private final int maxReplicas;
  private final Instant start;

  public Simulator(ServiceModel model, Decider decider, int pollSeconds, int minReplicas, int maxReplicas, Instant start) {
    this.model = model;
    this.decider = decider;
    this.pollSeconds = Math.max(1, pollSeconds);
    this.minReplicas = minReplicas;
    this.maxReplicas = maxReplicas;
    this.start = start;
  }

  /**
   * Runs the trace, then keeps going (no arrivals) until the queue is drained and the replicas
   * are back at the minimum, or {@code drainSeconds} after the trace ended.
   */
  public Timeline run(LoadTrace trace, int initialReplicas, int drainSeconds) {
    ArrayDeque<long[]> waiting = new ArrayDeque<>(); // {arrival second, count}
    long depth = 0;
    PriorityQueue<Integer> inflight = new PriorityQueue<>(); // finish seconds
    ArrayDeque<long[]> tokenWindow = new ArrayDeque<>(); // {start second, tokens}
    long tokensInWindow = 0;
    ArrayDeque<Integer> completions = new ArrayDeque<>(); // completion seconds within the recent window
    List<Integer> starting = new ArrayList<>(); // seconds at which a starting replica serves
    int replicas = initialReplicas;
    int desired = initialReplicas;
    String limitedBy = "none";
    long completed = 0;
    List<Timeline.Tick> ticks = new ArrayList<>();
    List<Timeline.Decision> decisions = new ArrayList<>();
    int end = trace.seconds() + drainSeconds;

    for (int t = 0; t <= end; t++) {
      int arrivals = trace.at(t);
      if (arrivals > 0) {
        waiting.addLast(new long[] {t, arrivals});
        depth += arrivals;
      }
      final int now = t;
      replicas += (int) starting.stream().filter(s -> s <= now).count();
      starting.removeIf(s -> s <= now);
      while (!inflight.isEmpty() && inflight.peek() <= t) {
        inflight.poll();
        completed++;
        completions.addLast(t);
      }
      while (!completions.isEmpty() && completions.peekFirst() <= t - RECENT_WINDOW_SECONDS) {
        completions.pollFirst();
      }
      while (!tokenWindow.isEmpty() && tokenWindow.peekFirst()[0] <= t - 60) {
        tokensInWindow -= tokenWindow.pollFirst()[1];
      }

      int free = replicas * model.concurrency() - inflight.size();
      while (free > 0 && depth > 0 && tokensAllow(tokensInWindow)) {
        long[] head = waiting.peekFirst();
        if (--head[1] == 0) {
          waiting.pollFirst();
        }
        depth--;
        free--;
        inflight.add(t + model.jobSeconds());
        tokenWindow.addLast(new long[] {t, model.tokensPerJob()});
        tokensInWindow += model.tokensPerJob();
      }

      if (t % pollSeconds == 0) {
        boolean anyCompleted = !completions.isEmpty();
        QueueStats snapshot =
            new QueueStats(
                depth,
                0,
                inflight.size(),
                0,
                0,
                waiting.isEmpty() ? 0 : t - waiting.peekFirst()[0],
                anyCompleted ? (double) model.jobSeconds() : null,
                anyCompleted ? (double) model.tokensPerJob() : null,
                completions.size());
        int current = replicas + starting.size();
        Decider.Result r = decider.decide(snapshot, current, start.plusSeconds(t));
        int next = Math.max(0, r.desiredReplicas());
        limitedBy = r.limitedBy();
        if (next != current) {
          decisions.add(new Timeline.Decision(t, current, next, r.limitedBy(), r.reason()));
        }
        if (next > current) {
          for (int i = 0; i < next - current; i++) {
            if (model.startupSeconds() == 0) {
              replicas++;
            } else {
              starting.add(t + model.startupSeconds());
            }
          }
        } else if (next < current) {
          int remove = current - next;
          // Replicas still starting are cancelled first; running ones drain their in-flight jobs.
          while (remove > 0 && !starting.isEmpty()) {
            starting.remove(starting.size() - 1);
            remove--;
          }
          replicas -= remove;
        }
        desired = next;
      }

      ticks.add(new Timeline.Tick(t, arrivals, depth, inflight.size(), replicas, desired, limitedBy, tokensInWindow, completed));

      boolean drained = t >= trace.seconds() && depth == 0 && inflight.isEmpty() && starting.isEmpty();
      if (drained && replicas <= minReplicas) {
        break;
      }
    }
    return new Timeline(
        trace.name(), ticks, decisions, minReplicas, maxReplicas, model.tokensPerMinuteBudget(), model.tokenBudgetReplicas());
  }

  private boolean tokensAllow(long tokensInWindow) {
    Long budget = model.tokensPerMinuteBudget();
    return budget == null || tokensInWindow + model.tokensPerJob() <= budget;
  }
}
