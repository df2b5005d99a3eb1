package io.queuepilot.queue.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.budget.TokenBudget.Reservation;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The shared token budget (sql/V020) on real PostgreSQL, as a queue_worker login. */
class PostgresTokenBudgetTest {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();
  private static DataSource worker;

  @BeforeAll
  static void logins() throws SQLException {
    worker = pg.loginAs("budget_worker", "queue_worker");
  }

  private static long scalar(String sql) throws SQLException {
    try (Connection c = pg.superuser().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void grantsUntilTheWindowIsFullThenSaysWhenThereIsRoomAgain() throws SQLException {
    PostgresTokenBudget budget = new PostgresTokenBudget(worker, "t1", 5);
    assertThat(budget.exists()).isFalse();
    budget.configure(1000, 100, 60);
    assertThat(budget.exists()).isTrue();

    Reservation a = budget.reserve(600, 1, null);
    Reservation b = budget.reserve(400, 1, null);
    Reservation c = budget.reserve(1, 1, null);
    assertThat(a).isInstanceOf(Reservation.Granted.class);
    assertThat(b).isInstanceOf(Reservation.Granted.class);
    assertThat(c).isInstanceOfSatisfying(Reservation.Denied.class,
        d -> assertThat(d.retryAfter()).isBetween(Duration.ofSeconds(60), Duration.ofSeconds(66)));

    // settling with the real (smaller) usage frees the difference at once
    budget.settle((Reservation.Granted) a, 150);
    assertThat(budget.reserve(400, 1, null)).isInstanceOf(Reservation.Granted.class);
    assertThat(budget.reserve(100, 1, null)).isInstanceOf(Reservation.Denied.class);
    assertThat(scalar("SELECT tokens_in_window FROM public.token_budget_status('t1')")).isEqualTo(950);
  }

  @Test
  void requestsAreLimitedToo() {
    PostgresTokenBudget budget = new PostgresTokenBudget(worker, "t2", 5);
    budget.configure(1_000_000, 2, 60);
    assertThat(budget.reserve(1, 1, null)).isInstanceOf(Reservation.Granted.class);
    assertThat(budget.reserve(1, 1, null)).isInstanceOf(Reservation.Granted.class);
    assertThat(budget.reserve(1, 1, null)).isInstanceOf(Reservation.Denied.class);
  }

  @Test
  void reservationsLeaveTheWindowAfterItsLength() {
    PostgresTokenBudget budget = new PostgresTokenBudget(worker, "t3", 0);
    budget.configure(100, 100, 1);
    Reservation.Granted g = (Reservation.Granted) budget.reserve(100, 1, null);
    budget.settle(g, 100);
    Reservation denied = budget.reserve(100, 1, null);
    assertThat(denied).isInstanceOfSatisfying(Reservation.Denied.class,
        d -> assertThat(d.retryAfter()).isBetween(Duration.ofMillis(1), Duration.ofMillis(1000)));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
        .until(() -> budget.reserve(100, 1, null) instanceof Reservation.Granted);
  }

  @Test
  void aBlockStopsEveryReplicaUntilItEnds() {
    PostgresTokenBudget one = new PostgresTokenBudget(worker, "t4", 5);
    PostgresTokenBudget other = new PostgresTokenBudget(worker, "t4", 5);
    one.configure(1000, 100, 60);
    one.block(Duration.ofSeconds(30), "openai 429");
    assertThat(other.reserve(1, 1, null)).isInstanceOfSatisfying(Reservation.Denied.class,
        d -> assertThat(d.retryAfter()).isBetween(Duration.ofSeconds(29), Duration.ofSeconds(30)));
    one.block(Duration.ofSeconds(1), "shorter blocks never shorten a longer one");
    assertThat(other.reserve(1, 1, null)).isInstanceOfSatisfying(Reservation.Denied.class,
        d -> assertThat(d.retryAfter()).isGreaterThan(Duration.ofSeconds(20)));
  }

  @Test
  void concurrentReplicasNeverOverbook() throws Exception {
    PostgresTokenBudget budget = new PostgresTokenBudget(worker, "t5", 60);
    budget.configure(10_000, 10_000, 60);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Long>> tasks = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        tasks.add(() -> {
          long granted = 0;
          for (int k = 0; k < 40; k++) {
            if (budget.reserve(100, 1, null) instanceof Reservation.Granted) {
              granted += 100;
            }
          }
          return granted;
        });
      }
      long total = 0;
      for (Future<Long> f : pool.invokeAll(tasks)) {
        total += f.get();
      }
      assertThat(total).isEqualTo(10_000); // 320 tries of 100 against 10,000: exactly 100 granted
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void nonsenseIsRejectedAndOnlyWorkersMayReserve() throws SQLException {
    PostgresTokenBudget budget = new PostgresTokenBudget(worker, "t6", 5);
    budget.configure(100, 10, 60);
    assertThatThrownBy(() -> budget.reserve(101, 1, null))
        .isInstanceOf(JobQueueException.class)
        .hasMessageStartingWith("reserve_tokens(t6) failed:")
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo(JobQueueException.INVALID_ARGUMENT))
        .rootCause().hasMessageContaining("a call of 101 tokens / 1 requests can never fit budget \"t6\" (100 tokens / 10 requests per 60 s)");
    assertThatThrownBy(() -> new PostgresTokenBudget(worker, "missing", 5).reserve(1, 1, null))
        .rootCause().hasMessageContaining("token budget \"missing\" does not exist (configure_token_budget)");

    DataSource controller = pg.loginAs("budget_controller", "queue_controller");
    assertThatThrownBy(() -> new PostgresTokenBudget(controller, "t6", 5).reserve(1, 1, null))
        .rootCause().hasMessageContaining("permission denied for function reserve_tokens");
    try (Connection c = worker.getConnection(); Statement s = c.createStatement()) {
      assertThatThrownBy(() -> s.executeQuery("SELECT * FROM public.token_budget"))
          .hasMessageContaining("permission denied");
    }
  }
}
