package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * The LISTEN connection's sockets: pgjdbc's after-notification peek is answered at once (no 1 ms
 * wait per wake-up), and no notification is lost or reordered by it.
 */
class PromptPeekSocketFactoryTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static QueueConfig config;

  @BeforeAll
  static void login() throws Exception {
    pg.loginAs("peek_worker", "queue_worker");
    config = QueueConfig.from(Map.of(QueueConfig.DB_URL, pg.jdbcUrl(),
        QueueConfig.DB_USER, "peek_worker", QueueConfig.DB_PASSWORD, "peek_worker"));
  }

  @Test
  void everyNotificationArrivesInOrderAndTheAfterNotificationPeekDoesNotWait() throws Exception {
    int sent = 300;
    List<String> received = new ArrayList<>();
    int returnsWithNotifications = 0;
    long peeksBefore = PromptPeekSocketFactory.promptPeeks();
    try (Connection listen = QueueDataSources.openListenConnection(config.url(), config, "peek-test");
        Connection notify = pg.dataSource("peek_worker", "peek_worker").getConnection()) {
      try (Statement s = listen.createStatement()) {
        s.execute("LISTEN peek_test");
      }
      PGConnection pgListen = listen.unwrap(PGConnection.class);
      try (Statement s = notify.createStatement()) {
        for (int i = 0; i < sent; i++) {
          s.execute("NOTIFY peek_test, '" + i + "'"); // its own transaction: one message each
          if (i % 3 == 0) { // now and then wait for what is in flight, as the listener does
            PGNotification[] got = pgListen.getNotifications(500);
            if (got != null && got.length > 0) {
              returnsWithNotifications++;
              for (PGNotification n : got) received.add(n.getParameter());
            }
          }
        }
      }
      while (received.size() < sent) {
        PGNotification[] got = pgListen.getNotifications(5_000);
        assertThat(got).as("notification %d of %d arrives", received.size() + 1, sent).isNotNull().isNotEmpty();
        returnsWithNotifications++;
        for (PGNotification n : got) received.add(n.getParameter());
      }
    }
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < sent; i++) expected.add(Integer.toString(i));
    assertThat(received).as("nothing lost, nothing reordered").isEqualTo(expected);
    // pgjdbc peeks once after the notifications it read before returning them; each peek that
    // found nothing pending was answered at once instead of after SO_TIMEOUT = 1 ms
    assertThat(PromptPeekSocketFactory.promptPeeks() - peeksBefore)
        .as("after-notification peeks answered without the 1 ms wait").isGreaterThanOrEqualTo(returnsWithNotifications);
  }
}
