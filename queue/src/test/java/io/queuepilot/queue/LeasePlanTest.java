package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 14, point 1: the plans inside the queue functions, read with the server's auto_explain
 * module (nested statements included) on the real functions.
 *
 * <p>The world is the one that broke V004: statistics taken while nothing was processing (so
 * the planner believes the {@code status = 'processing'} partial index is empty) and then a
 * thousand jobs in flight. Every lease-guarded statement must still be a primary-key lookup,
 * and the claim must be a generic plan (planned once per session) from its first call on.
 */
class LeasePlanTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static Db su;
  static List<ClaimedJob> inFlight;

  @BeforeAll
  static void manyJobsInFlightWithStatisticsFromAnIdleQueue() {
    su = new Db(pg.superuser());
    su.exec("""
        INSERT INTO public.job_queue (job_type, status, idempotency_key, attempt, started_at, completed_at)
        SELECT 'plan', 'completed', 'done-' || g, 1, now(), now() FROM generate_series(1, 50000) g
        """);
    su.exec("SELECT count(public.enqueue_job('plan', '{}', 'p-' || g)) FROM generate_series(1, 3000) g");
    su.exec("ANALYZE public.job_queue"); // nothing is processing now
    inFlight = new PostgresJobQueue(pg.superuser()).claim("plan-worker", List.of(), List.of(), 1000);
    assertThat(inFlight).hasSize(1000);
  }

  @Test
  void theStatisticsReproduceTheTrapForTheOldStatementShape() throws Exception {
    // Control: V004's statement text under these statistics scans the processing partial index
    // (work proportional to the jobs in flight). Without this the test below would prove nothing.
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      s.execute("SET plan_cache_mode = force_generic_plan");
      s.execute("""
          PREPARE v004_heartbeat(uuid, uuid) AS
            UPDATE public.job_queue AS j SET heartbeat_at = now(), updated_at = now()
             WHERE j.id = $1 AND j.lease_token = $2 AND j.status = 'processing'""");
      String plan = explain(s, "EXPLAIN EXECUTE v004_heartbeat(gen_random_uuid(), gen_random_uuid())");
      assertThat(plan).contains("job_queue_processing_heartbeat_idx").doesNotContain("job_queue_pkey");
    }
  }

  @Test
  void everyLeaseGuardedStatementIsAPrimaryKeyLookupWithAThousandJobsInFlight() throws Exception {
    List<String> plans = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      autoExplain(s);
      int i = 0;
      // more than five calls of each: PL/pgSQL may switch to a generic plan after five custom ones
      for (int round = 0; round < 7; round++) {
        ClaimedJob a = inFlight.get(i++);
        ClaimedJob b = inFlight.get(i++);
        ClaimedJob d = inFlight.get(i++);
        ClaimedJob e = inFlight.get(i++);
        ClaimedJob f = inFlight.get(i++);
        ClaimedJob g = inFlight.get(i++);
        plans.addAll(call(c, "SELECT public.heartbeat_job(?, ?)", a.id(), a.leaseToken()));
        plans.addAll(call(c, "SELECT public.complete_job(?, ?, '{}'::jsonb, 1)", a.id(), a.leaseToken()));
        plans.addAll(call(c, "SELECT public.fail_job(?, ?, '{\"m\":1}'::jsonb, true)", b.id(), b.leaseToken()));
        plans.addAll(call(c, "SELECT public.release_job(?, ?)", d.id(), d.leaseToken()));
        plans.addAll(call(c, "SELECT * FROM public.heartbeat_jobs(ARRAY[?, ?]::uuid[], ARRAY[?, ?]::uuid[])",
            e.id(), f.id(), e.leaseToken(), f.leaseToken()));
        plans.addAll(call(c, "SELECT * FROM public.complete_jobs(ARRAY[?, ?]::uuid[], ARRAY[?, ?]::uuid[])",
            e.id(), f.id(), e.leaseToken(), f.leaseToken()));
        ClaimedJob h = inFlight.get(i++);
        ClaimedJob k = inFlight.get(i++);
        plans.addAll(call(c,
            "SELECT * FROM public.fail_jobs(ARRAY[?, ?]::uuid[], ARRAY[?, ?]::uuid[], ARRAY['{}', '{}']::jsonb[])",
            g.id(), h.id(), g.leaseToken(), h.leaseToken()));
        plans.addAll(call(c, "SELECT * FROM public.release_jobs(ARRAY[?]::uuid[], ARRAY[?]::uuid[])",
            k.id(), k.leaseToken()));
      }
    }
    List<String> leaseGuarded = plans.stream()
        .filter(p -> p.contains("UPDATE public.job_queue") && p.contains("lease_token ="))
        .toList();
    // 8 statements per round (complete/heartbeat/fail/release, one-job and batched), 7 rounds
    assertThat(leaseGuarded).hasSizeGreaterThanOrEqualTo(8 * 7);
    assertThat(leaseGuarded).allSatisfy(p -> {
      assertThat(p).contains("job_queue_pkey");
      assertThat(p).doesNotContain("job_queue_processing_heartbeat_idx").doesNotContain("Seq Scan on job_queue");
      assertThat(p).doesNotContain("status = 'processing'");
    });
    // after five executions at the latest, each of them runs a generic plan (parameters, no constants)
    List<String> last = leaseGuarded.subList(leaseGuarded.size() - 8, leaseGuarded.size());
    assertThat(last).allSatisfy(p -> assertThat(p).containsPattern("\\$\\d"));
  }

  @Test
  void theClaimIsPlannedOncePerSessionAndStaysAnIndexScan() throws Exception {
    List<String> plans = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      autoExplain(s);
      for (int i = 0; i < 7; i++) {
        plans.addAll(call(c, "SELECT * FROM public.claim_next_job('plan-claim', NULL, NULL, 1)"));
        plans.addAll(call(c, "SELECT * FROM public.claim_next_job('plan-claim', ARRAY['plan'], ARRAY['default'], 3)"));
      }
    }
    List<String> claims = plans.stream()
        .filter(p -> p.contains("UPDATE public.job_queue") && p.contains("c.status = 'pending'"))
        .toList();
    assertThat(claims).hasSize(14);
    assertThat(claims).allSatisfy(p -> {
      // a generic plan shows the function's variables as parameters, from the first call on:
      // the custom plans V004 got on every call would show the constants instead
      assertThat(p).containsPattern("\\(\\$2 IS NULL\\)");
      assertThat(p).containsPattern("Index Scan using job_queue_claim(_lane)?_idx");
      assertThat(p).contains("Index Cond: (id = ANY ((InitPlan 1).col1))");
      assertThat(p).doesNotContain("Seq Scan").doesNotContain("Hash Join");
    });
  }

  @Test
  void theLeaseImpliesProcessingByConstraint() {
    assertThatThrownBy(() -> su.exec(
            "UPDATE public.job_queue SET lease_token = gen_random_uuid() WHERE idempotency_key = 'done-1'"))
        .hasMessageContaining("job_queue_processing_has_lease");
  }

  private static void autoExplain(Statement s) throws Exception {
    s.execute("LOAD 'auto_explain'");
    s.execute("SET auto_explain.log_min_duration = 0");
    s.execute("SET auto_explain.log_nested_statements = on");
    s.execute("SET auto_explain.log_level = 'notice'");
    s.execute("SET client_min_messages = 'notice'");
  }

  private static List<String> call(Connection c, String sql, Object... args) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          // drain
        }
      }
      List<String> out = new ArrayList<>();
      for (SQLWarning w = ps.getWarnings(); w != null; w = w.getNextWarning()) {
        out.add(w.getMessage());
      }
      return out;
    }
  }

  private static String explain(Statement s, String sql) throws Exception {
    StringBuilder plan = new StringBuilder();
    try (ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        plan.append(rs.getString(1)).append('\n');
      }
    }
    return plan.toString();
  }
}
