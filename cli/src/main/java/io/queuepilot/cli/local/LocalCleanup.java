package io.queuepilot.cli.local;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Undoes what one local run created, newest first (workers stop before their patient is erased,
 * the patient is erased before the logins are dropped), exactly once: at the end of the run, on
 * a failure, or from a JVM shutdown hook on Ctrl-C. A failing step is logged and reported, the
 * next steps still run.
 */
final class LocalCleanup {

  private static final Logger log = LoggerFactory.getLogger(LocalCleanup.class);

  /** One undo step that may fail. */
  @FunctionalInterface
  interface Step {
    void run() throws Exception;
  }

  private record Named(String what, Step step) {}

  private final Deque<Named> steps = new ArrayDeque<>();
  private final List<String> failures = new ArrayList<>();
  private boolean done;
  private Thread hook;

  /** Adds a step, run before every step added earlier. */
  synchronized void add(String what, Step step) {
    if (done) {
      throw new IllegalStateException("cleanup already ran");
    }
    steps.push(new Named(what, step));
  }

  /** Runs the steps on JVM shutdown (Ctrl-C) if {@link #run()} has not run by then. */
  synchronized void onShutdown() {
    hook = new Thread(this::run, "queuepilot-local-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Runs every step once; returns what failed (empty when all succeeded). */
  synchronized List<String> run() {
    if (done) {
      return List.copyOf(failures);
    }
    done = true;
    while (!steps.isEmpty()) {
      Named n = steps.pop();
      try {
        n.step().run();
      } catch (Exception e) {
        log.error("local cleanup: {} failed", n.what(), e);
        failures.add(n.what() + ": " + e.getMessage());
      }
    }
    if (hook != null && Thread.currentThread() != hook) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the JVM is already exiting: the hook finds the work done
      }
    }
    return List.copyOf(failures);
  }
}
