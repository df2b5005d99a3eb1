package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * fail_job backoff: scheduled_at and attempt move together (delay = min(900 s, 5 s * 2^attempt)
 * times 1..1.25 jitter); after max_attempts the job is dead-lettered with the full error history.
 */
class BackoffTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @Test
  void eachFailureBacksOffExponentiallyUntilDeadLetter() throws Exception {
    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("backoff_worker", "queue_worker"));
    Db su = new Db(pg.superuser());
    int maxAttempts = 4;
    UUID id = worker.enqueue(new NewJob("backoff", null, "{}", "backoff-1", null, null, null, null, null, maxAttempts, null));

    for (int attempt = 1; attempt <= maxAttempts; attempt++) {
      // make the job due now (the backoff of the previous failure is checked below, not waited out)
      su.exec("UPDATE public.job_queue SET scheduled_at = now() WHERE id = ?", id);
      List<ClaimedJob> claimed = worker.claim("w", List.of("backoff"), List.of(), 1);
      assertThat(claimed).hasSize(1);
      ClaimedJob c = claimed.get(0);
      assertThat(c.attempt()).isEqualTo(attempt);

      JobStatus status = worker.fail(id, c.leaseToken(), "{\"message\":\"failure " + attempt + "\"}", true).orElseThrow();
      Map<String, Object> r = su.rows("SELECT * FROM public.job_queue WHERE id = ?", id).get(0);
      assertThat(r.get("attempt")).isEqualTo(attempt);
      if (attempt < maxAttempts) {
        assertThat(status).isEqualTo(JobStatus.PENDING);
        assertThat(r.get("status")).isEqualTo("pending");
        // updated_at is the transaction's now(): the delay is exactly what fail_job added
        Duration delay = Duration.between((Instant) r.get("updated_at"), (Instant) r.get("scheduled_at"));
        double base = Math.min(900.0, 5.0 * Math.pow(2, attempt));
        assertThat(delay.toNanos() / 1e9).as("delay after attempt %d", attempt).isBetween(base, base * 1.25);
        assertThat(r.get("dead_letter_at")).isNull();
        assertThat(worker.claim("w", List.of("backoff"), List.of(), 1)).as("not due during backoff").isEmpty();
      } else {
        assertThat(status).isEqualTo(JobStatus.DEAD_LETTER);
        assertThat(r.get("status")).isEqualTo("dead_letter");
        assertThat(r.get("dead_letter_at")).isNotNull();
      }
    }

    List<Map<String, Object>> history =
        su.rows(
            "SELECT (e->>'attempt')::int AS attempt, e->'error'->>'message' AS message"
                + " FROM public.job_queue, jsonb_array_elements(error_history) e WHERE id = ?",
            id);
    assertThat(history).hasSize(maxAttempts);
    for (int i = 0; i < maxAttempts; i++) {
      assertThat(history.get(i).get("attempt")).isEqualTo(i + 1);
      assertThat(history.get(i).get("message")).isEqualTo("failure " + (i + 1));
    }
    assertThat(su.count("SELECT count(*) FROM public.audit_log WHERE job_id = ? AND operation = 'dead_letter'", id))
        .isEqualTo(1);
  }

  @Test
  void theDelayIsCappedAtFifteenMinutesPlusJitter() {
    Db su = new Db(pg.superuser());
    for (int attempt : new int[] {8, 20, 60}) {
      double seconds = ((Number) su.value("SELECT extract(epoch FROM public.job_queue_backoff(?))", attempt)).doubleValue();
      assertThat(seconds).isBetween(900.0, 1125.0);
    }
  }
}
