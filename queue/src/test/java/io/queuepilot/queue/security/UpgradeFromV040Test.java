package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import javax.sql.DataSource;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Upgrading a Supabase project that runs V040 (the schema before issue 12) with work in it:
 * a job in flight under a worker's lease, a pending job, a configured budget with an open
 * reservation, patient profiles, grants and a registered file. After {@code migrate} to the
 * newest version everything is still there and usable with the same leases and reservation,
 * and the new settings (pg_temp last, no API-role access to the budget) are in place.
 */
class UpgradeFromV040Test {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  @Test
  void migratingAV040DatabaseKeepsItsDataAndClosesTheHoles() throws SQLException {
    pg.migrateTo("40");

    try (SecurityWorld world = SecurityWorld.create(pg)) {
      DataSource worker = pg.loginAs("upgrade_worker", "queue_worker");
      SecurityWorld.Registration inFlight = world.register(world.owner, "upgrade-in-flight");
      SecurityWorld.Registration waiting = world.register(world.owner, "upgrade-waiting");
      SecurityWorld.Claim claim = SecurityWorld.claim(worker, "upgrade-worker");
      assertThat(claim.jobId()).isEqualTo(inFlight.jobId());
      UUID reservation;
      try (Connection c = worker.getConnection()) {
        c.createStatement().execute("SELECT public.configure_token_budget('openai', 50000, 100, 60)");
        try (ResultSet rs = c.createStatement().executeQuery(
            "SELECT reservation_id FROM public.reserve_tokens('openai', 1200, 1, '" + inFlight.jobId() + "')")) {
          rs.next();
          reservation = rs.getObject(1, UUID.class);
        }
      }
      assertThat(world.text("SELECT array_to_string(proconfig, ',') FROM pg_proc WHERE proname = 'reserve_tokens'"))
          .as("V040: the old setting").isEqualTo("search_path=\"\"");
      assertThat(world.text("SELECT has_function_privilege('anon', 'public.configure_token_budget(text, bigint, integer, integer)', 'EXECUTE')::text"))
          .as("V040 on Supabase: anon may configure the budget").isEqualTo("true");
      String patientRows = patientRows(world);
      String budgetRow = world.text("SELECT tokens_per_window || '/' || requests_per_window || '/' || window_seconds"
          + " FROM public.token_budget WHERE name = 'openai'");

      MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
      assertThat(upgrade.success).isTrue();
      assertThat(upgrade.migrationsExecuted).isGreaterThanOrEqualTo(2);
      assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(51);

      // data kept
      assertThat(patientRows(world)).isEqualTo(patientRows);
      assertThat(world.text("SELECT tokens_per_window || '/' || requests_per_window || '/' || window_seconds"
          + " FROM public.token_budget WHERE name = 'openai'")).isEqualTo(budgetRow);
      assertThat(world.text("SELECT status FROM public.job_queue WHERE id = ?", waiting.jobId())).isEqualTo("pending");
      assertThat(world.text("SELECT status || '/' || lease_token FROM public.job_queue WHERE id = ?", inFlight.jobId()))
          .isEqualTo("processing/" + claim.leaseToken());

      // and usable with the same lease and reservation
      try (Connection c = worker.getConnection();
          PreparedStatement heartbeat = c.prepareStatement("SELECT public.heartbeat_job(?, ?)");
          PreparedStatement settle = c.prepareStatement("SELECT public.settle_tokens(?, 900)")) {
        heartbeat.setObject(1, claim.jobId());
        heartbeat.setObject(2, claim.leaseToken());
        assertThat(one(heartbeat)).isTrue();
        settle.setObject(1, reservation);
        assertThat(one(settle)).isTrue();
      }
      assertThat(SecurityWorld.writeBack(worker, claim,
          "{\"text\": \"after the upgrade\", \"page_count\": 1, \"processor\": \"local\"}", "[]", 900)).isTrue();
      assertThat(world.text("SELECT status FROM public.shell_files WHERE id = ?", inFlight.shellFileId())).isEqualTo("completed");

      // the new settings
      try (Connection c = pg.superuser().getConnection()) {
        assertThat(PgTempShadowingTest.unsafeFunctions(c)).isEmpty();
      }
      assertThat(world.text("SELECT has_function_privilege('anon', 'public.configure_token_budget(text, bigint, integer, integer)', 'EXECUTE')::text"))
          .isEqualTo("false");
      assertThat(world.text("SELECT has_table_privilege('service_role', 'public.token_budget', 'TRUNCATE')::text"))
          .isEqualTo("false");
    }
  }

  private static String patientRows(SecurityWorld world) throws SQLException {
    return world.text("""
        SELECT (SELECT string_agg(id || ':' || account_owner_id || ':' || display_name, ',' ORDER BY id) FROM public.user_profiles)
            || '|' || (SELECT string_agg(user_id || ':' || access_level, ',' ORDER BY user_id) FROM public.profile_access_permissions)
            || '|' || (SELECT string_agg(id || ':' || storage_path, ',' ORDER BY id) FROM public.shell_files)""");
  }

  private static boolean one(PreparedStatement ps) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getBoolean(1);
    }
  }
}
