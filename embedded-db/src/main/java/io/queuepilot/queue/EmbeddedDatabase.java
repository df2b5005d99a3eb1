package io.queuepilot.queue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import javax.sql.DataSource;

/**
 * A real PostgreSQL server run from the embedded binaries: the local default and the server
 * behind every database test. Migrations are applied exactly as in production.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  private final EmbeddedPostgres postgres;

  private EmbeddedDatabase(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  /** Starts a fresh server on a free loopback port with a throw-away data directory. */
  public static EmbeddedDatabase start() {
    return start(null);
  }

  /** Starts a server keeping its data in {@code dataDirectory} (null for a throw-away one). */
  public static EmbeddedDatabase start(Path dataDirectory) {
    try {
      EmbeddedPostgres.Builder builder =
          EmbeddedPostgres.builder()
              .setServerConfig("max_connections", "300")
              .setServerConfig("shared_buffers", "128MB")
              .setServerConfig("fsync", "off")
              .setServerConfig("synchronous_commit", "off")
              .setServerConfig("full_page_writes", "off");
      if (dataDirectory != null) {
        builder.setDataDirectory(dataDirectory).setCleanDataDirectory(false);
      }
      return new EmbeddedDatabase(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start embedded PostgreSQL", e);
    }
  }

  /** Port the server listens on (loopback). */
  public int port() {
    return postgres.getPort();
  }

  /** JDBC URL of the {@code postgres} database as superuser {@code postgres}. */
  public String jdbcUrl() {
    return postgres.getJdbcUrl("postgres", "postgres");
  }

  /** JDBC URL of database {@code dbName} (no credentials in it). */
  public String jdbcUrl(String dbName) {
    return "jdbc:postgresql://localhost:" + port() + "/" + dbName;
  }

  /** A superuser data source on the {@code postgres} database. */
  public DataSource superuserDataSource() {
    return postgres.getPostgresDatabase();
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("could not stop embedded PostgreSQL", e);
    }
  }
}
