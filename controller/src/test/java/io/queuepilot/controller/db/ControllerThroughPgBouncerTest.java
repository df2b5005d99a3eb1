package io.queuepilot.controller.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PgBouncer;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The controller's queue observation and wake-ups with a QueueScaler Secret pointing at a real
 * PgBouncer in transaction mode on an ordinary port: queue_stats keeps answering cycle after
 * cycle (no named prepared statements to collide with another client's on a shared backend), and
 * LISTEN is refused with the reason instead of "succeeding" and never waking anyone.
 */
class ControllerThroughPgBouncerTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  static PgBouncer bouncer;

  @BeforeAll
  static void start() throws Exception {
    pg.loginAs("qp_bouncer_ctl", "queue_controller");
    bouncer = PgBouncer.start(pg.port(), PgBouncer.PoolMode.TRANSACTION, List.of("qp_bouncer_ctl"));
  }

  @AfterAll
  static void stop() {
    if (bouncer != null) {
      bouncer.close();
    }
  }

  private static DatabaseCredentials throughBouncer() {
    return new DatabaseCredentials(bouncer.jdbcUrl(pg.databaseName()), "qp_bouncer_ctl", "qp_bouncer_ctl", null);
  }

  @Test
  void queueObservationKeepsWorkingCycleAfterCycle() throws Exception {
    JobQueue producer = new PostgresJobQueue(pg.superuser());
    // two controllers' pools (say, a new replica taking over) share PgBouncer's backends
    try (QueueConnections a = new QueueConnections(PostgresJobQueue::new);
        QueueConnections b = new QueueConnections(PostgresJobQueue::new)) {
      JobQueue first = a.queue(throughBouncer());
      JobQueue second = b.queue(new DatabaseCredentials(throughBouncer().url(), "qp_bouncer_ctl", "qp_bouncer_ctl", ""));
      for (int cycle = 1; cycle <= 12; cycle++) { // past the driver's prepareThreshold of 5
        producer.enqueue(JobQueue.NewJob.of("bouncer_obs", "{}", "obs-" + cycle));
        assertThat(first.stats(List.of("bouncer_obs"), List.of(), Duration.ofSeconds(60)).ready()).isEqualTo(cycle);
        assertThat(second.stats(List.of("bouncer_obs"), List.of(), Duration.ofSeconds(60)).ready()).isEqualTo(cycle);
      }
    }
  }

  @Test
  void listenThroughTheBouncerIsRefusedWithTheReason() {
    DatabaseCredentials creds = throughBouncer();
    AtomicInteger wakes = new AtomicInteger();
    try (NotificationHub hub = new NotificationHub(Duration.ofMillis(200), Duration.ofMillis(100))) {
      hub.subscribe("s", creds, List.of("bouncer_obs"), wakes::incrementAndGet);
      await().atMost(Duration.ofSeconds(20)).until(() -> hub.refusal(creds).isPresent());
      assertThat(hub.refusal(creds).orElseThrow()).contains("transaction pooler");
      assertThat(hub.listening(creds)).isFalse();
      assertThat(wakes).as("no connect, so no on-connect wake-up").hasValue(0);
    }
  }
}
