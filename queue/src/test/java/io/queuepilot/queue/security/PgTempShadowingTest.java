package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Savepoint;
import java.sql.Statement;
import java.sql.Types;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * pg_temp shadowing (issue 12, point 1): a session allowed to create temporary objects (TEMP is
 * PUBLIC's on hosted Supabase) defines {@code pg_temp.uuid}, {@code pg_temp.text}, ... as
 * domains whose CHECK calls the attacker's own function; a SECURITY DEFINER function that
 * resolves one of those type names through pg_temp runs that function as its owner.
 *
 * <p>The catalog test fails the build for any definer function of ours without
 * {@code search_path = pg_catalog, pg_temp}. The attack test tries the shadowing, as every
 * non-owner role that may EXECUTE each definer function (worker and controller logins; anon,
 * authenticated and service_role through the PostgREST-like gateway with real tokens), for
 * every type name the function's body mentions (read from pg_proc.prosrc), and asserts the
 * attacker's function never ran. The canary test shows the same attack succeeding — and
 * reading document text as the owner — against a definer function with the old
 * {@code search_path = ''}, and both checks catching it.
 */
class PgTempShadowingTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  /** What the attacker's function says when it runs; found in errors and warnings. */
  static final String MARK = "qp-shadow-ran";

  static final String SAFE_SETTING = "search_path=pg_catalog, pg_temp";

  /** Type names the grammar maps to pg_catalog types (shadowing them is tried too). */
  static final Map<String, String> KEYWORD_TYPES = Map.ofEntries(
      Map.entry("int", "pg_catalog.int4"), Map.entry("integer", "pg_catalog.int4"),
      Map.entry("smallint", "pg_catalog.int2"), Map.entry("bigint", "pg_catalog.int8"),
      Map.entry("boolean", "pg_catalog.bool"), Map.entry("real", "pg_catalog.float4"),
      Map.entry("decimal", "pg_catalog.numeric"), Map.entry("numeric", "pg_catalog.numeric"),
      Map.entry("interval", "pg_catalog.interval"), Map.entry("timestamp", "pg_catalog.timestamp"),
      Map.entry("varchar", "pg_catalog.varchar"));

  static SecurityWorld world;
  /** Gateway opening a NEW authenticator connection per request, so no backend has the functions compiled yet. */
  static PostgrestGateway freshApi;
  static DataSource workerLogin;
  static DataSource controllerLogin;
  /** Names of every type in pg_catalog a domain can be based on. */
  static Set<String> catalogTypes;

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
    freshApi = new PostgrestGateway(pg.dataSource("authenticator", "authenticator"), world.tokens.jwtSecret(),
        List.of(world.tokens.publicSigningKey()), "authenticated", "anon", Clock.systemUTC());
    workerLogin = pg.loginAs("shadow_worker", "queue_worker");
    controllerLogin = pg.loginAs("shadow_controller", "queue_controller");
    // one patient document the escalation would read
    SecurityWorld.Registration file = world.register(world.owner, "shadow-file");
    SecurityWorld.Claim claim = SecurityWorld.claim(workerLogin, "shadow-seed");
    assertThat(claim.jobId()).isEqualTo(file.jobId());
    assertThat(SecurityWorld.writeBack(workerLogin, claim,
        "{\"text\": \"Diagnosis: secret\", \"page_count\": 1, \"processor\": \"local\"}", "[]", 10)).isTrue();
    catalogTypes = new TreeSet<>();
    try (Connection c = pg.superuser().getConnection();
        ResultSet rs = c.createStatement().executeQuery("""
            SELECT typname FROM pg_catalog.pg_type
             WHERE typnamespace = 'pg_catalog'::regnamespace AND typtype IN ('b', 'r', 'm')
               AND typname !~ '^_'""")) {
      while (rs.next()) {
        catalogTypes.add(rs.getString(1));
      }
    }
  }

  @AfterAll
  static void close() {
    world.close();
  }

  /** A SECURITY DEFINER function as the catalog has it. */
  record Target(long oid, String signature, String qualifiedName, String owner, List<String> argTypes, String body) {}

  /** Who attacks, and how their session is opened. */
  record Attacker(String name, String role, Session session) {}

  @FunctionalInterface
  interface Session {
    <T> T run(PostgrestGateway.Work<T> work) throws SQLException;
  }

  @Test
  void everyDefinerFunctionOfOursPutsPgTempLast() throws SQLException {
    try (Connection c = pg.superuser().getConnection()) {
      assertThat(definerFunctions(c)).as("definer functions found (the check is not vacuous)").hasSizeGreaterThanOrEqualTo(30)
          .extracting(Target::signature)
          .as("the batched lease-guarded and scoped requeue functions (V080) are among them")
          .contains("complete_jobs(uuid[],uuid[],jsonb[],integer[])", "heartbeat_jobs(uuid[],uuid[])",
              "fail_jobs(uuid[],uuid[],jsonb[],boolean[])", "release_jobs(uuid[],uuid[],interval)",
              "requeue_stale_jobs(interval,text[],text[])",
              "enqueue_jobs(text[],jsonb[],text[],text[],integer[],timestamp with time zone[],integer[],uuid[],uuid[],uuid[],integer[])",
              "complete_and_claim_jobs(uuid[],uuid[],jsonb[],integer[],text,text[],text[],integer)");
      assertThat(unsafeFunctions(c)).as("functions of ours without " + SAFE_SETTING).isEmpty();
    }
  }

  /**
   * pg_temp stays on the path (last), so an unqualified relation name that is not in
   * pg_catalog would resolve to an attacker's temporary table or view: no function of ours
   * names one of our relations without its schema (string literals and comments aside).
   */
  @Test
  void noFunctionOfOursNamesARelationWithoutItsSchema() throws SQLException {
    Set<String> relations = new TreeSet<>();
    Map<String, String> bodies = new LinkedHashMap<>();
    try (Connection c = pg.superuser().getConnection()) {
      try (ResultSet rs = c.createStatement().executeQuery("""
          SELECT relname FROM pg_catalog.pg_class
           WHERE relnamespace IN ('public'::regnamespace, 'auth'::regnamespace, 'storage'::regnamespace)
             AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f')""")) {
        while (rs.next()) {
          relations.add(rs.getString(1));
        }
      }
      try (ResultSet rs = c.createStatement().executeQuery("""
          SELECT p.oid::regprocedure::text, p.prosrc FROM pg_catalog.pg_proc p
           WHERE p.pronamespace = 'public'::regnamespace
             AND p.proowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'postgres')""")) {
        while (rs.next()) {
          bodies.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    assertThat(relations).contains("job_queue", "document_texts", "token_budget");
    List<String> unqualified = new ArrayList<>();
    Pattern word = Pattern.compile("(?<![.\\w\"])([a-z_][a-z0-9_]*)(?![\\w\"(])");
    for (var fn : bodies.entrySet()) {
      String code = fn.getValue()
          .replaceAll("--[^\\n]*", " ")
          .replaceAll("'(?:[^']|'')*'", "''");
      Matcher m = word.matcher(code.toLowerCase());
      while (m.find()) {
        if (relations.contains(m.group(1))) {
          unqualified.add(fn.getKey() + ": " + m.group(1));
        }
      }
    }
    assertThat(bodies).hasSizeGreaterThanOrEqualTo(30);
    assertThat(unqualified).as("unqualified relation names in function bodies").isEmpty();
  }

  /**
   * Functions owned by the migration role in public/auth/storage that are SECURITY DEFINER or
   * pin a search_path, without exactly the safe setting.
   */
  static List<String> unsafeFunctions(Connection c) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("""
        SELECT p.oid::regprocedure::text || ' ' || coalesce(array_to_string(p.proconfig, ';'), '(no setting)')
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace IN ('public'::regnamespace, 'auth'::regnamespace, 'storage'::regnamespace)
           AND p.proowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'postgres')
           AND (p.prosecdef OR EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search_path=%'))
           AND NOT coalesce(? = ANY (p.proconfig), false)
         ORDER BY 1""")) {
      ps.setString(1, SAFE_SETTING);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  static List<Target> definerFunctions(Connection c) throws SQLException {
    List<Target> out = new ArrayList<>();
    try (ResultSet rs = c.createStatement().executeQuery("""
        SELECT p.oid, p.oid::regprocedure::text,
               pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname),
               pg_catalog.pg_get_userbyid(p.proowner),
               ARRAY(SELECT pg_catalog.format_type(a.t, NULL)
                       FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, n) ORDER BY a.n),
               p.prosrc
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE p.prosecdef AND p.prorettype <> 'trigger'::regtype
           AND p.pronamespace IN ('public'::regnamespace, 'auth'::regnamespace, 'storage'::regnamespace)
         ORDER BY 2""")) {
      while (rs.next()) {
        out.add(new Target(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
            Arrays.asList((String[]) rs.getArray(5).getArray()), rs.getString(6)));
      }
    }
    return out;
  }

  @Test
  void shadowedTypeNamesRunNothingAsTheOwnerForAnyRoleThatMayCallADefinerFunction() throws SQLException {
    List<Target> targets;
    try (Connection c = pg.superuser().getConnection()) {
      targets = definerFunctions(c);
    }
    List<Attacker> attackers = attackers();
    List<String> breaches = new ArrayList<>();
    Map<String, Integer> attacksByRole = new LinkedHashMap<>();
    Set<String> shadowedNames = new TreeSet<>();
    Set<String> attacked = new TreeSet<>();
    for (Target target : targets) {
      List<String> typeNames = typeNamesIn(target.body());
      shadowedNames.addAll(typeNames);
      for (Attacker attacker : attackers) {
        if (!mayExecute(attacker.role(), target)) {
          continue;
        }
        attacksByRole.merge(attacker.name(), 1, Integer::sum);
        attacked.add(attacker.name() + " -> " + target.signature());
        breaches.addAll(attack(attacker, target, typeNames, false).breaches());
      }
    }
    assertThat(attacksByRole).as("attacks tried, by attacker")
        .containsKeys("worker login", "controller login", "authenticated", "service_role");
    assertThat(attacksByRole.get("worker login")).isGreaterThanOrEqualTo(10);
    // the controller's own definer functions, including the pod-deletion-cost read (V105)
    assertThat(attacked).contains("controller login -> jobs_held_by_workers(text[],interval)",
        "controller login -> queue_stats(text[],text[],interval)");
    assertThat(shadowedNames).as("type names shadowed").contains("uuid", "text", "timestamptz", "jsonb", "integer", "bigint");
    assertThat(breaches).as("calls in which the attacker's pg_temp function ran inside a definer function").isEmpty();
  }

  /**
   * V110's id helper is the one function of ours that a definer function inlines (plain SQL, no
   * SET clause, so no search_path of its own): it names every type by its schema, so even a
   * session whose search_path puts pg_temp first, with domains shadowing the types it casts to
   * (each rejecting every value), gets a real version 7 uuid from it. An unqualified cast would
   * resolve to the domain and fail the call.
   */
  @Test
  void theInlinedJobIdHelperNamesEveryTypeByItsSchema() throws SQLException {
    try (Connection c = pg.superuser().getConnection(); Statement s = c.createStatement()) {
      c.setAutoCommit(false);  // the domains and the setting go with the rollback
      for (String type : List.of("uuid", "text", "int8", "int4", "numeric", "timestamptz")) {
        s.execute("CREATE DOMAIN pg_temp." + type + " AS pg_catalog.text CHECK (VALUE IS NULL)");
      }
      s.execute("SET LOCAL search_path = pg_temp, pg_catalog");
      try (ResultSet rs = s.executeQuery("SELECT public.job_queue_new_id(pg_catalog.now(), 1)::pg_catalog.text")) {
        rs.next();
        UUID id = UUID.fromString(rs.getString(1));
        assertThat(id.version()).isEqualTo(7);
        assertThat(id.variant()).isEqualTo(2);
      } finally {
        c.rollback();
      }
    }
  }

  /**
   * The same attack against a definer function with the old {@code search_path = ''}: the
   * attack test's detector fires, the attacker reads a patient's document text as the owner,
   * and the catalog test lists the function.
   */
  @Test
  void theAttackSucceedsAgainstADefinerFunctionWithAnEmptySearchPathAndBothChecksCatchIt() throws SQLException {
    try (Connection owner = pg.migrationRole().getConnection(); Statement s = owner.createStatement()) {
      s.execute("""
          CREATE FUNCTION public.qp_shadow_canary(p_id uuid) RETURNS text
          LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
          DECLARE
            v_id uuid := p_id;
          BEGIN
            RETURN v_id::text;
          END $$;
          REVOKE ALL ON FUNCTION public.qp_shadow_canary(uuid) FROM PUBLIC, anon, authenticated, service_role;
          GRANT EXECUTE ON FUNCTION public.qp_shadow_canary(uuid) TO queue_worker;
          """);
    }
    try {
      Target canary;
      try (Connection c = pg.superuser().getConnection()) {
        canary = definerFunctions(c).stream().filter(t -> t.signature().startsWith("qp_shadow_canary"))
            .findFirst().orElseThrow();
        assertThat(unsafeFunctions(c)).as("the catalog test lists it").singleElement()
            .asString().startsWith("qp_shadow_canary(uuid) search_path=\"\"");
      }
      Attacker worker = attackers().get(0);
      assertThat(worker.name()).isEqualTo("worker login");
      List<String> typeNames = typeNamesIn(canary.body());
      assertThat(typeNames).contains("uuid", "text");

      AttackResult loud = attack(worker, canary, typeNames, false);
      assertThat(loud.breaches()).as("the detector of the attack test fires").isNotEmpty()
          .allSatisfy(b -> assertThat(b).contains("current_user=postgres").contains("session_user=shadow_worker"));

      AttackResult quiet = attack(worker, canary, typeNames, true);
      assertThat(quiet.ranAs()).as("the attacker's function ran as the owner").isEqualTo("postgres");
      assertThat(quiet.stolen()).as("and read a document text the worker may not read").isEqualTo("Diagnosis: secret");
      assertThat(sqlState(() -> workerLogin.getConnection().createStatement()
          .executeQuery("SELECT text FROM public.document_texts")))
          .as("the worker itself may not").isEqualTo("42501");

      // the fixed setting stops the very same attack
      try (Connection owner = pg.migrationRole().getConnection(); Statement s = owner.createStatement()) {
        s.execute("ALTER FUNCTION public.qp_shadow_canary(uuid) SET search_path = pg_catalog, pg_temp");
      }
      assertThat(attack(worker, canary, typeNames, false).breaches()).isEmpty();
      assertThat(attack(worker, canary, typeNames, true).ranAs()).isNull();
    } finally {
      try (Connection owner = pg.migrationRole().getConnection(); Statement s = owner.createStatement()) {
        s.execute("DROP FUNCTION public.qp_shadow_canary(uuid)");
      }
    }
  }

  private static List<Attacker> attackers() {
    return List.of(
        new Attacker("worker login", "shadow_worker", login(workerLogin)),
        new Attacker("controller login", "shadow_controller", login(controllerLogin)),
        new Attacker("anon", "anon", gateway(world.tokens.anonKey())),
        new Attacker("authenticated", "authenticated", gateway(world.token(world.owner))),
        new Attacker("service_role", "service_role", gateway(world.tokens.serviceRoleKey())));
  }

  private static Session login(DataSource ds) {
    return new Session() {
      @Override
      public <T> T run(PostgrestGateway.Work<T> work) throws SQLException {
        try (Connection c = ds.getConnection()) { // a new backend: nothing compiled yet
          c.setAutoCommit(false);
          try {
            return work.run(c);
          } finally {
            c.rollback();
          }
        }
      }
    };
  }

  private static Session gateway(String token) {
    return new Session() {
      @Override
      public <T> T run(PostgrestGateway.Work<T> work) throws SQLException {
        return freshApi.probe(token, work);
      }
    };
  }

  private static boolean mayExecute(String role, Target target) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT has_function_privilege(?, ?::oid, 'EXECUTE')")) {
      ps.setString(1, role);
      ps.setLong(2, target.oid());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /** Every word of the body that names a pg_catalog type (or a keyword type), in order of appearance. */
  static List<String> typeNamesIn(String body) {
    Set<String> out = new LinkedHashSet<>();
    Matcher m = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*").matcher(body);
    while (m.find()) {
      String word = m.group().toLowerCase();
      if (catalogTypes.contains(word) || KEYWORD_TYPES.containsKey(word)) {
        out.add(word);
      }
    }
    return new ArrayList<>(out);
  }

  record AttackResult(List<String> breaches, String ranAs, String stolen) {}

  /**
   * In one session of {@code attacker}: creates the attacker's function and a pg_temp domain
   * for every name in {@code typeNames}, calls the target with NULL and with plausible
   * arguments, and reports every sign that the attacker's function ran. {@code quiet}: the
   * function does not raise but records whom it ran as and the document text it read.
   */
  static AttackResult attack(Attacker attacker, Target target, List<String> typeNames, boolean quiet)
      throws SQLException {
    return attacker.session().run(c -> {
      List<String> breaches = new ArrayList<>();
      try (Statement s = c.createStatement()) {
        s.execute(quiet ? QUIET_ESCALATION : LOUD_ESCALATION);
        for (String name : typeNames) {
          Savepoint sp = c.setSavepoint();
          try {
            s.execute("CREATE DOMAIN pg_temp.\"" + name + "\" AS " + KEYWORD_TYPES.getOrDefault(name, "pg_catalog.\"" + name + "\"")
                + " CHECK (pg_temp.qp_escalate('" + name + "', VALUE::pg_catalog.text))");
          } catch (SQLException e) {
            c.rollback(sp); // e.g. a type no domain can be based on
          }
        }
      }
      for (boolean plausible : new boolean[] {false, true}) {
        Savepoint sp = c.setSavepoint();
        StringBuilder call = new StringBuilder("SELECT * FROM ").append(target.qualifiedName()).append('(');
        for (int i = 0; i < target.argTypes().size(); i++) {
          call.append(i == 0 ? "?" : ", ?");
        }
        call.append(')');
        try (PreparedStatement ps = c.prepareStatement(call.toString())) {
          for (int i = 0; i < target.argTypes().size(); i++) {
            String value = plausible ? plausibleValue(target.argTypes().get(i)) : null;
            if (value == null) {
              ps.setNull(i + 1, Types.NULL);
            } else {
              ps.setObject(i + 1, value, Types.OTHER);
            }
          }
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              // drain
            }
          }
          collect(ps.getWarnings(), attacker, target, breaches);
        } catch (SQLException e) {
          for (Throwable t = e; t != null; t = t.getCause() != t ? t.getCause() : null) {
            if (String.valueOf(t.getMessage()).contains(MARK)) {
              breaches.add(attacker.name() + " -> " + target.signature() + ": " + t.getMessage());
              break;
            }
          }
          c.rollback(sp);
        }
      }
      collect(c.getWarnings(), attacker, target, breaches);
      String ranAs = null;
      String stolen = null;
      try (ResultSet rs = c.createStatement().executeQuery(
          "SELECT nullif(current_setting('qp.ran_as', true), ''), nullif(current_setting('qp.stolen', true), '')")) {
        rs.next();
        ranAs = rs.getString(1);
        stolen = rs.getString(2);
      }
      return new AttackResult(breaches, ranAs, stolen);
    });
  }

  private static void collect(SQLWarning w, Attacker attacker, Target target, List<String> breaches) {
    for (; w != null; w = w.getNextWarning()) {
      if (String.valueOf(w.getMessage()).contains(MARK)) {
        breaches.add(attacker.name() + " -> " + target.signature() + " (warning): " + w.getMessage());
      }
    }
  }

  private static String plausibleValue(String type) {
    return switch (type) {
      case "uuid" -> UUID.randomUUID().toString();
      case "text", "character varying" -> "medical-docs";
      case "text[]" -> "{document_extraction}";
      case "integer", "bigint", "smallint" -> "1";
      case "jsonb", "json" -> "{}";
      case "interval" -> "1 hour";
      case "timestamp with time zone" -> "2026-01-01T00:00:00Z";
      case "boolean" -> "false";
      case "profile_access_level" -> "read_only";
      default -> null;
    };
  }

  private static String sqlState(ThrowingCall call) {
    try {
      call.run();
      return null;
    } catch (SQLException e) {
      return e.getSQLState();
    }
  }

  @FunctionalInterface
  private interface ThrowingCall {
    Object run() throws SQLException;
  }

  /** What an attacker runs once in as the owner: claim the owner role, then say so (aborting the call). */
  private static final String LOUD_ESCALATION = """
      CREATE FUNCTION pg_temp.qp_escalate(p_type pg_catalog.text, p_value pg_catalog.text) RETURNS pg_catalog.bool
      LANGUAGE plpgsql AS $$
      BEGIN
        BEGIN
          EXECUTE pg_catalog.format('GRANT %I TO %I', current_user, session_user);
        EXCEPTION WHEN OTHERS THEN
          NULL;
        END;
        RAISE WARNING 'qp-shadow-ran type=% current_user=% session_user=%', p_type, current_user, session_user;
        RAISE EXCEPTION 'qp-shadow-ran type=% current_user=% session_user=%', p_type, current_user, session_user;
      END $$""";

  /** The silent variant: records whom it ran as and the document text it could read, lets the call go on. */
  private static final String QUIET_ESCALATION = """
      CREATE FUNCTION pg_temp.qp_escalate(p_type pg_catalog.text, p_value pg_catalog.text) RETURNS pg_catalog.bool
      LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_catalog.set_config('qp.ran_as', current_user::pg_catalog.text, false);
        PERFORM pg_catalog.set_config('qp.stolen',
          (SELECT pg_catalog.string_agg(d.text, '|') FROM public.document_texts d), false);
        RETURN true;
      END $$""";
}
