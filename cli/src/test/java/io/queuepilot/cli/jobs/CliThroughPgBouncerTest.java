package io.queuepilot.cli.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.cli.CliRun;
import io.queuepilot.cli.ExitCode;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PgBouncer;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The operator CLI pointed at a real PgBouncer in transaction mode (an ordinary port): read
 * commands work; {@code migrate} refuses with exit code 1 and says where to point it, before
 * Flyway touches anything. Through PgBouncer in session mode, {@code migrate} runs.
 */
class CliThroughPgBouncerTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  static PgBouncer transaction;
  static PgBouncer session;

  @BeforeAll
  static void start() {
    transaction = PgBouncer.start(pg.port(), PgBouncer.PoolMode.TRANSACTION, List.of("postgres"));
    session = PgBouncer.start(pg.port(), PgBouncer.PoolMode.SESSION, List.of("postgres"));
  }

  @AfterAll
  static void stop() {
    for (PgBouncer b : new PgBouncer[] {transaction, session}) {
      if (b != null) {
        b.close();
      }
    }
  }

  private static Map<String, String> env(PgBouncer b) {
    return Map.of("QUEUEPILOT_DB_URL", b.jdbcUrl(pg.databaseName()), "QUEUEPILOT_DB_USER", "postgres",
        "QUEUEPILOT_DB_PASSWORD", "postgres");
  }

  @Test
  void statsAndListWorkThroughTransactionPooling() {
    JobQueue producer = new PostgresJobQueue(pg.superuser());
    for (int i = 0; i < 8; i++) {
      producer.enqueue(JobQueue.NewJob.of("cli_bouncer", "{}", "cli-bouncer-" + i));
      CliRun stats = CliRun.run(env(transaction), "queue", "stats", "--type", "cli_bouncer", "--json");
      assertThat(stats.exitCode()).as(stats.toString()).isZero();
      assertThat(stats.out()).contains("\"ready\" : " + (i + 1));
    }
    CliRun list = CliRun.run(env(transaction), "jobs", "list", "--type", "cli_bouncer");
    assertThat(list.exitCode()).as(list.toString()).isZero();
    assertThat(list.out()).contains("cli_bouncer");
  }

  @Test
  void migrateThroughTransactionPoolingIsRefusedClearlyAndTouchesNothing() throws Exception {
    long historyBefore = historyRows();
    CliRun migrate = CliRun.run(env(transaction), "migrate");
    assertThat(migrate.exitCode()).as(migrate.toString()).isEqualTo(ExitCode.USAGE);
    assertThat(migrate.err())
        .contains("refusing to migrate through a transaction pooler")
        .contains("127.0.0.1:" + transaction.port())
        .contains("session port")
        .doesNotContain("postgres@")
        .doesNotContain("\tat ");
    assertThat(migrate.out()).isEmpty();
    assertThat(historyRows()).isEqualTo(historyBefore);
  }

  @Test
  void migrateThroughASessionPoolerRuns() {
    CliRun migrate = CliRun.run(env(session), "migrate");
    assertThat(migrate.exitCode()).as(migrate.toString()).isZero();
    assertThat(migrate.out()).startsWith("applied 0 migrations");
  }

  private static long historyRows() throws Exception {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM public.queuepilot_schema_history")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
