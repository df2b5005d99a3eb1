package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * QUEUEPILOT_DB_PREPARED_STATEMENTS=false: the whole client works and the server never holds a
 * named protocol-level prepared statement (what breaks behind a transaction pooler); with the
 * default the driver does create them, so the check can fail.
 */
class PreparedStatementsSwitchTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @BeforeAll
  static void login() throws Exception {
    pg.loginAs("ps_worker", "queue_worker");
  }

  @Test
  void withPreparedStatementsOffTheServerHoldsNoNamedStatements() throws Exception {
    assertThat(namedStatementsAfterWorkload("false", "ps_off")).isZero();
  }

  @Test
  void withTheDefaultTheDriverPreparesServerSide() throws Exception {
    assertThat(namedStatementsAfterWorkload("true", "ps_on")).isPositive();
  }

  private static long namedStatementsAfterWorkload(String prepared, String type) throws Exception {
    QueueConfig config =
        QueueConfig.from(
            Map.of(
                QueueConfig.DB_URL, pg.jdbcUrl(),
                QueueConfig.DB_USER, "ps_worker",
                QueueConfig.DB_PASSWORD, "ps_worker",
                QueueConfig.DB_POOL_SIZE, "1",
                QueueConfig.DB_PREPARED_STATEMENTS, prepared));
    try (HikariDataSource ds = QueueDataSources.pool(config, "ps-test")) {
      PostgresJobQueue queue = new PostgresJobQueue(ds);
      for (int i = 0; i < 12; i++) { // beyond the driver's default prepareThreshold of 5
        queue.enqueue(NewJob.of(type, "{}", type + "-" + i));
        List<ClaimedJob> claimed = queue.claim("w", List.of(type), List.of(), 1);
        assertThat(claimed).hasSize(1);
        assertThat(queue.heartbeat(claimed.get(0).id(), claimed.get(0).leaseToken())).isTrue();
        assertThat(queue.complete(claimed.get(0).id(), claimed.get(0).leaseToken(), "{}", 1)).isTrue();
      }
      // pool size 1: this is the very connection the workload ran on
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}
