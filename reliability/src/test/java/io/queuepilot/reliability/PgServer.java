package io.queuepilot.reliability;

import io.queuepilot.testkit.WorkerProcess;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A real PostgreSQL server (the embedded binaries) with a data directory that survives a
 * {@link #restart()}: the "PostgreSQL restarted mid-run" fault. Always on the same port, so
 * direct connections (the suite's controller stand-in, the checker) reconnect after a restart.
 */
public final class PgServer implements AutoCloseable {

  private final Path dataDir;
  private final int port;
  private EmbeddedPostgres postgres;

  private PgServer(Path dataDir, int port) {
    this.dataDir = dataDir;
    this.port = port;
  }

  /** Initialises a fresh cluster in {@code dataDir} and starts it. */
  public static PgServer start(Path dataDir) {
    PgServer s = new PgServer(dataDir, WorkerProcess.freePort());
    s.boot(false); // never "clean": zonky deletes a clean data directory on close, which a restart needs
    return s;
  }

  private void boot(boolean clean) {
    try {
      postgres =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDir)
              .setCleanDataDirectory(clean)
              .setPort(port)
              .setPGStartupWait(Duration.ofSeconds(60))
              .setServerConfig("max_connections", "300")
              .setServerConfig("shared_buffers", "64MB")
              .setServerConfig("fsync", "off")
              .setServerConfig("synchronous_commit", "off")
              .setServerConfig("full_page_writes", "off")
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start embedded PostgreSQL in " + dataDir, e);
    }
  }

  /** Stops the server (fast shutdown: sessions are terminated) and starts it on the same data. */
  public synchronized void restart() {
    stop();
    boot(false);
  }

  /** Starts the stopped server again on its data directory and port. */
  public synchronized void start() {
    if (postgres == null) {
      boot(false);
    }
  }

  /** Stops the server, keeping its data directory. */
  public synchronized void stop() {
    if (postgres == null) {
      return;
    }
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("could not stop embedded PostgreSQL", e);
    }
    postgres = null;
  }

  public int port() {
    return port;
  }

  public String jdbcUrl(int viaPort) {
    return "jdbc:postgresql://127.0.0.1:" + viaPort + "/postgres";
  }

  /** A direct data source (not through any proxy). */
  public PGSimpleDataSource dataSource(String user, String password) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {"127.0.0.1"});
    ds.setPortNumbers(new int[] {port});
    ds.setDatabaseName("postgres");
    ds.setUser(user);
    ds.setPassword(password);
    ds.setConnectTimeout(5);
    ds.setSocketTimeout(60);
    return ds;
  }

  public PGSimpleDataSource superuser() {
    return dataSource("postgres", "postgres");
  }

  @Override
  public synchronized void close() {
    stop();
  }
}
