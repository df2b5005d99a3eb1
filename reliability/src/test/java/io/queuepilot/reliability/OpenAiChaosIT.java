package io.queuepilot.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.testkit.FakeOpenAi;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI side failing, through the worker's real openai-java client against a loopback fake
 * speaking the chat-completions wire format: 100% 429s for a while then recovery (jobs are
 * released, not failed: no attempt spent), a stream of 500s, and answers that hang (before the
 * headers or mid-body) past the client timeout.
 */
class OpenAiChaosIT {

  private static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(10);

  private static ChaosWorld world(String name, FakeOpenAi fake) {
    ChaosWorld w = ChaosWorld.create(name, HEARTBEAT_TIMEOUT);
    w.workerEnv("QUEUEPILOT_PROCESSOR", "openai")
        .workerEnv("OPENAI_API_KEY", "sk-reliability-fake")
        .workerEnv("OPENAI_BASE_URL", fake.baseUrl())
        .workerEnv("QUEUEPILOT_OPENAI_TIMEOUT_SECONDS", "3")
        .workerEnv("QUEUEPILOT_RATE_LIMIT_DEFAULT_DELAY_SECONDS", "1");
    w.useSupabaseStore(); // documents downloaded to temp files: the temp-directory invariant has something to check
    return w;
  }

  /** OpenAI for these scenarios: the worker's key, 429s that say retry after 1 s. */
  private static FakeOpenAi openAi() {
    try {
      return new FakeOpenAi("sk-reliability-fake", 1).resetMillis(1000).retryAfterSeconds(1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void hundredPercent429sThenRecovery() {
    int jobs = Scale.jobs();
    Duration storm = Scale.pick(Duration.ofSeconds(8), Duration.ofSeconds(30));
    try (FakeOpenAi fake = openAi(); ChaosWorld world = world("openai429", fake)) {
      world.startWorkers(3);
      fake.mode(FakeOpenAi.Mode.RATE_LIMITED);
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(12), Duration.ofSeconds(90)), 10);
      // The storm's clock starts at the first refused call, not at the first upload: on a loaded
      // machine three worker JVMs may need longer than the whole storm to make their first call,
      // and a storm nobody met proves nothing.
      await().atMost(Duration.ofSeconds(90)).until(() -> fake.rateLimited() > 0);
      Instant stormStart = Instant.now();
      await().atMost(storm.plusSeconds(30)).until(() -> Duration.between(stormStart, Instant.now()).compareTo(storm) >= 0);
      long completedDuringStorm = world.completed();
      fake.mode(FakeOpenAi.Mode.NORMAL);
      Instant recovered = Instant.now();
      world.awaitUploaded(jobs, Duration.ofMinutes(5));
      world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(3), Duration.ofMinutes(15)));
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();

      assertThat(world.useSupabaseStore().downloads()).as("documents downloaded to temp files").isGreaterThanOrEqualTo(jobs);
      assertThat(world.useSupabaseStore().unauthorized()).isZero();
      assertThat(fake.rateLimited()).as("429s served").isPositive();
      assertThat(fake.malformedRequests()).isZero();
      assertThat(completedDuringStorm).as("nothing completes while every call is refused").isZero();
      assertThat(r.deadLettered()).as("429s never dead-letter a job").isZero();
      assertThat(maxAttempt(world)).as("a 429 releases the job without spending an attempt").isEqualTo(1);
      assertThat(exits.values()).containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.completed()).isEqualTo(jobs);
      ScenarioReport.row("OpenAI: " + storm.toSeconds() + " s of 100% 429s, then recovery", r,
          fake.rateLimited() + " × 429 (retry-after 1 s), then " + fake.ok() + " answers", "—",
          ScenarioReport.seconds(world.secondsToNextCompletion(recovered)) + " from recovery to next completion; "
              + "no attempt spent (max attempt 1)");
    }
  }

  @Test
  void streamOf500sAndAnswersThatHang() {
    int jobs = Scale.jobs();
    Duration phase = Scale.pick(Duration.ofSeconds(4), Duration.ofSeconds(20));
    try (FakeOpenAi fake = openAi(); ChaosWorld world = world("openai500hang", fake)) {
      world.startWorkers(3);
      world.uploadNotesOver(jobs, Scale.pick(Duration.ofSeconds(15), Duration.ofSeconds(100)), 10);
      await().atMost(Duration.ofSeconds(60)).until(() -> world.completed() >= Math.min(20, jobs / 10));

      fake.mode(FakeOpenAi.Mode.SERVER_ERROR);
      Instant errorsStart = Instant.now();
      await().atMost(phase.plusSeconds(30)).until(() -> Duration.between(errorsStart, Instant.now()).compareTo(phase) >= 0);
      fake.mode(FakeOpenAi.Mode.NORMAL);
      Instant afterErrors = Instant.now();
      await().atMost(Duration.ofSeconds(60)).until(() -> world.secondsToNextCompletion(afterErrors) != null);

      fake.mode(FakeOpenAi.Mode.HANG);
      Instant hangStart = Instant.now();
      await().atMost(phase.plusSeconds(30)).until(() -> Duration.between(hangStart, Instant.now()).compareTo(phase) >= 0);
      fake.mode(FakeOpenAi.Mode.NORMAL);
      Instant afterHang = Instant.now();

      world.awaitUploaded(jobs, Duration.ofMinutes(5));
      // failed attempts come back after the queue's backoff (10 s, 20 s, … with jitter)
      world.awaitDrained(jobs, Scale.pick(Duration.ofMinutes(4), Duration.ofMinutes(15)));
      Map<String, Integer> exits = world.stopWorkers();
      Invariants.Result r = world.check().assertHolds();

      assertThat(world.useSupabaseStore().downloads()).as("documents downloaded to temp files").isGreaterThanOrEqualTo(jobs);
      assertThat(world.useSupabaseStore().unauthorized()).isZero();
      assertThat(fake.serverErrors()).as("500s served").isPositive();
      assertThat(fake.hung()).as("hung answers").isPositive();
      assertThat(fake.malformedRequests()).isZero();
      assertThat(exits.values()).containsOnly(0);
      assertThat(r.duplicates()).isZero();
      assertThat(r.lost()).isZero();
      assertThat(r.completed() + r.deadLettered()).isEqualTo(jobs);
      assertThat(r.deadLetterReasons().keySet()).as("only the model's failures dead-letter")
          .isSubsetOf("model_unavailable", "model_io_error", "model_malformed_response");
      ScenarioReport.row("OpenAI: " + phase.toSeconds() + " s of 500s, then " + phase.toSeconds() + " s of hanging answers", r,
          fake.serverErrors() + " × 500, " + fake.hung() + " hangs (client timeout 3 s)", "—",
          ScenarioReport.seconds(world.secondsToNextCompletion(afterErrors)) + " after the 500s, "
              + ScenarioReport.seconds(world.secondsToNextCompletion(afterHang)) + " after the hangs, to next completion");
    }
  }

  private static int maxAttempt(ChaosWorld world) {
    try (Connection c = world.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT max(attempt) FROM public.jobs")) {
      rs.next();
      return rs.getInt(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
