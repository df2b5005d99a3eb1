package io.queuepilot.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** What the benchmark ran on and what else was loading it: recorded with every result. */
public final class Machine {

  private Machine() {}

  /** CPU model from /proc/cpuinfo. */
  public static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst()
          .orElse("unknown");
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  /** The 1/5/15-minute load averages from /proc/loadavg. */
  public static String loadAverage() {
    try {
      String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (IOException e) {
      return "unknown";
    }
  }

  /**
   * CPU time used so far by the PostgreSQL server listening on {@code port}: the postmaster
   * with its reaped children (exited backends, from /proc cutime/cstime) plus every live
   * descendant. Other servers on the machine are not counted.
   */
  public static java.time.Duration postgresCpu(int port) {
    long ticks = 0;
    Optional<ProcessHandle> postmaster =
        ProcessHandle.allProcesses()
            .filter(p -> cmdline(p.pid()).matches(".*/postgres -D \\S+ -p " + port + " .*"))
            .findFirst();
    if (postmaster.isEmpty()) {
      return java.time.Duration.ZERO;
    }
    ticks += cpuTicks(postmaster.get().pid(), true);
    for (ProcessHandle child : postmaster.get().descendants().toList()) {
      ticks += cpuTicks(child.pid(), false);
    }
    return java.time.Duration.ofMillis(ticks * 1000 / CLOCK_TICKS);
  }

  private static final long CLOCK_TICKS = clockTicks();

  private static long clockTicks() {
    try {
      return Long.parseLong(command("getconf", "CLK_TCK").trim());
    } catch (NumberFormatException e) {
      return 100;
    }
  }

  private static String cmdline(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * The names HotSpot gives its JIT compiler threads ("C1 CompilerThread0", "C2 CompilerThread1",
   * as the kernel keeps them: the first 15 characters).
   */
  static final List<String> JIT_THREAD_PREFIXES = List.of("C1 CompilerThre", "C2 CompilerThre");

  /**
   * CPU (utime + stime) of the live threads of {@code pid} whose kernel name starts with one of
   * {@code namePrefixes}, from /proc/pid/task/tid/stat; empty when the process has no such thread
   * (a Node.js process does not name V8's compiler threads) or is gone.
   */
  public static Optional<java.time.Duration> threadCpu(long pid, List<String> namePrefixes) {
    Path tasks = Path.of("/proc/" + pid + "/task");
    long ticks = 0;
    boolean any = false;
    try (var dirs = Files.list(tasks)) {
      for (Path task : (Iterable<Path>) dirs::iterator) {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"));
        } catch (IOException e) {
          continue; // the thread ended between the listing and the read
        }
        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (namePrefixes.stream().anyMatch(name::startsWith)) {
          ticks += statTicks(stat, false);
          any = true;
        }
      }
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
    return any ? Optional.of(java.time.Duration.ofMillis(ticks * 1000 / CLOCK_TICKS)) : Optional.empty();
  }

  /** utime + stime (and the reaped children's cutime + cstime when asked) from /proc/pid/stat. */
  private static long cpuTicks(long pid, boolean withReapedChildren) {
    try {
      return statTicks(Files.readString(Path.of("/proc/" + pid + "/stat")), withReapedChildren);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** utime + stime (and cutime + cstime when asked) of one /proc stat line, a process's or a thread's. */
  private static long statTicks(String stat, boolean withReapedChildren) {
    // fields after the command (which may hold spaces and parentheses): state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long t = Long.parseLong(f[11]) + Long.parseLong(f[12]);
    if (withReapedChildren) {
      t += Long.parseLong(f[13]) + Long.parseLong(f[14]);
    }
    return t;
  }

  /** Output of a short command such as {@code nproc} or {@code free -h}. */
  public static String command(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor(10, TimeUnit.SECONDS);
      return out;
    } catch (IOException e) {
      return "unavailable (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** A markdown block describing the machine now. */
  public static String describe() {
    return """
        - date (UTC): %s
        - CPU: %s; `nproc` = %s
        - memory (`free -h`):
        ```
        %s
        ```
        - Java: %s %s
        """
        .formatted(
            Instant.now(),
            cpuModel(),
            command("nproc"),
            command("free", "-h"),
            System.getProperty("java.vm.name"),
            System.getProperty("java.version"));
  }
}
