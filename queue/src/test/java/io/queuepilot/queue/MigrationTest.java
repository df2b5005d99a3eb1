package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The sql/ migrations apply cleanly, are repeatable no-ops afterwards, and harden every function. */
class MigrationTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  private static final List<String> CONTRACT =
      List.of(
          "enqueue_job", "claim_next_job", "heartbeat_job", "complete_job", "fail_job", "release_job",
          "update_job_status", "retry_job", "dead_letter_job", "cancel_job", "requeue_stale_jobs",
          "queue_stats", "log_audit_event", "complete_jobs", "heartbeat_jobs", "fail_jobs", "release_jobs");

  @Test
  void migratesCleanlyAndASecondRunAppliesNothing() throws SQLException {
    MigrateResult first = Migrations.migrate(pg.migrationRole());
    assertThat(first.success).isTrue();
    assertThat(first.migrationsExecuted).isGreaterThanOrEqualTo(5);

    MigrateResult second = Migrations.migrate(pg.migrationRole());
    assertThat(second.migrationsExecuted).isZero();

    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      // every contract function: SECURITY DEFINER, search_path pinned with pg_temp last, not executable by PUBLIC
      for (String fn : CONTRACT) {
        try (ResultSet rs =
            s.executeQuery(
                """
                SELECT p.prosecdef, array_to_string(p.proconfig, '|'),
                       has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec
                  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public' AND p.proname = '%s'
                """
                    .formatted(fn))) {
          int overloads = 0;
          while (rs.next()) {
            overloads++;
            assertThat(rs.getBoolean(1)).as("%s is SECURITY DEFINER", fn).isTrue();
            // search_path pinned; the claim and the batched functions also pin their plan mode (V080)
            assertThat(rs.getString(2).split("\\|")).as("%s pins search_path", fn)
                .contains("search_path=pg_catalog, pg_temp")
                .isSubsetOf("search_path=pg_catalog, pg_temp", "plan_cache_mode=force_generic_plan");
            assertThat(rs.getBoolean(3)).as("%s not executable by PUBLIC", fn).isFalse();
          }
          // requeue_stale_jobs: the sweep over everything and the scoped one (V080)
          assertThat(overloads).as("overloads of %s", fn).isEqualTo(fn.equals("requeue_stale_jobs") ? 2 : 1);
        }
      }
      try (ResultSet rs =
          s.executeQuery(
              "SELECT relname, relrowsecurity FROM pg_class WHERE relname IN ('job_queue','audit_log') ORDER BY 1")) {
        List<String> rls = new ArrayList<>();
        while (rs.next()) {
          rls.add(rs.getString(1) + "=" + rs.getBoolean(2));
        }
        assertThat(rls).containsExactly("audit_log=true", "job_queue=true");
      }
      try (ResultSet rs =
          s.executeQuery(
              """
              SELECT rolname, rolcanlogin, rolbypassrls FROM pg_roles
               WHERE rolname IN ('anon','authenticated','service_role','queue_worker','queue_controller')
               ORDER BY rolname
              """)) {
        List<String> roles = new ArrayList<>();
        while (rs.next()) {
          roles.add(rs.getString(1) + " login=" + rs.getBoolean(2) + " bypassrls=" + rs.getBoolean(3));
        }
        assertThat(roles)
            .containsExactly(
                "anon login=false bypassrls=false",
                "authenticated login=false bypassrls=false",
                "queue_controller login=false bypassrls=false",
                "queue_worker login=false bypassrls=false",
                "service_role login=false bypassrls=true");
      }
      // smoke: one job through enqueue -> claim -> complete
      UUID id;
      try (ResultSet rs = s.executeQuery("SELECT public.enqueue_job('smoke', '{\"a\":1}', 'smoke-1')")) {
        rs.next();
        id = rs.getObject(1, UUID.class);
      }
      UUID lease;
      try (ResultSet rs = s.executeQuery("SELECT id, lease_token, attempt FROM public.claim_next_job('w1')")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getObject(1, UUID.class)).isEqualTo(id);
        lease = rs.getObject(2, UUID.class);
        assertThat(rs.getInt(3)).isEqualTo(1);
      }
      try (ResultSet rs =
          s.executeQuery("SELECT public.complete_job('%s', '%s', '{\"ok\":true}', 42)".formatted(id, lease))) {
        rs.next();
        assertThat(rs.getBoolean(1)).isTrue();
      }
      try (ResultSet rs = s.executeQuery("SELECT status, tokens_used FROM public.job_queue WHERE id = '%s'".formatted(id))) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("completed");
        assertThat(rs.getInt(2)).isEqualTo(42);
      }
    }
  }
}
