package io.queuepilot.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
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

  /** CPU time used so far by all running PostgreSQL server processes (postmaster and backends). */
  public static java.time.Duration postgresCpu() {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().command().map(c -> c.endsWith("/postgres")).orElse(false))
        .map(p -> p.info().totalCpuDuration().orElse(java.time.Duration.ZERO))
        .reduce(java.time.Duration.ZERO, java.time.Duration::plus);
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
