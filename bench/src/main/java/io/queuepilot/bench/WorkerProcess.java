package io.queuepilot.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A benchmark child process (a peer's Node.js script or a QueuePilot worker JVM) speaking the
 * line protocol of bench/peers/common.mjs: {@code READY}, {@code STAT handled firstStartUs
 * lastEndUs}, {@code RESULT json}; it stops gracefully when its standard input closes.
 */
public final class WorkerProcess implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String label;
  private final Process process;
  private final CountDownLatch ready = new CountDownLatch(1);
  private final java.util.concurrent.atomic.AtomicBoolean readySeen = new java.util.concurrent.atomic.AtomicBoolean();
  private final CountDownLatch resultSeen = new CountDownLatch(1);
  private final AtomicLong handled = new AtomicLong();
  private final AtomicLong firstStartUs = new AtomicLong();
  private final AtomicLong lastEndUs = new AtomicLong();
  private final AtomicReference<JsonNode> result = new AtomicReference<>();
  private final Thread reader;

  private WorkerProcess(String label, Process process) {
    this.label = label;
    this.process = process;
    this.reader = Thread.ofPlatform().daemon().name("read-" + label).start(this::readLines);
  }

  /** Starts {@code command}; its standard error goes to {@code stderrLog}. */
  public static WorkerProcess start(String label, List<String> command, Path workDir, Path stderrLog) {
    try {
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .directory(workDir.toFile())
              .redirectError(ProcessBuilder.Redirect.appendTo(stderrLog.toFile()));
      return new WorkerProcess(label, pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start " + label + ": " + command, e);
    }
  }

  private void readLines() {
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.equals("READY")) {
          readySeen.set(true);
          ready.countDown();
        } else if (line.startsWith("STAT ")) {
          String[] p = line.split(" ");
          handled.set(Long.parseLong(p[1]));
          firstStartUs.set(Long.parseLong(p[2]));
          lastEndUs.set(Long.parseLong(p[3]));
        } else if (line.startsWith("RESULT ")) {
          result.set(JSON.readTree(line.substring(7)));
          resultSeen.countDown();
        } else {
          System.err.println("[" + label + "] " + line);
        }
      }
    } catch (IOException e) {
      System.err.println("[" + label + "] output closed: " + e.getMessage());
    } finally {
      ready.countDown();
      resultSeen.countDown();
    }
  }

  /** Waits until the process reports READY; fails if it exits or times out first. */
  public void awaitReady(Duration timeout) throws InterruptedException {
    if (!ready.await(timeout.toMillis(), TimeUnit.MILLISECONDS) || !readySeen.get()) {
      throw new IllegalStateException(label + " did not become ready (exit " + exitCodeOrAlive() + ")");
    }
  }

  /** Waits for the RESULT line and the process exit; returns the result. */
  public JsonNode awaitResult(Duration timeout) throws InterruptedException {
    if (!resultSeen.await(timeout.toMillis(), TimeUnit.MILLISECONDS) || result.get() == null) {
      throw new IllegalStateException(label + " gave no result within " + timeout + " (exit " + exitCodeOrAlive() + ")");
    }
    process.waitFor(30, TimeUnit.SECONDS);
    return result.get();
  }

  /** Closes standard input: the process finishes its in-flight work and exits. */
  public void requestStop() {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      System.err.println("[" + label + "] closing stdin: " + e.getMessage());
    }
  }

  public long handled() {
    return handled.get();
  }

  public long firstStartMicros() {
    return firstStartUs.get();
  }

  public long lastEndMicros() {
    return lastEndUs.get();
  }

  /** CPU time the process has used so far (user + system), zero when unknown. */
  public Duration cpu() {
    return process.info().totalCpuDuration().orElse(Duration.ZERO);
  }

  /**
   * CPU time the process's JIT compiler threads have used so far ({@link Machine#JIT_THREAD_PREFIXES}),
   * empty when it names none (Node.js): how much of {@link #cpu} a cold burn-down spends compiling.
   */
  public java.util.Optional<Duration> jitCpu() {
    return Machine.threadCpu(process.pid(), Machine.JIT_THREAD_PREFIXES);
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  private String exitCodeOrAlive() {
    return process.isAlive() ? "still running" : String.valueOf(process.exitValue());
  }

  @Override
  public void close() throws InterruptedException {
    requestStop();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
    reader.join(5_000);
  }
}
