package io.queuepilot.queue.testing;

import io.queuepilot.queue.EmbeddedDatabase;
import io.queuepilot.queue.Migrations;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * JUnit extension giving each test class its own freshly migrated database on one real
 * embedded PostgreSQL server shared by the whole test JVM.
 *
 * <p>Use as {@code @RegisterExtension static PostgresExtension pg = new PostgresExtension();}
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {

  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static volatile EmbeddedDatabase server;

  private final boolean migrate;
  private String databaseName;
  private PGSimpleDataSource superuser;

  public PostgresExtension() {
    this(true);
  }

  /** {@code migrate=false} gives an empty database, for tests of the migrations themselves. */
  public PostgresExtension(boolean migrate) {
    this.migrate = migrate;
  }

  /** The shared server, started on first use and stopped when the JVM exits. */
  public static synchronized EmbeddedDatabase server() {
    if (server == null) {
      server = EmbeddedDatabase.start();
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "embedded-pg-stop"));
    }
    return server;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws SQLException {
    EmbeddedDatabase pg = server();
    databaseName = "t" + DATABASES.incrementAndGet() + "_" + ProcessHandle.current().pid();
    try (Connection c = pg.superuserDataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + databaseName);
    }
    superuser = dataSource("postgres", "postgres");
    if (migrate) {
      Migrations.migrate(superuser);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    // Databases are left for the JVM's lifetime; the server and its data directory go at exit.
  }

  /** Data source connecting as the superuser to this class's database. */
  public DataSource superuser() {
    return superuser;
  }

  /** Data source connecting as {@code user} to this class's database. */
  public PGSimpleDataSource dataSource(String user, String password) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {"localhost"});
    ds.setPortNumbers(new int[] {server().port()});
    ds.setDatabaseName(databaseName);
    ds.setUser(user);
    ds.setPassword(password);
    return ds;
  }

  /** JDBC URL of this class's database. */
  public String jdbcUrl() {
    return server().jdbcUrl(databaseName);
  }

  public String databaseName() {
    return databaseName;
  }

  public int port() {
    return server().port();
  }

  /**
   * Creates (once per server) a LOGIN role that is a member of {@code groupRole} and returns a
   * data source logging in as it, e.g. {@code loginAs("worker_a", "queue_worker")}.
   */
  public DataSource loginAs(String user, String groupRole) throws SQLException {
    try (Connection c = superuser.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          """
          DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%1$s') THEN
              CREATE ROLE %1$s LOGIN PASSWORD '%1$s';
            END IF;
          END $$;
          GRANT %2$s TO %1$s;
          """
              .formatted(user, groupRole));
    }
    return dataSource(user, user);
  }
}
