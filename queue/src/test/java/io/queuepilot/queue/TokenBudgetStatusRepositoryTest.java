package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Instant;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The controller reads the shared budget as a {@code queue_controller} login, on the production
 * migrations: the row's limits, what live reservations hold, calls in flight and a block.
 */
class TokenBudgetStatusRepositoryTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @Test
  void theControllerReadsLimitsReservationsAndBlocksOfTheNamedBudget() throws Exception {
    Db su = new Db(pg.superuser());
    su.exec("SELECT public.configure_token_budget('scaler_read', 1000000, 5000, 60)");
    // two calls: one settled at 1800 tokens, one in flight with its 2500-token estimate
    su.exec("SELECT public.settle_tokens((SELECT reservation_id FROM public.reserve_tokens('scaler_read', 2000, 1)), 1800)");
    su.exec("SELECT reservation_id FROM public.reserve_tokens('scaler_read', 2500, 1)");
    DataSource controller = pg.loginAs("budget_reader", "queue_controller");
    TokenBudgetStatusRepository repo = new TokenBudgetStatusRepository(controller);

    TokenBudgetStatusRepository.Row row = repo.status("scaler_read").orElseThrow();
    assertThat(row.tokensPerWindow()).isEqualTo(1_000_000);
    assertThat(row.requestsPerWindow()).isEqualTo(5_000);
    assertThat(row.windowSeconds()).isEqualTo(60);
    assertThat(row.tokensInWindow()).isEqualTo(1_800 + 2_500);
    assertThat(row.requestsInWindow()).isEqualTo(2);
    assertThat(row.inFlight()).isEqualTo(1);
    assertThat(row.blockedUntil()).isNull();

    su.exec("SELECT public.block_token_budget('scaler_read', 30000, 'openai 429')");
    assertThat(repo.status("scaler_read").orElseThrow().blockedUntil()).isAfter(Instant.now());

    assertThat(repo.status("no_such_budget")).isEmpty();
  }

  @Test
  void aRoleWithoutTheGrantGetsAClearError() throws Exception {
    DataSource anon = pg.loginAs("budget_anon", "anon");
    assertThatThrownBy(() -> new TokenBudgetStatusRepository(anon).status("scaler_read"))
        .isInstanceOf(JobQueueException.class)
        .hasMessageContaining("token_budget_status(scaler_read)");
  }
}
