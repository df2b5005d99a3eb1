package io.queuepilot.queue.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A real PgBouncer (Debian's package, installed by tools/pgbouncer/prepare.sh) in front of the
 * embedded PostgreSQL, on a free loopback port, in the pool mode a test asks for. Started as a
 * child process and stopped by {@link #close()}; its log is kept for failure messages.
 *
 * <p>Configured as a JDBC user configures PgBouncer: {@code auth_type=trust} with the test's
 * logins in the auth file (the embedded server trusts loopback), and {@code
 * ignore_startup_parameters=extra_float_digits}, which the PostgreSQL JDBC driver sends. Run as
 * root (CI), PgBouncer refuses to start unless told to drop to another user, so it gets {@code -u
 * postgres} (the user the Debian package creates).
 */
public final class PgBouncer implements AutoCloseable {

  /** PgBouncer's pool_mode values. */
  public enum PoolMode { SESSION, TRANSACTION, STATEMENT }

  private final Process process;
  private final int port;
  private final Path dir;
  private final List<String> log = new ArrayList<>();

  private PgBouncer(Process process, int port, Path dir) {
    this.process = process;
    this.port = port;
    this.dir = dir;
  }

  /** The pgbouncer binary, or null when it is not installed. */
  public static Path binary() {
    for (String candidate : List.of("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Path.of(candidate);
      }
    }
    return null;
  }

  /**
   * Starts PgBouncer forwarding every database to PostgreSQL on {@code postgresPort} (loopback),
   * letting in {@code users} without a password check (the server's own auth then applies).
   */
  public static PgBouncer start(int postgresPort, PoolMode mode, List<String> users) {
    Path bin = binary();
    if (bin == null) {
      throw new IllegalStateException("pgbouncer is not installed: run tools/pgbouncer/prepare.sh"
          + " (apt-get install -y pgbouncer)");
    }
    try {
      Path dir = Files.createTempDirectory("qp-pgbouncer-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
      int port = freePort();
      Files.writeString(dir.resolve("users.txt"),
          users.stream().map(u -> "\"" + u + "\" \"\"").collect(Collectors.joining("\n", "", "\n")));
      Files.writeString(dir.resolve("pgbouncer.ini"), """
          [databases]
          * = host=127.0.0.1 port=%d
          [pgbouncer]
          listen_addr = 127.0.0.1
          listen_port = %d
          unix_socket_dir =
          auth_type = trust
          auth_file = %s
          pool_mode = %s
          default_pool_size = 20
          max_client_conn = 300
          ignore_startup_parameters = extra_float_digits
          """.formatted(postgresPort, port, dir.resolve("users.txt"), mode.name().toLowerCase(Locale.ROOT)));
      for (String f : List.of("users.txt", "pgbouncer.ini")) {
        Files.setPosixFilePermissions(dir.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
      }
      List<String> command = new ArrayList<>(List.of(bin.toString()));
      if ("root".equals(System.getProperty("user.name"))) {
        command.addAll(List.of("-u", "postgres"));
      }
      command.add(dir.resolve("pgbouncer.ini").toString());
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      PgBouncer bouncer = new PgBouncer(p, port, dir);
      bouncer.awaitListening();
      return bouncer;
    } catch (IOException e) {
      throw new UncheckedIOException("could not start pgbouncer", e);
    }
  }

  /** Reads PgBouncer's log until it says it listens (the signal), then drains it in the background. */
  private void awaitListening() throws IOException {
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      synchronized (log) {
        log.add(line);
      }
      if (line.contains("listening on 127.0.0.1:" + port)) {
        Thread.ofPlatform().daemon().name("pgbouncer-log").start(() -> drain(out));
        return;
      }
    }
    throw new IllegalStateException("pgbouncer exited before listening:\n" + log());
  }

  private void drain(BufferedReader out) {
    try {
      String line;
      while ((line = out.readLine()) != null) {
        synchronized (log) {
          log.add(line);
        }
      }
    } catch (IOException e) {
      // the process is gone; its log so far stays readable
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  public int port() {
    return port;
  }

  /** JDBC URL of {@code database} through this PgBouncer. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /** Everything PgBouncer logged so far. */
  public String log() {
    synchronized (log) {
      return String.join("\n", log);
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // a temp directory left behind is harmless
    }
  }
}
