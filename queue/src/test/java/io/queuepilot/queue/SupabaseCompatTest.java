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
 * The compatibility migration (V001) on both worlds: on a Supabase project (PostgresExtension's
 * default world: roles, auth owned by supabase_auth_admin, Supabase's default privileges granting
 * every new table and function in public to anon/authenticated/service_role) it leaves auth
 * untouched and the migrations leak no grant; on plain PostgreSQL (no such roles or schema) it
 * supplies them.
 */
class SupabaseCompatTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);
  @RegisterExtension static PostgresExtension plain = PostgresExtension.plainPostgres(true);

  private static final UUID SUPABASE_MARKER = UUID.fromString("00000000-0000-0000-0000-00000000abcd");

  @Test
  void migratesOntoASupabaseProjectWithoutTouchingAuthAndWithoutLeakingGrants() throws Exception {
    Db su = new Db(pg.superuser());
    // Supabase Auth's own auth.uid(), recognisable by its answer
    su.exec("CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT '"
        + SUPABASE_MARKER + "'::uuid $$");
    assertThat((boolean) su.value("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'"))
        .as("migrations run as Supabase's non-superuser postgres").isFalse();

    Migrations.migrate(pg.migrationRole());

    assertThat((UUID) su.value("SELECT auth.uid()")).as("existing auth.uid() kept").isEqualTo(SUPABASE_MARKER);
    assertThat(su.rows("""
        SELECT p.proname FROM pg_proc p
         WHERE p.pronamespace = 'auth'::regnamespace AND pg_get_userbyid(p.proowner) <> 'supabase_auth_admin'"""))
        .as("every auth function still belongs to Supabase Auth").isEmpty();
    for (String role : List.of("anon", "authenticated")) {
      for (String fn : List.of("public.claim_next_job(text, text[], text[], integer)",
          "public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer)",
          "public.log_audit_event(text, text, text, jsonb, jsonb, text, uuid, uuid, uuid)",
          "public.queue_stats(text[], text[], interval)",
          "public.configure_token_budget(text, bigint, integer, integer)",
          "public.block_token_budget(text, bigint, text)",
          "public.reserve_tokens(text, bigint, integer, uuid, integer)")) {
        assertThat((boolean) su.value("SELECT has_function_privilege(?, ?, 'EXECUTE')", role, fn))
            .as("%s executes %s", role, fn).isFalse();
      }
      for (String table : List.of("public.job_queue", "public.audit_log", "public.token_budget")) {
        assertThat((boolean) su.value("SELECT has_table_privilege(?, ?, 'SELECT')", role, table)).isFalse();
      }
      assertThat((boolean) su.value("SELECT has_sequence_privilege(?, 'public.audit_log_id_seq', 'USAGE')", role)).isFalse();
    }
    assertThat((boolean) su.value("SELECT has_table_privilege('service_role', 'public.job_queue', 'UPDATE')")).isFalse();
    assertThat((boolean) su.value("SELECT has_table_privilege('service_role', 'public.job_queue', 'SELECT')")).isTrue();
    // hosted Supabase: the database is supabase_admin's, so postgres cannot revoke TEMP from PUBLIC (V050 warns)
    assertThat((boolean) su.value("SELECT has_database_privilege('public', current_database(), 'TEMPORARY')")).isTrue();
  }

  @Test
  void onPlainPostgresTheCompatMigrationCreatesTheRolesAndRevokesTemp() throws Exception {
    Db su = new Db(plain.superuser());
    assertThat(su.rows("""
        SELECT rolname, rolcanlogin, rolinherit, rolbypassrls FROM pg_roles
         WHERE rolname IN ('anon', 'authenticated', 'service_role') ORDER BY rolname"""))
        .extracting(r -> r.get("rolname") + " login=" + r.get("rolcanlogin") + " bypassrls=" + r.get("rolbypassrls"))
        .containsExactly("anon login=false bypassrls=false", "authenticated login=false bypassrls=false",
            "service_role login=false bypassrls=true");
    assertThat((Object) su.value("SELECT to_regclass('auth.users')")).as("plain PostgreSQL has no auth.users").isNull();
    // the migrating role owns the database here, so V050 took TEMP away from PUBLIC
    assertThat((boolean) su.value("SELECT has_database_privilege('public', current_database(), 'TEMPORARY')")).isFalse();
    assertThat((boolean) su.value("SELECT has_database_privilege('anon', current_database(), 'TEMPORARY')")).isFalse();
  }

  @Test
  void authFunctionsReadTheClaimsLikeSupabase() throws Exception {
    // on plain PostgreSQL V001 created the auth functions itself
    UUID sub = UUID.randomUUID();
    UUID legacy = UUID.randomUUID();
    try (Connection c = plain.superuser().getConnection();
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
