package io.queuepilot.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One real worker process: a separate JVM running the shaded worker jar ({@link Launch#jar}) or
 * WorkerMain from a class path ({@link Launch#main}), configured only through its environment
 * (the worker's QUEUEPILOT_* keys; inherited QUEUEPILOT_, OPENAI_ and SUPABASE_ variables are
 * removed first), with its own HTTP port and temp directory, its output in a log file. Can be
 * stopped with SIGTERM, killed with SIGKILL, frozen with SIGSTOP and resumed with SIGCONT. The one
 * worker launcher of the reliability scenarios and the benchmarks.
 */
public final class WorkerProcess {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final String workerId;
  private final String login;
  private final Path tempDir;
  private final Path logFile;
  private final int httpPort;
  private final Process process;

  private WorkerProcess(String workerId, String login, Path tempDir, Path logFile, int httpPort, Process process) {
    this.workerId = workerId;
    this.login = login;
    this.tempDir = tempDir;
    this.logFile = logFile;
    this.httpPort = httpPort;
    this.process = process;
  }

  /** JVM options of a small worker replica (many of them share a test machine). */
  public static final List<String> SMALL_JVM = List.of("-Xmx160m", "-Xss512k", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1", "-Xshare:auto");

  /** What the JVM runs: the arguments after its options. */
  public record Launch(List<String> arguments) {

    /** {@code java -jar <workerJar>}: the shaded jar, as in production. */
    public static Launch jar(Path workerJar) {
      return new Launch(List.of("-jar", workerJar.toString()));
    }

    /** {@code java -cp <classPath> <mainClass>}: the worker from the reactor's classes. */
    public static Launch main(String classPath, String mainClass) {
      return new Launch(List.of("-cp", classPath, mainClass));
    }
  }

  /** Starts {@code java -jar <workerJar>} as a {@link #SMALL_JVM} with exactly {@code env} added to a clean environment. */
  public static WorkerProcess start(Path workerJar, String workerId, String login, Path tempDir, Path logDir,
      Map<String, String> env) {
    return start(Launch.jar(workerJar), SMALL_JVM, workerId, login, tempDir, logDir, env);
  }

  /**
   * Starts {@code launch} with {@code jvmOptions} and exactly {@code env} added to a clean
   * environment, plus its worker id, a free HTTP port and {@code tempDir}; output to
   * {@code logDir/<workerId>.log}.
   */
  public static WorkerProcess start(Launch launch, List<String> jvmOptions, String workerId, String login, Path tempDir,
      Path logDir, Map<String, String> env) {
    try {
      Files.createDirectories(tempDir);
      Files.createDirectories(logDir);
      int port = freePort();
      Path log = logDir.resolve(workerId + ".log");
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> cmd = new ArrayList<>();
      cmd.add(java);
      cmd.addAll(jvmOptions);
      cmd.addAll(launch.arguments());
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
      pb.environment().keySet().removeIf(k -> k.startsWith("QUEUEPILOT_") || k.startsWith("OPENAI_")
          || k.startsWith("SUPABASE_") || k.equals("POD_NAME") || k.equals("RENDER_INSTANCE_ID"));
      pb.environment().putAll(env);
      pb.environment().put("QUEUEPILOT_WORKER_ID", workerId);
      pb.environment().put("QUEUEPILOT_HTTP_PORT", Integer.toString(port));
      pb.environment().put("QUEUEPILOT_TEMP_DIR", tempDir.toString());
      return new WorkerProcess(workerId, login, tempDir, log, port, pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start worker " + workerId, e);
    }
  }

  public String workerId() {
    return workerId;
  }

  /** The database login this process uses (what audit_log.db_user shows for its writes). */
  public String login() {
    return login;
  }

  public Path tempDir() {
    return tempDir;
  }

  public Path logFile() {
    return logFile;
  }

  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** The exit code of a process that has ended. */
  public int exitValue() {
    return process.exitValue();
  }

  /** A port free on loopback now (for a child's HTTP server). */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** /readyz answers 200 (started, database reachable, claiming). */
  public boolean ready() {
    return httpStatus("/readyz") == 200;
  }

  /** /healthz answers 200. */
  public boolean healthy() {
    return httpStatus("/healthz") == 200;
  }

  private int httpStatus(String path) {
    try {
      HttpResponse<Void> r = HTTP.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).timeout(Duration.ofSeconds(3)).build(),
          HttpResponse.BodyHandlers.discarding());
      return r.statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Sum of a Prometheus counter over all label sets ({@code name} without the _total suffix), -1 if unreachable. */
  public double metric(String name) {
    try {
      HttpResponse<String> r = HTTP.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/metrics")).timeout(Duration.ofSeconds(3)).build(),
          HttpResponse.BodyHandlers.ofString());
      double sum = 0;
      Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:_total)?(?:\\{[^}]*})? ([0-9.eE+-]+)$").matcher(r.body());
      while (m.find()) {
        sum += Double.parseDouble(m.group(1));
      }
      return sum;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** SIGKILL: no shutdown hook, no release; its jobs come back through requeue_stale_jobs. */
  public void kill() {
    process.destroyForcibly();
    waitFor(Duration.ofSeconds(30));
  }

  /** SIGTERM without waiting (stop many at once, then {@link #stop} each). */
  public void terminate() {
    process.destroy();
  }

  /** SIGTERM and wait for the graceful drain; returns the exit code. */
  public int stop(Duration timeout) {
    process.destroy();
    if (!waitFor(timeout)) {
      process.destroyForcibly();
      waitFor(Duration.ofSeconds(10));
      return -9;
    }
    return process.exitValue();
  }

  public void sigstop() {
    signal("STOP");
  }

  public void sigcont() {
    signal("CONT");
  }

  private void signal(String sig) {
    try {
      Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("kill -" + sig + " " + process.pid() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private boolean waitFor(Duration d) {
    try {
      return process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  public String log() {
    try {
      return Files.exists(logFile) ? Files.readString(logFile) : "";
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  @Override
  public String toString() {
    return workerId + "(pid " + pid() + ")";
  }
}
