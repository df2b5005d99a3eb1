package io.queuepilot.bench;

import io.queuepilot.queue.EmbeddedDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The one real PostgreSQL server every system of a run shares (the embedded binaries), handing
 * each system a fresh database of its own.
 */
public final class BenchServer implements AutoCloseable {

  private final EmbeddedDatabase server;

  private BenchServer(EmbeddedDatabase server) {
    this.server = server;
  }

  public static BenchServer start() {
    return new BenchServer(EmbeddedDatabase.start());
  }

  /** Creates database {@code name} (dropping a leftover of the same name) and returns it. */
  public Db freshDatabase(String name) {
    if (!name.matches("[a-z][a-z0-9_]{0,62}")) {
      throw new IllegalArgumentException("bad database name: " + name);
    }
    try (Connection c = server.superuserDataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("could not create database " + name, e);
    }
    return new Db(name, server.port());
  }

  /** The server's version string. */
  public String version() {
    try (Connection c = server.superuserDataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SHOW server_version")) {
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException("could not read the server version", e);
    }
  }

  /** Settings that matter for the figures, as {@code name=value} pairs. */
  public String settings() {
    try (Connection c = server.superuserDataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                """
                SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                FROM pg_settings
                WHERE name IN ('max_connections', 'shared_buffers', 'fsync', 'synchronous_commit',
                               'full_page_writes', 'work_mem', 'autovacuum')
                """)) {
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException("could not read the server settings", e);
    }
  }

  public int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.close();
  }

  /** One database on the shared server, reachable as the superuser. */
  public record Db(String name, int port) {

    /** JDBC URL (no credentials). */
    public String jdbcUrl() {
      return "jdbc:postgresql://localhost:" + port + "/" + name;
    }

    /** libpq-style URL for the Node.js peers. */
    public String nodeUrl() {
      return "postgres://postgres:postgres@localhost:" + port + "/" + name;
    }

    public DataSource dataSource() {
      PGSimpleDataSource ds = new PGSimpleDataSource();
      ds.setServerNames(new String[] {"localhost"});
      ds.setPortNumbers(new int[] {port});
      ds.setDatabaseName(name);
      ds.setUser("postgres");
      ds.setPassword("postgres");
      return ds;
    }

    /** Runs one statement returning a single long (e.g. a count). */
    public long queryLong(String sql) {
      try (Connection c = dataSource().getConnection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(sql)) {
        rs.next();
        return rs.getLong(1);
      } catch (SQLException e) {
        throw new IllegalStateException("query failed on " + name + ": " + sql, e);
      }
    }

    /** Runs statements outside a transaction (VACUUM needs that). */
    public void execute(String... sqls) {
      try (Connection c = dataSource().getConnection();
          Statement s = c.createStatement()) {
        c.setAutoCommit(true);
        for (String sql : sqls) {
          s.execute(sql);
        }
      } catch (SQLException e) {
        throw new IllegalStateException("statement failed on " + name + ": " + String.join("; ", sqls), e);
      }
    }
  }
}
