package io.queuepilot.cli.local;

import io.queuepilot.scaling.ScaleTarget;
import io.queuepilot.scaling.ScaleTargetException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local mode's scale target: worker replicas running in this JVM. Scaling up starts new
 * replicas at once; scaling down takes the newest replicas out of service and stops them in the
 * background with the worker's graceful shutdown (finish or release in-flight jobs), as a
 * Deployment does with SIGTERM.
 */
public final class LocalScaleTarget implements ScaleTarget, AutoCloseable {

  /** Starts and stops one replica; the real one wraps a worker process's WorkerApp. */
  public interface Replicas {
    Replica start(String workerId) throws Exception;
  }

  /** One running replica. */
  public interface Replica {
    /** Graceful stop; returns the number of jobs released back to the queue. */
    int shutdown();

    /** Jobs this replica holds right now. */
    int inFlight();
  }

  private static final Logger log = LoggerFactory.getLogger(LocalScaleTarget.class);

  private final Replicas replicas;
  private final int maxReplicas;
  private final Deque<Replica> running = new ArrayDeque<>();
  private final AtomicInteger started = new AtomicInteger();
  private final AtomicInteger stopping = new AtomicInteger();
  private final ExecutorService stopper =
      Executors.newCachedThreadPool(r -> Thread.ofPlatform().name("qp-local-stop").daemon(true).unstarted(r));

  public LocalScaleTarget(Replicas replicas, int maxReplicas) {
    this.replicas = replicas;
    this.maxReplicas = maxReplicas;
  }

  @Override
  public String describe() {
    return "local/in-process-workers";
  }

  @Override
  public synchronized int currentReplicas() {
    return running.size();
  }

  /** Replicas still finishing their jobs after a scale-down. */
  public int stopping() {
    return stopping.get();
  }

  /** Jobs held by the running replicas. */
  public synchronized int inFlight() {
    return running.stream().mapToInt(Replica::inFlight).sum();
  }

  @Override
  public int clamp(int wanted) {
    return Math.max(0, Math.min(maxReplicas, wanted));
  }

  @Override
  public synchronized void scale(int wanted) throws ScaleTargetException {
    while (running.size() < wanted) {
      String id = "local-worker-" + started.incrementAndGet();
      try {
        running.addLast(replicas.start(id));
      } catch (Exception e) {
        throw new ScaleTargetException(ScaleTargetException.Kind.FAILED,
            "could not start worker replica " + id + ": " + e.getMessage(), null, e);
      }
    }
    while (running.size() > wanted) {
      Replica r = running.removeLast();
      stopping.incrementAndGet();
      stopper.execute(() -> {
        try {
          int released = r.shutdown();
          if (released > 0) {
            log.info("stopped a worker replica; {} jobs released back to the queue", released);
          }
        } catch (RuntimeException e) {
          log.warn("stopping a worker replica failed", e);
        } finally {
          stopping.decrementAndGet();
        }
      });
    }
  }

  /** Stops every replica and waits for them. */
  @Override
  public void close() {
    try {
      scale(0);
    } catch (ScaleTargetException e) {
      throw new IllegalStateException(e);
    }
    stopper.shutdown();
    try {
      if (!stopper.awaitTermination(60, TimeUnit.SECONDS)) {
        log.warn("worker replicas did not stop within 60 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
