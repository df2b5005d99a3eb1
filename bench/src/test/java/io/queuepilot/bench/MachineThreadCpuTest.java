package io.queuepilot.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** {@link Machine#threadCpu}: the CPU of a process's threads picked by their kernel names, as the burn-down reads its workers' JIT share. */
class MachineThreadCpuTest {

  private static final long SELF = ProcessHandle.current().pid();

  @Test
  void readsTheCpuOfTheNamedThreadsOnly() throws Exception {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    AtomicBoolean stop = new AtomicBoolean();
    Thread spinner = new Thread(() -> {
      long x = 0;
      while (!stop.get()) {
        x += System.nanoTime() % 7;
      }
      if (x == 42) {
        System.out.print(""); // keeps the loop from being optimised away
      }
    }, "bench-spin-test");
    spinner.start();
    try {
      await().atMost(Duration.ofSeconds(30))
          .until(() -> threads.getThreadCpuTime(spinner.threadId()) >= 300_000_000L);
      Duration read = Machine.threadCpu(SELF, List.of("bench-spin")).orElseThrow();
      long after = threads.getThreadCpuTime(spinner.threadId());
      assertThat(read).as("the spinning thread's CPU, at the kernel's tick").isBetween(Duration.ofMillis(250),
          Duration.ofNanos(after).plusMillis(20));
    } finally {
      stop.set(true);
      spinner.join();
    }
    // join() returns once the JVM marks the thread terminated; the kernel task exits a moment later
    await("gone with its thread").atMost(Duration.ofSeconds(10))
        .until(() -> Machine.threadCpu(SELF, List.of("bench-spin")).isEmpty());
    assertThat(Machine.threadCpu(SELF, List.of("no thread is named so"))).isEmpty();
  }

  @Test
  void findsHotSpotsJitCompilerThreads() {
    assertThat(Machine.threadCpu(SELF, Machine.JIT_THREAD_PREFIXES)).as("this JVM's C1/C2 compiler threads").isPresent();
    assertThat(Machine.threadCpu(Long.MAX_VALUE, Machine.JIT_THREAD_PREFIXES)).as("no such process").isEmpty();
  }
}
