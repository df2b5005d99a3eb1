package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The migrations on a database that already looks like a Supabase project: an existing auth
 * schema and functions (left untouched) and Supabase's default privileges, which grant every new
 * table and function in public to anon/authenticated/service_role (revoked by the migrations).
 */
class SupabaseCompatTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);
  @RegisterExtension static PostgresExtension migrated = new PostgresExtension();

  private static final UUID SUPABASE_MARKER = UUID.fromString("00000000-0000-0000-0000-00000000abcd");

  @Test
  void migratesOntoASupabaseLikeDatabaseWithoutTouchingAuthAndWithoutLeakingGrants() throws Exception {
    Db su = new Db(pg.superuser());
    // what a Supabase project already has before our migrations run
    su.exec(
        """
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN CREATE ROLE service_role NOLOGIN BYPASSRLS; END IF;
        END $$
        """);
    su.exec("CREATE SCHEMA auth");
    su.exec("CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT '" + SUPABASE_MARKER + "'::uuid $$");
    su.exec("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role");
    su.exec("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role");
    su.exec("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role");

    Migrations.migrate(pg.superuser());

    assertThat((UUID) su.value("SELECT auth.uid()")).as("existing auth.uid() kept").isEqualTo(SUPABASE_MARKER);
    assertThat((String) su.value("SELECT auth.role()")).as("missing ones added").isNull();
    for (String role : List.of("anon", "authenticated")) {
      for (String fn : List.of("public.claim_next_job(text, text[], text[], integer)",
          "public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer)",
          "public.log_audit_event(text, text, text, jsonb, jsonb, text, uuid, uuid, uuid)",
          "public.queue_stats(text[], text[], interval)")) {
        assertThat((boolean) su.value("SELECT has_function_privilege(?, ?, 'EXECUTE')", role, fn))
            .as("%s executes %s", role, fn).isFalse();
      }
      for (String table : List.of("public.job_queue", "public.audit_log")) {
        assertThat((boolean) su.value("SELECT has_table_privilege(?, ?, 'SELECT')", role, table)).isFalse();
      }
      assertThat((boolean) su.value("SELECT has_sequence_privilege(?, 'public.audit_log_id_seq', 'USAGE')", role)).isFalse();
    }
    assertThat((boolean) su.value("SELECT has_table_privilege('service_role', 'public.job_queue', 'UPDATE')")).isFalse();
    assertThat((boolean) su.value("SELECT has_table_privilege('service_role', 'public.job_queue', 'SELECT')")).isTrue();
  }

  @Test
  void authFunctionsReadTheClaimsLikeSupabase() throws Exception {
    // `migrated` is a separate database where V001 created the auth functions itself
    UUID sub = UUID.randomUUID();
    UUID legacy = UUID.randomUUID();
    try (Connection c = migrated.superuser().getConnection();
        Statement s = c.createStatement()) {
      assertThat(one(s, "SELECT auth.uid()::text")).isNull();
      assertThat(one(s, "SELECT auth.jwt()::text")).isNull();
      s.execute("SELECT set_config('request.jwt.claims', '{\"sub\":\"" + sub
          + "\",\"role\":\"authenticated\",\"email\":\"a@b.c\"}', false)");
      assertThat(one(s, "SELECT auth.uid()::text")).isEqualTo(sub.toString());
      assertThat(one(s, "SELECT auth.role()")).isEqualTo("authenticated");
      assertThat(one(s, "SELECT auth.email()")).isEqualTo("a@b.c");
      assertThat(one(s, "SELECT auth.jwt()->>'sub'")).isEqualTo(sub.toString());
      // the legacy per-claim setting wins, as in Supabase
      s.execute("SELECT set_config('request.jwt.claim.sub', '" + legacy + "', false)");
      assertThat(one(s, "SELECT auth.uid()::text")).isEqualTo(legacy.toString());
      s.execute("SELECT set_config('request.jwt.claim.sub', '', false)");
      assertThat(one(s, "SELECT auth.uid()::text")).isEqualTo(sub.toString());
      // anon and authenticated may call them (policies do)
      s.execute("SET ROLE authenticated");
      assertThat(one(s, "SELECT auth.uid()::text")).isEqualTo(sub.toString());
    }
  }

  private static String one(Statement s, String sql) throws Exception {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
