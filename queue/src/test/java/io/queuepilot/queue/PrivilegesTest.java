package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Who may do what: group roles act only through their functions, anon/authenticated see no job
 * and cannot claim, the controller can only observe and requeue.
 */
class PrivilegesTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final String PERMISSION_DENIED = "42501";

  private static final Map<String, String> FUNCTIONS =
      Map.ofEntries(
          Map.entry("enqueue_job", "public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer)"),
          Map.entry("enqueue_jobs",
              "public.enqueue_jobs(text[], jsonb[], text[], text[], integer[], timestamptz[], integer[], uuid[], uuid[], uuid[], integer[])"),
          Map.entry("claim_next_job", "public.claim_next_job(text, text[], text[], integer)"),
          Map.entry("heartbeat_job", "public.heartbeat_job(uuid, uuid)"),
          Map.entry("complete_job", "public.complete_job(uuid, uuid, jsonb, integer)"),
          Map.entry("fail_job", "public.fail_job(uuid, uuid, jsonb, boolean)"),
          Map.entry("release_job", "public.release_job(uuid, uuid, interval)"),
          Map.entry("update_job_status", "public.update_job_status(uuid, text, jsonb, timestamptz)"),
          Map.entry("retry_job", "public.retry_job(uuid, timestamptz)"),
          Map.entry("dead_letter_job", "public.dead_letter_job(uuid, jsonb)"),
          Map.entry("cancel_job", "public.cancel_job(uuid)"),
          Map.entry("requeue_stale_jobs", "public.requeue_stale_jobs(interval)"),
          Map.entry("requeue_stale_jobs_scoped", "public.requeue_stale_jobs(interval, text[], text[])"),
          Map.entry("complete_jobs", "public.complete_jobs(uuid[], uuid[], jsonb[], integer[])"),
          Map.entry("complete_and_claim_jobs",
              "public.complete_and_claim_jobs(uuid[], uuid[], jsonb[], integer[], text, text[], text[], integer)"),
          Map.entry("heartbeat_jobs", "public.heartbeat_jobs(uuid[], uuid[])"),
          Map.entry("fail_jobs", "public.fail_jobs(uuid[], uuid[], jsonb[], boolean[])"),
          Map.entry("release_jobs", "public.release_jobs(uuid[], uuid[], interval)"),
          Map.entry("queue_stats", "public.queue_stats(text[], text[], interval)"),
          Map.entry("jobs_held_by_workers", "public.jobs_held_by_workers(text[], interval)"),
          Map.entry("log_audit_event", "public.log_audit_event(text, text, text, jsonb, jsonb, text, uuid, uuid, uuid)"));

  private static final Map<String, Set<String>> GRANTED =
      Map.of(
          "queue_worker",
          Set.of("enqueue_job", "enqueue_jobs", "claim_next_job", "heartbeat_job", "complete_job", "fail_job", "release_job",
              "requeue_stale_jobs", "requeue_stale_jobs_scoped", "complete_jobs", "heartbeat_jobs", "fail_jobs",
              "release_jobs", "complete_and_claim_jobs"),
          "queue_controller", Set.of("queue_stats", "requeue_stale_jobs", "requeue_stale_jobs_scoped", "jobs_held_by_workers"),
          "service_role", FUNCTIONS.keySet(),
          "anon", Set.of(),
          "authenticated", Set.of());

  private static Db su;

  @BeforeAll
  static void jobs() {
    su = new Db(pg.superuser());
    new PostgresJobQueue(pg.superuser()).enqueue(NewJob.of("priv", "{}", "priv-1"));
    new PostgresJobQueue(pg.superuser()).enqueue(NewJob.of("priv", "{}", "priv-2"));
  }

  @Test
  void executeGrantsAreExactlyTheContractsRoleMatrix() {
    for (var role : GRANTED.entrySet()) {
      for (var fn : FUNCTIONS.entrySet()) {
        boolean can = su.value("SELECT has_function_privilege(?, ?, 'EXECUTE')", role.getKey(), fn.getValue());
        assertThat(can).as("%s may execute %s", role.getKey(), fn.getKey()).isEqualTo(role.getValue().contains(fn.getKey()));
      }
    }
    // helper functions are internal to the contract
    for (String role : GRANTED.keySet()) {
      assertThat((boolean) su.value("SELECT has_function_privilege(?, 'public.job_queue_backoff(integer)', 'EXECUTE')", role))
          .isFalse();
      assertThat((boolean) su.value(
              "SELECT has_function_privilege(?, 'public.job_queue_new_id(timestamptz, integer)', 'EXECUTE')", role))
          .as("%s may execute the id helper (V110)", role).isFalse();
      assertThat((boolean) su.value(
              "SELECT has_function_privilege(?, 'public.job_queue_check_batch(text, uuid[], uuid[], integer[])', 'EXECUTE')", role))
          .isFalse();
    }
  }

  @Test
  void groupRolesHaveNoTablePrivilegesAndNoRlsBypass() {
    for (String role : List.of("queue_worker", "queue_controller", "anon", "authenticated")) {
      for (String table : List.of("public.job_queue", "public.audit_log")) {
        for (String priv : List.of("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")) {
          assertThat((boolean) su.value("SELECT has_table_privilege(?, ?, ?)", role, table, priv))
              .as("%s %s on %s", role, priv, table)
              .isFalse();
        }
      }
    }
    assertThat(su.rows("SELECT rolname FROM pg_roles WHERE rolname IN ('queue_worker','queue_controller')"
        + " AND (rolbypassrls OR rolsuper OR rolcanlogin)")).isEmpty();
  }

  @Test
  void aWorkerLoginCannotReadOrWriteTheTableDirectlyButCanUseItsFunctions() throws Exception {
    DataSource worker = pg.loginAs("priv_worker", "queue_worker");
    for (String sql :
        List.of(
            "SELECT count(*) FROM public.job_queue",
            "UPDATE public.job_queue SET status = 'completed'",
            "DELETE FROM public.job_queue",
            "INSERT INTO public.job_queue (job_type, idempotency_key) VALUES ('x', 'x')",
            "SELECT count(*) FROM public.audit_log",
            "SELECT public.queue_stats()",
            "SELECT public.cancel_job(gen_random_uuid())",
            "SELECT public.update_job_status(gen_random_uuid(), 'pending')",
            "SELECT public.log_audit_event('job_queue', 'x', 'forged', NULL, NULL, NULL)")) {
      assertThat(sqlState(Db.failure(worker, sql))).as(sql).isEqualTo(PERMISSION_DENIED);
    }
    PostgresJobQueue q = new PostgresJobQueue(worker);
    assertThat(q.claim("priv-w", List.of("priv"), List.of(), 1)).hasSize(1);
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE status = 'processing'")).isEqualTo(1);
  }

  @Test
  void theControllerCanOnlyObserveAndRequeue() throws Exception {
    DataSource controller = pg.loginAs("priv_controller", "queue_controller");
    PostgresJobQueue q = new PostgresJobQueue(controller);
    assertThat(q.stats(List.of("priv"), List.of(), Duration.ofSeconds(60)).ready()).isGreaterThanOrEqualTo(0);
    assertThat(q.requeueStale(Duration.ofSeconds(60))).isEmpty();
    assertThatThrownBy(() -> q.claim("c", null, null, 1))
        .isInstanceOf(JobQueueException.class)
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo(PERMISSION_DENIED));
    assertThatThrownBy(() -> q.enqueue(NewJob.of("priv", "{}", "from-controller")))
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo(PERMISSION_DENIED));
    assertThatThrownBy(() -> q.heartbeat(UUID.randomUUID(), UUID.randomUUID()))
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo(PERMISSION_DENIED));
    assertThatThrownBy(() -> q.cancel(UUID.randomUUID()))
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo(PERMISSION_DENIED));
    assertThat(sqlState(Db.failure(controller, "SELECT count(*) FROM public.job_queue"))).isEqualTo(PERMISSION_DENIED);
  }

  @Test
  void anonAndAuthenticatedCannotClaimAndSeeNoJobs() throws Exception {
    for (String role : List.of("anon", "authenticated")) {
      try (Connection c = pg.superuser().getConnection();
          Statement s = c.createStatement()) {
        s.execute("SELECT set_config('request.jwt.claims', '{\"sub\":\"" + UUID.randomUUID()
            + "\",\"role\":\"" + role + "\"}', false)");
        s.execute("SET ROLE " + role);
        assertThat(sqlState(attempt(s, "SELECT * FROM public.claim_next_job('attacker')"))).isEqualTo(PERMISSION_DENIED);
        assertThat(sqlState(attempt(s, "SELECT public.enqueue_job('priv', '{}', 'attack')"))).isEqualTo(PERMISSION_DENIED);
        assertThat(sqlState(attempt(s, "SELECT count(*) FROM public.job_queue"))).isEqualTo(PERMISSION_DENIED);
        // the finished jobs (V081) and the view over both tables are as closed
        assertThat(sqlState(attempt(s, "SELECT count(*) FROM public.job_history"))).isEqualTo(PERMISSION_DENIED);
        assertThat(sqlState(attempt(s, "SELECT count(*) FROM public.jobs"))).isEqualTo(PERMISSION_DENIED);
        assertThat(sqlState(attempt(s, "SELECT count(*) FROM public.job_idempotency_keys"))).isEqualTo(PERMISSION_DENIED);
        assertThat(sqlState(attempt(s, "SELECT count(*) FROM queuepilot_history.job_history_default"))).isEqualTo(PERMISSION_DENIED);
        s.execute("RESET ROLE");

        // Supabase grants table privileges to anon/authenticated by default; even then RLS hides every row.
        s.execute("GRANT SELECT ON public.job_queue TO " + role);
        try {
          s.execute("SET ROLE " + role);
          try (ResultSet rs = s.executeQuery("SELECT count(*) FROM public.job_queue")) {
            rs.next();
            assertThat(rs.getLong(1)).as("%s sees no job rows", role).isZero();
          }
          s.execute("RESET ROLE");
        } finally {
          s.execute("RESET ROLE");
          s.execute("REVOKE SELECT ON public.job_queue FROM " + role);
        }
      }
    }
    assertThat(su.count("SELECT count(*) FROM public.jobs")).isGreaterThanOrEqualTo(2);
  }

  @Test
  void serviceRoleSeesJobsAndRunsOperatorFunctions() throws Exception {
    // the operator's session on Supabase: postgres, a member of service_role
    try (Connection c = pg.migrationRole().getConnection();
        Statement s = c.createStatement()) {
      s.execute("SET ROLE service_role");
      try (ResultSet rs = s.executeQuery("SELECT count(*) FROM public.job_queue")) {
        rs.next();
        assertThat(rs.getLong(1)).isGreaterThanOrEqualTo(2);
      }
      assertThat(sqlState(attempt(s, "UPDATE public.job_queue SET priority = 1"))).isEqualTo(PERMISSION_DENIED);
      try (ResultSet rs = s.executeQuery(
          "SELECT public.update_job_status(id, 'cancelled') FROM public.job_queue WHERE idempotency_key = 'priv-2'")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("cancelled");
      }
      try (ResultSet rs = s.executeQuery(
          "SELECT actor, db_user FROM public.audit_log WHERE operation = 'status:pending->cancelled'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getString(1)).as("the caller's role, not the definer").isEqualTo("service_role");
        assertThat(rs.getString(2)).isEqualTo("postgres");
      }
    }
  }

  private static SQLException attempt(Statement s, String sql) {
    try {
      s.execute(sql);
      return null;
    } catch (SQLException e) {
      return e;
    }
  }

  private static String sqlState(SQLException e) {
    assertThat((Throwable) e).as("expected the statement to be refused").isNotNull();
    return e.getSQLState();
  }
}
