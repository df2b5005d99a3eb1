package io.queuepilot.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

/** Small JDBC helper for tests: runs SQL with bound parameters and returns plain values. */
final class Db {

  private final DataSource dataSource;

  Db(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  /** Executes {@code sql} and returns the rows as column-name → value maps (timestamps as Instant). */
  List<Map<String, Object>> rows(String sql, Object... params) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      List<Map<String, Object>> rows = new ArrayList<>();
      if (!ps.execute()) {
        return rows;
      }
      try (ResultSet rs = ps.getResultSet()) {
        int n = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          Map<String, Object> row = new LinkedHashMap<>();
          for (int i = 1; i <= n; i++) {
            Object v = rs.getObject(i);
            row.put(rs.getMetaData().getColumnLabel(i), v instanceof java.sql.Timestamp ts ? ts.toInstant() : v);
          }
          rows.add(row);
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /** The single value of a one-row, one-column query. */
  @SuppressWarnings("unchecked")
  <T> T value(String sql, Object... params) {
    List<Map<String, Object>> rows = rows(sql, params);
    if (rows.size() != 1 || rows.get(0).size() != 1) {
      throw new IllegalStateException("expected one value from " + sql + ", got " + rows);
    }
    return (T) rows.get(0).values().iterator().next();
  }

  long count(String sql, Object... params) {
    return ((Number) value(sql, params)).longValue();
  }

  void exec(String sql, Object... params) {
    rows(sql, params);
  }

  /** Runs {@code sql} and returns the SQLException it raised, or null when it succeeded. */
  static SQLException failure(DataSource ds, String sql, Object... params) {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      ps.execute();
      return null;
    } catch (SQLException e) {
      return e;
    }
  }
}
