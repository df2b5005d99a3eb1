package io.queuepilot.worker.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.budget.PostgresTokenBudget;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import java.sql.SQLException;
import java.time.Duration;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The OpenAI processor over the shared PostgreSQL budget (queue's {@link PostgresTokenBudget}):
 * a call the budget can never fit is a permanent failure, found before any request is sent.
 */
class OpenAiProcessorBudgetTest {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();
  private static DataSource worker;

  @BeforeAll
  static void logins() throws SQLException {
    worker = pg.loginAs("budget_worker", "queue_worker");
  }

  @Test
  void aCallLargerThanAWholeWindowIsAPermanentFailure(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    PostgresTokenBudget budget = new PostgresTokenBudget(worker, "t7", 5);
    budget.configure(500, 10, 60);
    try (var openai = new FakeOpenAi("sk-test", 1);
        var client = new io.queuepilot.worker.process.OpenAiModelClient(openai.baseUrl(), "sk-test", Duration.ofSeconds(5))) {
      var processor = new io.queuepilot.worker.process.OpenAiProcessor(client, budget,
          new io.queuepilot.worker.WorkerMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()),
          new io.queuepilot.worker.ProviderHalt(java.time.Clock.systemUTC()),
          new io.queuepilot.worker.process.OpenAiProcessor.Settings("gpt-4o-mini", 10_000, 1, 300, 40, 10_000, 1 << 20,
              Duration.ofSeconds(1), Duration.ofSeconds(60)));
      java.nio.file.Path f = dir.resolve("doc.txt");
      java.nio.file.Files.writeString(f, "- Aspirin 81 mg\n");
      assertThatThrownBy(() -> processor.process(new io.queuepilot.worker.fakes.TestJobContext("{}"),
              new io.queuepilot.worker.process.DocumentInput(f, java.nio.file.Files.size(f), "text/plain", "doc.txt")))
          .isInstanceOfSatisfying(io.queuepilot.worker.JobFailure.class, jf -> {
            assertThat(jf.code()).isEqualTo("document_exceeds_token_budget");
            assertThat(jf.errorClass()).isEqualTo(io.queuepilot.worker.JobFailure.ErrorClass.PERMANENT);
          });
      assertThat(openai.calls()).isEmpty();
    }
  }
}
