package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PgBouncer;
import io.queuepilot.queue.testing.PgBouncer.PoolMode;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A real PgBouncer in front of the embedded server: transaction pooling is found on an ordinary
 * port (not 6543), the pool then works through it without spending anything, and a LISTEN URL
 * through it is refused instead of silently never waking anyone; a session-mode PgBouncer and a
 * direct connection are not mistaken for one.
 */
class TransactionPoolerTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static PgBouncer transaction;
  static PgBouncer session;
  static PgBouncer statement;

  @BeforeAll
  static void start() throws Exception {
    pg.loginAs("tp_worker", "queue_worker");
    List<String> users = List.of("tp_worker", "postgres");
    transaction = PgBouncer.start(pg.port(), PoolMode.TRANSACTION, users);
    session = PgBouncer.start(pg.port(), PoolMode.SESSION, users);
    statement = PgBouncer.start(pg.port(), PoolMode.STATEMENT, users);
  }

  @AfterAll
  static void stop() {
    for (PgBouncer b : new PgBouncer[] {transaction, session, statement}) {
      if (b != null) {
        b.close();
      }
    }
  }

  private static QueueConfig config(String url, Map<String, String> extra) {
    var env = new java.util.HashMap<>(Map.of(
        QueueConfig.DB_URL, url,
        QueueConfig.DB_USER, "tp_worker",
        QueueConfig.DB_PASSWORD, "tp_worker",
        QueueConfig.DB_POOL_SIZE, "3"));
    env.putAll(extra);
    return QueueConfig.from(env);
  }

  @Test
  void transactionModeOnAnOrdinaryPortIsDetected() {
    assertThat(transaction.port()).isNotEqualTo(QueueConfig.SUPABASE_TRANSACTION_POOLER_PORT);
    QueueConfig unresolved = config(transaction.jdbcUrl(pg.databaseName()), Map.of());
    assertThat(unresolved.mainUrlIsTransactionPooler()).as("nothing in the URL says pooler").isFalse();

    QueueConfig resolved = QueueDataSources.resolvePooler(unresolved, "tp-test");

    assertThat(resolved.transactionPooler()).isEqualTo(QueueConfig.TransactionPooler.YES);
    assertThat(resolved.serverPreparedStatements()).isFalse();
    assertThat(resolved.effectiveListenUrl()).isEmpty();
  }

  @Test
  void statementModeIsDetected() {
    QueueConfig resolved = QueueDataSources.resolvePooler(config(statement.jdbcUrl(pg.databaseName()), Map.of()), "tp");
    assertThat(resolved.transactionPooler()).isEqualTo(QueueConfig.TransactionPooler.YES);
  }

  @Test
  void sessionModeAndDirectConnectionsAreNotPoolers() {
    for (String url : List.of(session.jdbcUrl(pg.databaseName()), pg.jdbcUrl())) {
      QueueConfig resolved = QueueDataSources.resolvePooler(config(url, Map.of()), "tp-test");
      assertThat(resolved.transactionPooler()).as(url).isEqualTo(QueueConfig.TransactionPooler.NO);
      assertThat(resolved.serverPreparedStatements()).as(url).isTrue();
      assertThat(resolved.effectiveListenUrl()).as(url).contains(url);
    }
  }

  @Test
  void theResolvedPoolRunsTheWholeContractThroughTransactionPooling() {
    QueueConfig resolved =
        QueueDataSources.resolvePooler(config(transaction.jdbcUrl(pg.databaseName()), Map.of()), "tp-test");
    assertThat(runTwoWorkers(resolved, "tp_resolved")).isEqualTo(24);
  }

  /** The failure the probe exists for: the driver's defaults through transaction pooling break. */
  @Test
  void withoutTheProbeTheSameWorkloadFailsOnPreparedStatements() {
    QueueConfig forcedDirect = config(transaction.jdbcUrl(pg.databaseName()),
        Map.of(QueueConfig.DB_TRANSACTION_POOLER, "false"));
    QueueConfig notProbed = QueueDataSources.resolvePooler(forcedDirect, "x");
    assertThatThrownBy(() -> runTwoWorkers(notProbed, "tp_forced")).hasStackTraceContaining("prepared statement");
  }

  @Test
  void aListenUrlThroughTransactionPoolingIsRefusedNotSilentlyDead() throws Exception {
    QueueConfig c = config(pg.jdbcUrl(), Map.of(QueueConfig.DB_LISTEN_URL, transaction.jdbcUrl(pg.databaseName())));
    try (JobNotificationListener listener = JobNotificationListener.create(c, "tp-listen").orElseThrow()) {
      listener.start();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> listener.refusal().isPresent());
      assertThat(listener.refusal().orElseThrow())
          .contains("transaction pooler").contains(QueueConfig.DB_LISTEN_URL);
      assertThat(listener.connectCount()).isZero();
      assertThat(listener.isConnected()).isFalse();
    }
  }

  @Test
  void aListenUrlThroughASessionPoolerListens() {
    QueueConfig c = config(pg.jdbcUrl(), Map.of(QueueConfig.DB_LISTEN_URL, session.jdbcUrl(pg.databaseName())));
    try (JobNotificationListener listener = JobNotificationListener.create(c, "tp-listen").orElseThrow()) {
      listener.start();
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(listener::isConnected);
      assertThat(listener.refusal()).isEmpty();
    }
  }

  @Test
  void explicitSettingsSkipTheProbe() {
    QueueConfig yes = config(pg.jdbcUrl(), Map.of(QueueConfig.DB_TRANSACTION_POOLER, "true"));
    assertThat(QueueDataSources.resolvePooler(yes, "x").serverPreparedStatements()).isFalse();
    assertThatThrownBy(() -> config(pg.jdbcUrl(), Map.of(QueueConfig.DB_TRANSACTION_POOLER, "maybe")))
        .hasMessageStartingWith(QueueConfig.DB_TRANSACTION_POOLER + ": must be auto, true or false");
  }

  /**
   * Two workers' pools take turns through one PgBouncer, 12 jobs each (past the driver's
   * prepareThreshold of 5): enqueue, claim, heartbeat, complete. One after the other, both are
   * served by the same backend, where each driver names its own statements S_1, S_2, ...: what a
   * real worker fleet does to a transaction pooler. Returns the jobs completed.
   */
  private static int runTwoWorkers(QueueConfig config, String type) {
    try (HikariDataSource a = QueueDataSources.pool(config, "tp-a"); HikariDataSource b = QueueDataSources.pool(config, "tp-b")) {
      List<PostgresJobQueue> workers = List.of(new PostgresJobQueue(a), new PostgresJobQueue(b));
      int completed = 0;
      for (int i = 0; i < 12; i++) {
        for (int w = 0; w < workers.size(); w++) {
          PostgresJobQueue queue = workers.get(w);
          String t = type + "_" + w;
          queue.enqueue(NewJob.of(t, "{}", t + "-" + i));
          List<ClaimedJob> claimed = queue.claim("w" + w, List.of(t), List.of(), 1);
          assertThat(claimed).hasSize(1);
          assertThat(claimed.get(0).attempt()).as("a fresh job, first attempt").isEqualTo(1);
          assertThat(queue.heartbeat(claimed.get(0).id(), claimed.get(0).leaseToken())).isTrue();
          if (queue.complete(claimed.get(0).id(), claimed.get(0).leaseToken(), "{}", 1)) {
            completed++;
          }
        }
      }
      return completed;
    }
  }
}
