package io.queuepilot.queue.testing;

import io.queuepilot.queue.EmbeddedDatabase;
import io.queuepilot.queue.Migrations;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
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
 * <p>By default the server is a {@link SupabaseCluster}: the roles, schemas and default
 * privileges of a hosted Supabase project, with the migrations applied as the non-superuser
 * {@code postgres} exactly as the runbook does ({@code queuepilot migrate}). {@link #superuser()}
 * is the cluster's real superuser, for test fixtures that need powers no Supabase customer has;
 * {@link #migrationRole()} is {@code postgres}. {@link #plainPostgres} gives a database on a
 * separate plain PostgreSQL server (no Supabase roles or schemas; bootstrap superuser
 * {@code postgres} migrates), for the compatibility migration's other half.
 *
 * <p>Use as {@code @RegisterExtension static PostgresExtension pg = new PostgresExtension();}
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {

  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static volatile SupabaseCluster server;
  private static volatile EmbeddedDatabase plainServer;

  private final boolean migrate;
  private final boolean plain;
  private String databaseName;
  private PGSimpleDataSource superuser;
  private PGSimpleDataSource migrationRole;

  public PostgresExtension() {
    this(true);
  }

  /** {@code migrate=false} gives an empty Supabase project database, for tests of the migrations themselves. */
  public PostgresExtension(boolean migrate) {
    this(migrate, false);
  }

  private PostgresExtension(boolean migrate, boolean plain) {
    this.migrate = migrate;
    this.plain = plain;
  }

  /** A database on plain PostgreSQL (no Supabase roles, schemas or default privileges). */
  public static PostgresExtension plainPostgres(boolean migrate) {
    return new PostgresExtension(migrate, true);
  }

  /** The shared Supabase-like server, started on first use and stopped when the JVM exits. */
  public static synchronized SupabaseCluster server() {
    if (server == null) {
      server = SupabaseCluster.start();
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "embedded-pg-stop"));
    }
    return server;
  }

  private static synchronized EmbeddedDatabase plainServer() {
    if (plainServer == null) {
      plainServer = EmbeddedDatabase.start();
      Runtime.getRuntime().addShutdownHook(new Thread(plainServer::close, "embedded-plain-pg-stop"));
    }
    return plainServer;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws SQLException {
    databaseName = "t" + DATABASES.incrementAndGet() + "_" + ProcessHandle.current().pid();
    if (plain) {
      try (Connection c = plainServer().superuserDataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE " + databaseName);
      }
      superuser = dataSource("postgres", "postgres");
      migrationRole = superuser;
    } else {
      server().createProjectDatabase(databaseName);
      superuser = dataSource(SupabaseCluster.SUPERUSER, SupabaseCluster.SUPERUSER);
      migrationRole = dataSource(SupabaseCluster.MIGRATION_ROLE, "postgres");
    }
    if (migrate) {
      Migrations.migrate(migrationRole);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    // Databases are left for the JVM's lifetime; the server and its data directory go at exit.
  }

  /**
   * Data source connecting as the cluster's superuser to this class's database: for fixtures
   * only (seeding rows, test-only triggers, creating logins). On Supabase nobody but Supabase
   * has it; what an operator can do is {@link #migrationRole()}.
   */
  public DataSource superuser() {
    return superuser;
  }

  /**
   * The role that ran the migrations and owns the project's objects: the non-superuser
   * {@code postgres} of a Supabase project (the bootstrap superuser on {@link #plainPostgres}).
   */
  public DataSource migrationRole() {
    return migrationRole;
  }

  /**
   * Applies the migrations up to {@code version} only, as the migration role — an upgrade test's
   * starting schema — and fails unless the database is then at exactly that version.
   */
  public void migrateTo(String version) {
    org.flywaydb.core.api.output.MigrateResult result = org.flywaydb.core.Flyway.configure()
        .configuration(Migrations.flyway(migrationRole).getConfiguration()).target(version).load().migrate();
    org.flywaydb.core.api.MigrationVersion wanted = org.flywaydb.core.api.MigrationVersion.fromVersion(version);
    if (!result.success || result.targetSchemaVersion == null
        || !org.flywaydb.core.api.MigrationVersion.fromVersion(result.targetSchemaVersion).equals(wanted)) {
      throw new IllegalStateException("migrating to V" + version + " ended at V" + result.targetSchemaVersion
          + " (success " + result.success + ")");
    }
  }

  /** True for a database on a plain PostgreSQL server. */
  public boolean isPlainPostgres() {
    return plain;
  }

  /** Data source connecting as {@code user} to this class's database. */
  public PGSimpleDataSource dataSource(String user, String password) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {"localhost"});
    ds.setPortNumbers(new int[] {port()});
    ds.setDatabaseName(databaseName);
    ds.setUser(user);
    ds.setPassword(password);
    return ds;
  }

  /** JDBC URL of this class's database. */
  public String jdbcUrl() {
    return "jdbc:postgresql://localhost:" + port() + "/" + databaseName;
  }

  public String databaseName() {
    return databaseName;
  }

  public int port() {
    return plain ? plainServer().port() : server().port();
  }

  /**
   * Signs users up in {@code auth.users} (on Supabase, user_profiles and
   * profile_access_permissions reference it); nothing on plain PostgreSQL, which has no auth.users.
   */
  public void createAuthUsers(UUID... users) throws SQLException {
    if (!plain) {
      SupabaseCluster.createAuthUsers(superuser, users);
    }
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
