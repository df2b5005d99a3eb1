package io.queuepilot.queue.sql;

import io.queuepilot.queue.JobQueueException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The one JDBC helper of queue/'s SQL clients: bound parameters, row mappers, a transaction
 * helper, and every {@link SQLException} wrapped as a {@link JobQueueException} naming the
 * operation (with its SQLSTATE). No ORM: each client keeps its SQL as text blocks.
 *
 * <p>Parameters are bound in order with {@code setObject}; an {@link Instant} is sent as a
 * {@code timestamptz}, a {@link #textArray text array} as {@code text[]}, and a {@code null} as an
 * untyped NULL (cast it in the SQL, {@code ?::integer}) or a {@link #nullOf typed NULL}.
 */
public final class Jdbc {

  /** Reads one row of a result set (the cursor is on that row). */
  @FunctionalInterface
  public interface RowMapper<T> {
    T map(ResultSet row) throws SQLException;
  }

  /** Work on one connection inside a transaction; an exception rolls it back. */
  @FunctionalInterface
  public interface TransactionWork<T> {
    T run(Session tx) throws SQLException;
  }

  /** A NULL of a given {@link Types} code, for a parameter the SQL does not cast. */
  public record Null(int sqlType) {}

  /** A {@code text[]} parameter; null or empty binds NULL (the SQL functions' "any"). */
  public record TextArray(List<String> values) {}

  private final DataSource dataSource;

  public Jdbc(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  public DataSource dataSource() {
    return dataSource;
  }

  /** A typed NULL parameter. */
  public static Null nullOf(int sqlType) {
    return new Null(sqlType);
  }

  /** A {@code text[]} parameter (NULL when {@code values} is null or empty). */
  public static TextArray textArray(Collection<String> values) {
    return new TextArray(values == null ? null : List.copyOf(values));
  }

  /** The row {@code sql} returns, mapped; fails (naming {@code operation}) when it returns none. */
  public <T> T queryOne(String operation, String sql, RowMapper<T> mapper, Object... params) {
    return withConnection(operation, s -> s.queryOne(sql, mapper, params));
  }

  /** The first row {@code sql} returns, mapped, or empty. */
  public <T> Optional<T> queryOptional(String operation, String sql, RowMapper<T> mapper, Object... params) {
    return withConnection(operation, s -> s.queryOptional(sql, mapper, params));
  }

  /** Every row {@code sql} returns, mapped, in order. */
  public <T> List<T> queryList(String operation, String sql, RowMapper<T> mapper, Object... params) {
    return withConnection(operation, s -> s.queryList(sql, mapper, params));
  }

  /** Runs an INSERT/UPDATE/DELETE (or a function call whose result is not needed); returns the row count. */
  public int update(String operation, String sql, Object... params) {
    return withConnection(operation, s -> s.update(sql, params));
  }

  /** Runs statements without parameters (DDL, {@code DO} blocks) on one connection. */
  public void execute(String operation, String... statements) {
    withConnection(operation, s -> {
      for (String sql : statements) {
        s.execute(sql);
      }
      return null;
    });
  }

  /** Runs {@code work} in one transaction on one connection: committed when it returns, rolled back when it throws. */
  public <T> T inTransaction(String operation, TransactionWork<T> work) {
    return withConnection(operation, s -> transaction(s.connection(), work));
  }

  /**
   * Runs {@code work} in one transaction on the caller's open connection (which it leaves in
   * auto-commit afterwards); {@link SQLException}s propagate unwrapped, for callers that measure
   * or classify them themselves.
   */
  public static <T> T transaction(Connection c, TransactionWork<T> work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    c.setAutoCommit(false);
    try {
      T result = work.run(new Session(c));
      c.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      try {
        c.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback);
      }
      throw e;
    } finally {
      c.setAutoCommit(autoCommit);
    }
  }

  private <T> T withConnection(String operation, TransactionWork<T> work) {
    try (Connection c = dataSource.getConnection()) {
      return work.run(new Session(c));
    } catch (SQLException e) {
      throw new JobQueueException(operation, e);
    }
  }

  /** Statements on one open connection (inside {@link #inTransaction}); they throw {@link SQLException} as is. */
  public static final class Session {

    private final Connection connection;

    Session(Connection connection) {
      this.connection = connection;
    }

    /** The connection, for what this class does not cover (COPY, batches). */
    public Connection connection() {
      return connection;
    }

    public <T> T queryOne(String sql, RowMapper<T> mapper, Object... params) throws SQLException {
      return queryOptional(sql, mapper, params)
          .orElseThrow(() -> new SQLException("no row returned by: " + firstLine(sql), "P0002"));
    }

    public <T> Optional<T> queryOptional(String sql, RowMapper<T> mapper, Object... params) throws SQLException {
      try (PreparedStatement ps = prepare(sql, params);
          ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.ofNullable(mapper.map(rs)) : Optional.empty();
      }
    }

    public <T> List<T> queryList(String sql, RowMapper<T> mapper, Object... params) throws SQLException {
      try (PreparedStatement ps = prepare(sql, params);
          ResultSet rs = ps.executeQuery()) {
        List<T> rows = new ArrayList<>();
        while (rs.next()) {
          rows.add(mapper.map(rs));
        }
        return rows;
      }
    }

    public int update(String sql, Object... params) throws SQLException {
      try (PreparedStatement ps = prepare(sql, params)) {
        if (ps.execute()) {
          return 0; // a SELECT of a void function: nothing updated here
        }
        return ps.getUpdateCount();
      }
    }

    /** A statement without parameters ({@code SET LOCAL ...}, DDL). */
    public void execute(String sql) throws SQLException {
      try (Statement s = connection.createStatement()) {
        s.execute(sql);
      }
    }

    private PreparedStatement prepare(String sql, Object... params) throws SQLException {
      PreparedStatement ps = connection.prepareStatement(sql);
      try {
        for (int i = 0; i < params.length; i++) {
          bind(ps, i + 1, params[i]);
        }
        return ps;
      } catch (SQLException | RuntimeException e) {
        ps.close();
        throw e;
      }
    }

    private void bind(PreparedStatement ps, int index, Object value) throws SQLException {
      switch (value) {
        case null -> ps.setNull(index, Types.OTHER);
        case Null n -> ps.setNull(index, n.sqlType());
        case Instant i -> ps.setObject(index, OffsetDateTime.ofInstant(i, ZoneOffset.UTC));
        case TextArray a -> {
          if (a.values() == null || a.values().isEmpty()) {
            ps.setNull(index, Types.ARRAY);
          } else {
            ps.setArray(index, connection.createArrayOf("text", a.values().toArray()));
          }
        }
        default -> ps.setObject(index, value);
      }
    }
  }

  /** {@code ts} as an instant, null stays null. */
  public static Instant instant(Timestamp ts) {
    return ts == null ? null : ts.toInstant();
  }

  /** A nullable integer column ({@code getInt} reads NULL as 0). */
  public static Integer nullableInt(ResultSet rs, String column) throws SQLException {
    int v = rs.getInt(column);
    return rs.wasNull() ? null : v;
  }

  private static String firstLine(String sql) {
    return sql.strip().lines().findFirst().orElse("");
  }
}
