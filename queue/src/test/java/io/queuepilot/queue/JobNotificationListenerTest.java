package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** LISTEN/NOTIFY wake-ups over a dedicated connection, reconnect, and the polling-only fallback. */
class JobNotificationListenerTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static QueueConfig config;

  @BeforeAll
  static void login() throws Exception {
    pg.loginAs("listen_worker", "queue_worker");
    config =
        QueueConfig.from(
            Map.of(
                QueueConfig.DB_URL, pg.jdbcUrl(),
                QueueConfig.DB_USER, "listen_worker",
                QueueConfig.DB_PASSWORD, "listen_worker"));
  }

  @Test
  void readyJobsWakeTheListenerByJobTypeAndFutureJobsDoNot() throws Exception {
    PostgresJobQueue queue = new PostgresJobQueue(pg.dataSource("listen_worker", "listen_worker"));
    BlockingQueue<String> any = new LinkedBlockingQueue<>();
    BlockingQueue<String> extraction = new LinkedBlockingQueue<>();
    AtomicInteger connects = new AtomicInteger();
    try (JobNotificationListener listener = JobNotificationListener.create(config, "notify-test").orElseThrow()) {
      listener.onAnyJob(any::add).onJobType("document_extraction", extraction::add).onConnect(connects::incrementAndGet);
      listener.start();
      await().atMost(Duration.ofSeconds(30)).until(listener::isConnected);
      // the callbacks run on the listening thread just after the connection is published
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(connects.get()).isEqualTo(1));

      queue.enqueue(new NewJob("later_job", null, "{}", "n-future", null, null, null, null,
          Instant.now().plusSeconds(3600), null, null));
      queue.enqueue(NewJob.of("document_extraction", "{}", "n-ready"));
      queue.enqueue(NewJob.of("document_extraction", "{}", "n-ready")); // idempotent repeat: no new job, no wake-up
      queue.enqueue(NewJob.of("thumbnail", "{}", "n-thumb"));

      // notifications arrive in commit order: the future job, enqueued first, was not announced
      assertThat(any.poll(30, TimeUnit.SECONDS)).isEqualTo("document_extraction");
      assertThat(any.poll(30, TimeUnit.SECONDS)).isEqualTo("thumbnail");
      assertThat(extraction.poll(30, TimeUnit.SECONDS)).isEqualTo("document_extraction");
      assertThat(extraction).isEmpty();
      assertThat(listener.receivedCount()).isEqualTo(2);
    }
  }

  @Test
  void reconnectsAfterTheConnectionIsKilledAndKeepsDelivering() throws Exception {
    PostgresJobQueue queue = new PostgresJobQueue(pg.superuser());
    Db su = new Db(pg.superuser());
    BlockingQueue<String> any = new LinkedBlockingQueue<>();
    AtomicInteger connects = new AtomicInteger();
    try (JobNotificationListener listener = JobNotificationListener.create(config, "reconnect-test").orElseThrow()) {
      listener.onAnyJob(any::add).onConnect(connects::incrementAndGet).start();
      await().atMost(Duration.ofSeconds(30)).until(listener::isConnected);

      Integer pid = su.value("SELECT pid FROM pg_stat_activity WHERE application_name = 'reconnect-test-listen'");
      assertThat((boolean) su.value("SELECT pg_terminate_backend(?)", pid)).isTrue();
      await().atMost(Duration.ofSeconds(30)).until(() -> listener.connectCount() == 2 && listener.isConnected());
      assertThat(listener.failureCount()).isEqualTo(1);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(
          () -> assertThat(connects.get()).as("callers are told to poll after a reconnect").isEqualTo(2));

      queue.enqueue(NewJob.of("after_reconnect", "{}", "n-after"));
      assertThat(any.poll(30, TimeUnit.SECONDS)).isEqualTo("after_reconnect");
    }
  }

  @Test
  void onlyATransactionPoolerConfiguredMeansPollingOnly() {
    QueueConfig pooler =
        QueueConfig.from(
            Map.of(
                QueueConfig.DB_URL, "jdbc:postgresql://aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
                QueueConfig.DB_PREPARED_STATEMENTS, "false"));
    assertThat(JobNotificationListener.create(pooler, "x")).isEmpty();

    QueueConfig poolerWithDirect =
        QueueConfig.from(
            Map.of(
                QueueConfig.DB_URL, "jdbc:postgresql://aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
                QueueConfig.DB_PREPARED_STATEMENTS, "false",
                QueueConfig.DB_LISTEN_URL, "jdbc:postgresql://db.abcdefgh.supabase.co:5432/postgres"));
    assertThat(poolerWithDirect.effectiveListenUrl()).contains("jdbc:postgresql://db.abcdefgh.supabase.co:5432/postgres");
    assertThat(JobNotificationListener.create(poolerWithDirect, "x")).isPresent();
  }
}
