package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * With 10,000 dead letters in the live table, 90,000 finished rows in job_history and a few pending ones, the statements inside claim_next_job and
 * requeue_stale_jobs are index scans of the partial indexes (plans captured with the server's
 * auto_explain module, nested statements included), never sequential scans of the table.
 */
class ClaimPlanTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @Test
  void claimAndStaleScanStayIndexScansAmongManyFinishedRows() throws Exception {
    Db su = new Db(pg.superuser());
    su.exec(
        """
        INSERT INTO public.job_queue (job_type, job_lane, status, idempotency_key, attempt, started_at, dead_letter_at)
        SELECT 'plan', CASE WHEN g % 2 = 0 THEN 'ai' ELSE 'default' END, 'dead_letter', 'dead-' || g, 1, now(), now()
          FROM generate_series(1, 10000) g
        """);
    // finished jobs live in job_history since V081: they cannot slow the claim down at all
    su.exec("""
        INSERT INTO public.job_history (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at,
                                        updated_at, started_at, completed_at, attempt, max_attempts, error_history,
                                        idempotency_key, correlation_id, finished_at)
        SELECT gen_random_uuid(), 'plan', CASE WHEN g % 2 = 0 THEN 'ai' ELSE 'default' END, '{}', 'completed', 5,
               now(), now(), now(), now(), now() - make_interval(secs => g), 1, 5, '[]', 'done-' || g,
               gen_random_uuid(), now() - make_interval(secs => g)
          FROM generate_series(1, 90000) g
        """);
    su.exec("SELECT public.enqueue_job('plan', '{}', 'p-' || g, CASE WHEN g % 2 = 0 THEN 'ai' ELSE 'default' END)"
        + " FROM generate_series(1, 40) g");
    su.exec("ANALYZE public.job_queue");

    List<String> plans = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      s.execute("LOAD 'auto_explain'");
      s.execute("SET auto_explain.log_min_duration = 0");
      s.execute("SET auto_explain.log_nested_statements = on");
      s.execute("SET auto_explain.log_level = 'notice'");
      s.execute("SET client_min_messages = 'notice'");
      // more than five calls: plpgsql switches to a generic plan after five custom ones
      for (int i = 0; i < 7; i++) {
        s.execute("SELECT * FROM public.claim_next_job('w', ARRAY['plan'], NULL, 2)");
        plans.addAll(notices(s));
        s.execute("SELECT * FROM public.claim_next_job('w', NULL, ARRAY['ai'], 1)");
        plans.addAll(notices(s));
      }
      s.execute("SELECT * FROM public.requeue_stale_jobs(interval '1 hour')");
      plans.addAll(notices(s));
    }
    List<String> claimPlans = plans.stream()
        .filter(p -> p.contains("UPDATE public.job_queue") && p.contains("c.status = 'pending'")).toList();
    assertThat(claimPlans).hasSizeGreaterThanOrEqualTo(14);
    assertThat(claimPlans).allSatisfy(p -> {
      assertThat(p).containsPattern("Index Scan using job_queue_claim(_lane)?_idx");
      assertThat(p).doesNotContain("Seq Scan");
    });
    List<String> stalePlans = plans.stream()
        .filter(p -> p.contains("UPDATE public.job_queue") && p.contains("s.status = 'processing'")).toList();
    assertThat(stalePlans).isNotEmpty().allSatisfy(p -> {
      assertThat(p).contains("job_queue_processing_idx");
      assertThat(p).doesNotContain("Seq Scan");
    });
  }

  private static List<String> notices(Statement s) throws Exception {
    List<String> out = new ArrayList<>();
    for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
      out.add(w.getMessage());
    }
    s.clearWarnings();
    return out;
  }
}
