package io.queuepilot.worker;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.UUID;
import javax.sql.DataSource;

/** {@link WriteBack} through {@code public.write_back_extraction} (sql/V014), the worker's only clinical write. */
public final class PostgresWriteBack implements WriteBack {

  private static final String WRITE_BACK =
      "SELECT public.write_back_extraction(?::uuid, ?::uuid, ?::jsonb, ?::jsonb, ?::integer)";

  private final DataSource dataSource;

  public PostgresWriteBack(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Override
  public boolean writeBack(UUID jobId, UUID leaseToken, String documentJson, String eventsJson, Integer tokensUsed)
      throws SQLException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(WRITE_BACK)) {
      ps.setObject(1, jobId);
      ps.setObject(2, leaseToken);
      ps.setString(3, documentJson);
      ps.setString(4, eventsJson);
      if (tokensUsed == null) {
        ps.setNull(5, Types.INTEGER);
      } else {
        ps.setInt(5, tokensUsed);
      }
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("write_back_extraction returned no row");
        }
        return rs.getBoolean(1);
      }
    }
  }
}
