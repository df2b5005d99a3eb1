package io.queuepilot.controller.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** LISTEN/NOTIFY wake-ups on a real PostgreSQL: job-type filter, reconnect wake, burst throttling. */
class NotificationHubTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static final Duration GAP = Duration.ofMillis(200);

  @Test
  void wakesMatchingSubscribersOnConnectAndOnNotifyAndThrottlesBursts() throws Exception {
    pg.loginAs("qp_hub", "queue_controller");
    DatabaseCredentials creds = new DatabaseCredentials(pg.jdbcUrl(), "qp_hub", "qp_hub", null);
    JobQueue producer = new PostgresJobQueue(pg.superuser());
    List<Long> extraction = new CopyOnWriteArrayList<>();
    // per wake of "a": how many NOTIFYs the hub had received when it ran (a wake that follows the
    // last NOTIFY sees all of them; no clock comparison with the producer thread involved)
    List<Long> seenAtWake = new CopyOnWriteArrayList<>();
    List<Long> other = new CopyOnWriteArrayList<>();
    try (NotificationHub hub = new NotificationHub(Duration.ofMillis(200), GAP)) {
      hub.subscribe("a", creds, List.of("hub_extraction"), () -> {
        seenAtWake.add(hub.notificationsReceived());
        extraction.add(System.nanoTime());
      });
      hub.subscribe("b", creds, List.of("hub_other"), () -> other.add(System.nanoTime()));
      await().atMost(Duration.ofSeconds(10)).until(() -> hub.listening(creds));
      await().atMost(Duration.ofSeconds(10)).until(() -> extraction.size() == 1 && other.size() == 1); // on connect

      producer.enqueue(JobQueue.NewJob.of("hub_extraction", "{}", "hub:" + UUID.randomUUID()));
      await().atMost(Duration.ofSeconds(10)).until(() -> extraction.size() == 2);
      assertThat(other).as("job type filter").hasSize(1);

      long start = System.nanoTime();
      for (int i = 0; i < 200; i++) {
        producer.enqueue(JobQueue.NewJob.of("hub_extraction", "{}", "hub:" + UUID.randomUUID()));
      }
      // The trailing wake-up: one that ran after the hub had received all 201 NOTIFYs. (Comparing
      // the wake's time with a timestamp taken after the last enqueue returned raced: the listener
      // may receive the last NOTIFY and wake before the producer thread reads its clock.)
      await().atMost(Duration.ofSeconds(10)).until(() -> seenAtWake.getLast() >= 201);
      int burstWakes = extraction.size() - 2;
      // the span over which NOTIFYs were delivered and woke "a": from the first enqueue to the
      // trailing wake (delivery may lag the last commit under load)
      long burstMillis = (extraction.getLast() - start) / 1_000_000;
      // 200 NOTIFYs; at most one wake per gap (plus the trailing one), and at least the trailing one.
      assertThat(burstWakes).isBetween(1, (int) (burstMillis / GAP.toMillis()) + 2);
      assertThat(hub.notificationsReceived()).isGreaterThanOrEqualTo(201);
      assertThat(other).hasSize(1);
    }
  }
}
