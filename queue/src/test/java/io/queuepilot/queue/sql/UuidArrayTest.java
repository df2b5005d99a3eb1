package io.queuepilot.queue.sql;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.QueueConfig;
import io.queuepilot.queue.QueueDataSources;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.core.BaseConnection;

/**
 * {@link UuidArray} against the real server: its binary form is byte for byte what PostgreSQL's own
 * {@code array_send} writes for the same array (empty, with NULLs, 1,000 ids); the queue's pooled
 * connections send it binary and a plain connection as a text literal, and both arrive as the
 * same {@code uuid[]}, in order.
 */
class UuidArrayTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final List<List<UUID>> ARRAYS = List.of(
      List.of(),
      List.of(UUID.fromString("00000000-0000-0000-0000-000000000000")),
      List.of(UUID.fromString("ffffffff-ffff-ffff-ffff-ffffffffffff"), UUID.fromString("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")),
      Arrays.asList(UUID.randomUUID(), null, UUID.randomUUID()),
      thousandIds());

  private static List<UUID> thousandIds() {
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      ids.add(UUID.randomUUID());
    }
    return ids;
  }

  /** The text literal PostgreSQL itself would parse, built without the class under test. */
  private static String literal(List<UUID> ids) {
    return ids.stream().map(id -> id == null ? "NULL" : id.toString())
        .collect(java.util.stream.Collectors.joining(",", "{", "}"));
  }

  @Test
  void theBinaryFormIsWhatPostgresArraySendWrites() throws Exception {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.array_send(?::text::uuid[])")) {
      for (List<UUID> ids : ARRAYS) {
        ps.setString(1, literal(ids));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          UuidArray array = UuidArray.of(ids);
          byte[] ours = new byte[array.lengthInBytes()];
          array.toBytes(ours, 0);
          assertThat(ours).as("%d ids", ids.size()).isEqualTo(rs.getBytes(1));
        }
      }
    }
  }

  @Test
  void thePooledConnectionsSendItBinaryAndAPlainOneAsTextBothArriveIntact() throws Exception {
    pg.loginAs("uuid_array", "queue_worker");
    QueueConfig config = QueueConfig.from(java.util.Map.of(
        QueueConfig.DB_URL, pg.jdbcUrl(), QueueConfig.DB_USER, "uuid_array", QueueConfig.DB_PASSWORD, "uuid_array"));
    try (HikariDataSource pool = QueueDataSources.pool(config, "uuid-array-test")) {
      try (Connection c = pool.getConnection()) {
        assertThat(c.unwrap(BaseConnection.class).binaryTransferSend(2951))
            .as("the queue's pool sends uuid[] in binary").isTrue();
      }
      arrivesIntact(pool);
    }
    try (Connection c = pg.superuser().getConnection()) {
      assertThat(c.unwrap(BaseConnection.class).binaryTransferSend(2951)).as("a plain connection sends text").isFalse();
    }
    arrivesIntact(pg.superuser());
  }

  private static void arrivesIntact(DataSource ds) throws Exception {
    // six runs: pgjdbc names the statement on the fifth, so both its unnamed and named paths are covered
    for (int run = 0; run < 6; run++) {
      for (List<UUID> ids : ARRAYS) {
        try (Connection c = ds.getConnection();
            PreparedStatement ps = c.prepareStatement(
                "SELECT ?::uuid[] IS NOT DISTINCT FROM ?::text::uuid[], pg_catalog.cardinality(?::uuid[])")) {
          ps.setObject(1, UuidArray.of(ids));
          ps.setString(2, literal(ids));
          ps.setObject(3, UuidArray.of(ids));
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertThat(rs.getBoolean(1)).as("%d ids, run %d", ids.size(), run).isTrue();
            assertThat(rs.getInt(2)).isEqualTo(ids.size());
          }
        }
      }
    }
  }
}
