package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shared OpenAI token budget against the API roles on Supabase's privilege model
 * (issue 12, point 2): with real signed tokens through the PostgREST-like gateway, anon (the
 * public key, or no token), a signed-in user (HS256 and ES256) and service_role try to
 * configure, block, reserve, settle, read and lift the budget and to write, truncate or read its
 * tables directly. Every attempt is refused with 42501 and the budget the worker configured is
 * exactly as it was.
 */
class TokenBudgetApiAttackTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static SecurityWorld world;
  static DataSource worker;
  static UUID workerReservation;

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
    worker = pg.loginAs("budget_worker", "queue_worker");
    try (Connection c = worker.getConnection()) {
      c.createStatement().execute("SELECT public.configure_token_budget('openai', 100000, 500, 60)");
      try (ResultSet rs = c.createStatement().executeQuery(
          "SELECT granted, reservation_id FROM public.reserve_tokens('openai', 1000)")) {
        rs.next();
        assertThat(rs.getBoolean(1)).as("the worker's own reservation (positive control)").isTrue();
        workerReservation = rs.getObject(2, UUID.class);
      }
    }
  }

  @AfterAll
  static void close() {
    world.close();
  }

  /** What every attacker tries, by name. */
  static Map<String, String> attempts() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("lift the limit", "SELECT public.configure_token_budget('openai', 9223372036854775807, 2147483647, 1)");
    m.put("shrink the limit (every job dead-letters)", "SELECT public.configure_token_budget('openai', 1, 1, 3600)");
    m.put("block for an hour", "SELECT public.block_token_budget('openai', 3600000, 'anon was here')");
    m.put("reserve the whole window", "SELECT * FROM public.reserve_tokens('openai', 99000, 1, NULL, 2147483647)");
    m.put("settle the worker's reservation", "SELECT public.settle_tokens('" + workerReservation + "', 0)");
    m.put("read the budget", "SELECT * FROM public.token_budget_status('openai')");
    m.put("probe for a budget", "SELECT public.token_budget_exists('openai')");
    m.put("update the table", "UPDATE public.token_budget SET tokens_per_window = 1");
    m.put("lift a block in the table", "UPDATE public.token_budget SET blocked_until = NULL");
    m.put("park a reservation until 2094", """
        INSERT INTO public.token_budget_reservation (budget_name, tokens, requests, reserved_at, active_until)
        VALUES ('openai', 99000, 1, now(), '2094-01-01')""");
    m.put("delete the reservations", "DELETE FROM public.token_budget_reservation");
    m.put("truncate the budget", "TRUNCATE public.token_budget CASCADE");
    m.put("truncate the reservations", "TRUNCATE public.token_budget_reservation");
    m.put("read the table", "SELECT * FROM public.token_budget");
    m.put("read the reservations", "SELECT * FROM public.token_budget_reservation");
    return m;
  }

  @Test
  void noApiRoleCanConfigureBlockReserveOrLiftTheBudget() throws SQLException {
    String before = budgetState();
    Map<String, String> tokens = new LinkedHashMap<>();
    tokens.put("anon key", world.tokens.anonKey());
    tokens.put("no token (anon)", null);
    tokens.put("signed-in user (HS256)", world.token(world.owner));
    tokens.put("signed-in user (ES256)", world.tokens.userEs256(world.stranger));
    tokens.put("service_role key", world.tokens.serviceRoleKey());
    List<String> notRefused = new ArrayList<>();
    int tried = 0;
    for (var who : tokens.entrySet()) {
      for (var attempt : attempts().entrySet()) {
        tried++;
        String outcome = outcome(who.getValue(), attempt.getValue());
        if (!outcome.equals("42501")) {
          notRefused.add(who.getKey() + " could " + attempt.getKey() + ": " + outcome);
        }
      }
    }
    assertThat(tried).isEqualTo(tokens.size() * attempts().size());
    assertThat(notRefused).as("attempts not refused with 42501").isEmpty();
    assertThat(budgetState()).as("the budget is exactly as the worker left it").isEqualTo(before);
    assertThat(world.count("SELECT count(*) FROM public.token_budget_reservation WHERE id = ?", workerReservation))
        .isEqualTo(1);
  }

  @Test
  void theApiRolesHoldNoPrivilegeOnTheBudgetTablesOrFunctions() throws SQLException {
    List<String> held = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("""
            SELECT r.role || ' ' || p.priv || ' on ' || t.tab
              FROM (VALUES ('anon'), ('authenticated'), ('service_role'), ('public')) r(role)
             CROSS JOIN (VALUES ('public.token_budget'), ('public.token_budget_reservation')) t(tab)
             CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) p(priv)
             WHERE has_table_privilege(r.role, t.tab, p.priv)
            UNION ALL
            SELECT r.role || ' EXECUTE on ' || f.oid::regprocedure
              FROM (VALUES ('anon'), ('authenticated'), ('service_role'), ('public')) r(role)
             CROSS JOIN pg_proc f
             WHERE f.pronamespace = 'public'::regnamespace
               AND f.proname IN ('configure_token_budget', 'token_budget_exists', 'reserve_tokens',
                                 'settle_tokens', 'block_token_budget', 'token_budget_status')
               AND has_function_privilege(r.role, f.oid, 'EXECUTE')""");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        held.add(rs.getString(1));
      }
    }
    assertThat(held).isEmpty();
  }

  private static String outcome(String token, String sql) {
    try {
      return world.api.request(token, c -> {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
          ps.execute();
          return "ran";
        }
      });
    } catch (SQLException e) {
      return e.getSQLState();
    }
  }

  private static String budgetState() throws SQLException {
    return world.text("""
        SELECT b.tokens_per_window || '/' || b.requests_per_window || '/' || b.window_seconds || '/'
               || coalesce(b.blocked_until::text, 'unblocked') || '/' || b.updated_at || '/'
               || (SELECT string_agg(r.id || ':' || r.tokens || ':' || r.active_until, ',' ORDER BY r.id)
                     FROM public.token_budget_reservation r)
          FROM public.token_budget b WHERE b.name = 'openai'""");
  }
}
