package io.queuepilot.queue.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The rules behind the matrix: typed level ordering, archived profiles, revocation taking
 * effect on the next request, what owners and delegates may change about grants, storage
 * paths, and the shape of the policies themselves (one per command and role, the
 * {@code (select auth.uid())} form, an index behind every predicate).
 */
class ProfileAccessTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static SecurityWorld world;
  static final String[] LEVELS = {"emergency", "read_only", "read_write", "full_access", "owner"};

  @BeforeAll
  static void seed() throws SQLException {
    world = SecurityWorld.create(pg);
  }

  @AfterAll
  static void close() {
    world.close();
  }

  private boolean hasLevel(UUID user, UUID profile, String level) throws SQLException {
    return world.api.probe(world.token(user), c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT public.has_profile_access_level(?, ?, ?::public.profile_access_level)")) {
        ps.setObject(1, user);
        ps.setObject(2, profile);
        ps.setString(3, level);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getBoolean(1);
        }
      }
    });
  }

  private long countAs(UUID user, String sql, Object... args) throws SQLException {
    return world.api.probe(world.token(user), c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < args.length; i++) {
          ps.setObject(i + 1, args[i]);
        }
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  private int updateAs(UUID user, String sql, Object... args) throws SQLException {
    return world.api.request(world.token(user), c -> {
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < args.length; i++) {
          ps.setObject(i + 1, args[i]);
        }
        return ps.executeUpdate();
      }
    });
  }

  @Test
  void levelsCompareByTheirEnumOrder() throws SQLException {
    assertThat(world.text("SELECT enum_range(NULL::public.profile_access_level)::text"))
        .isEqualTo("{emergency,read_only,read_write,full_access,owner}");
    Map<UUID, Integer> heldLevel = Map.of(world.emergency, 0, world.readOnly, 1, world.readWrite, 2,
        world.fullAccess, 3, world.owner, 4);
    List<String> wrong = new ArrayList<>();
    for (var holder : heldLevel.entrySet()) {
      for (int required = 0; required < LEVELS.length; required++) {
        boolean expected = holder.getValue() >= required;
        if (hasLevel(holder.getKey(), world.patient, LEVELS[required]) != expected) {
          wrong.add(LEVELS[holder.getValue()] + " asked for " + LEVELS[required]);
        }
      }
    }
    assertThat(wrong).isEmpty();
  }

  @Test
  void levelsAreATypeNotText() throws SQLException {
    assertThat(world.text("""
        SELECT pg_get_function_identity_arguments('public.has_profile_access_level(uuid, uuid, public.profile_access_level)'::regprocedure)"""))
        .isEqualTo("p_user_id uuid, p_profile_id uuid, p_required profile_access_level");
    assertThatThrownBy(() -> hasLevel(world.owner, world.patient, "superuser"))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("invalid input value for enum profile_access_level: \"superuser\"");
  }

  @Test
  void archivedProfilesGiveNothingUntilTheOwnerRestoresThem() throws SQLException {
    UUID kid = UUID.randomUUID();
    world.execute("INSERT INTO public.user_profiles (id, account_owner_id, display_name, profile_type) VALUES (?, ?, 'Kit', 'child')",
        kid, world.owner);
    world.execute("INSERT INTO public.profile_access_permissions (profile_id, user_id, access_level) VALUES (?, ?, 'full_access')",
        kid, world.fullAccess);
    world.api.request(world.token(world.owner),
        c -> SecurityWorld.registerOn(c, kid, "kid-scan", "application/pdf", 10L));
    assertThat(countAs(world.fullAccess, "SELECT count(*) FROM public.shell_files WHERE patient_id = ?", kid)).isEqualTo(1);

    assertThat(updateAs(world.owner,
        "UPDATE public.user_profiles SET archived = true, archived_at = now() WHERE id = ?", kid)).isEqualTo(1);

    for (UUID user : List.of(world.owner, world.fullAccess)) {
      assertThat(hasLevel(user, kid, "emergency")).isFalse();
      assertThat(countAs(user, "SELECT count(*) FROM public.shell_files WHERE patient_id = ?", kid)).isZero();
    }
    assertThat(countAs(world.fullAccess, "SELECT count(*) FROM public.user_profiles WHERE id = ?", kid)).isZero();
    assertThat(countAs(world.owner, "SELECT count(*) FROM public.user_profiles WHERE id = ?", kid))
        .as("the owner still sees the archived profile, to restore it").isEqualTo(1);
    assertThatThrownBy(() -> world.api.request(world.token(world.owner),
            c -> SecurityWorld.registerOn(c, kid, "kid-scan-2", "application/pdf", 10L)))
        .hasMessageContaining("no read_write access");

    assertThat(updateAs(world.owner,
        "UPDATE public.user_profiles SET archived = false, archived_at = NULL WHERE id = ?", kid)).isEqualTo(1);
    assertThat(hasLevel(world.fullAccess, kid, "full_access")).isTrue();
  }

  @Test
  void revocationTakesEffectOnTheNextRequest() throws SQLException {
    UUID profile = UUID.randomUUID();
    UUID delegate = UUID.randomUUID();
    world.pg.createAuthUsers(delegate);
    world.execute("INSERT INTO public.user_profiles (id, account_owner_id, display_name) VALUES (?, ?, 'Rev')",
        profile, world.owner);
    world.execute("INSERT INTO public.profile_access_permissions (profile_id, user_id, access_level) VALUES (?, ?, 'read_write')",
        profile, delegate);
    assertThat(hasLevel(delegate, profile, "read_write")).isTrue();

    assertThat(updateAs(world.owner,
        "UPDATE public.profile_access_permissions SET revoked_at = now() WHERE profile_id = ? AND user_id = ?",
        profile, delegate)).isEqualTo(1);
    assertThat(hasLevel(delegate, profile, "emergency")).isFalse();
    assertThat(countAs(delegate, "SELECT count(*) FROM public.user_profiles WHERE id = ?", profile)).isZero();
  }

  @Test
  void ownershipCannotBeDelegatedWidenedOrGivenAway() throws SQLException {
    assertThatThrownBy(() -> updateAs(world.owner,
            "INSERT INTO public.profile_access_permissions (profile_id, user_id, access_level) VALUES (?, ?, 'owner')",
            world.patient, UUID.randomUUID()))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("profile_access_permissions_not_owner");
    assertThat(updateAs(world.fullAccess,
        "UPDATE public.profile_access_permissions SET access_level = 'full_access', expires_at = NULL WHERE user_id = ?",
        world.readWrite)).as("a full_access delegate cannot manage grants").isZero();
    assertThat(updateAs(world.readWrite,
        "UPDATE public.profile_access_permissions SET expires_at = NULL WHERE user_id = ?", world.readWrite))
        .as("a delegate cannot extend their own grant").isZero();
    assertThatThrownBy(() -> updateAs(world.owner,
            "UPDATE public.user_profiles SET account_owner_id = ? WHERE id = ?", world.stranger, world.patient))
        .isInstanceOf(SQLException.class)
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
    assertThatThrownBy(() -> updateAs(world.stranger,
            "INSERT INTO public.user_profiles (account_owner_id, display_name) VALUES (?, 'Mine now')", world.owner))
        .as("nobody creates profiles in someone else's name")
        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
  }

  /**
   * Issue 12: inserting a profile (or a grant) with an id that exists must answer exactly as
   * with an id that does not, so ids cannot be probed; users never choose ids.
   */
  @Test
  void insertingWithAnExistingIdDoesNotRevealThatItExists() throws SQLException {
    String profileSql = "INSERT INTO public.user_profiles (id, account_owner_id, display_name) VALUES (?, ?, 'Probe')";
    String existing = refusal(() -> updateAs(world.stranger, profileSql, world.patient, world.stranger));
    String unknown = refusal(() -> updateAs(world.stranger, profileSql, UUID.randomUUID(), world.stranger));
    assertThat(existing).startsWith("42501 ").doesNotContain("duplicate").doesNotContain(world.patient.toString());
    assertThat(existing).as("the same answer for an existing and an unknown id").isEqualTo(unknown);

    String grantId = world.text("SELECT id::text FROM public.profile_access_permissions WHERE user_id = ?", world.readOnly);
    String grantSql = """
        INSERT INTO public.profile_access_permissions (id, profile_id, user_id, access_level)
        VALUES (?::uuid, ?, ?, 'read_only')""";
    String existingGrant = refusal(() -> updateAs(world.stranger, grantSql, grantId, world.strangersPatient, world.owner));
    String unknownGrant = refusal(() -> updateAs(world.stranger, grantSql, UUID.randomUUID().toString(),
        world.strangersPatient, world.owner));
    assertThat(existingGrant).startsWith("42501 ").doesNotContain("duplicate").isEqualTo(unknownGrant);

    // Creating one's own profile without an id still works.
    assertThat(updateAs(world.stranger,
        "INSERT INTO public.user_profiles (account_owner_id, display_name, profile_type) VALUES (?, 'Stan Jr', 'child')",
        world.stranger)).isEqualTo(1);
  }

  private static String refusal(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
    Throwable t = org.assertj.core.api.Assertions.catchThrowable(call);
    assertThat(t).isInstanceOf(SQLException.class);
    return ((SQLException) t).getSQLState() + " " + t.getMessage();
  }

  @Test
  void storageObjectsOnlyUnderTheFolderOfAnAccessiblePatient() throws SQLException {
    assertThat(world.text("SELECT public::text FROM storage.buckets WHERE id = 'medical-docs'")).isEqualTo("false");
    for (String name : List.of("no-folder.pdf", "not-a-uuid/x.pdf", world.strangersPatient + "/x.pdf",
        "../" + world.patient + "/x.pdf")) {
      assertThatThrownBy(() -> updateAs(world.owner,
              "INSERT INTO storage.objects (bucket_id, name) VALUES ('medical-docs', ?)", name))
          .as(name)
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("row-level security");
    }
    assertThat(updateAs(world.readWrite,
        "INSERT INTO storage.objects (bucket_id, name) VALUES ('medical-docs', ?)",
        world.patient + "/scans/2026/letter.pdf")).isEqualTo(1);
    assertThat(countAs(world.readOnly, "SELECT count(*) FROM storage.objects WHERE name = ?",
        world.patient + "/scans/2026/letter.pdf")).isEqualTo(1);
    assertThat(countAs(world.stranger, "SELECT count(*) FROM storage.objects WHERE name = ?",
        world.patient + "/scans/2026/letter.pdf")).isZero();
    assertThatThrownBy(() -> updateAs(world.readWrite,
            "UPDATE storage.objects SET name = ? WHERE name = ?",
            world.strangersPatient + "/moved.pdf", world.patient + "/scans/2026/letter.pdf"))
        .as("an object cannot be moved into another patient's folder")
        .hasMessageContaining("row-level security");
  }

  @Test
  void policiesAreOnePerCommandAndRoleInTheSelectAuthUidForm() throws SQLException {
    try (Connection c = pg.superuser().getConnection()) {
      List<String> policies = strings(c, """
          SELECT schemaname || '.' || tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text
                 || ' USING ' || coalesce(qual, '-') || ' CHECK ' || coalesce(with_check, '-')
            FROM pg_policies WHERE schemaname IN ('public', 'storage') ORDER BY 1""");
      assertThat(policies).hasSize(14);
      assertThat(policies).allSatisfy(p -> {
        assertThat(p).doesNotContain(" ALL ").contains(" {authenticated} ");
        // auth.uid() only ever appears as the sub-select PostgreSQL evaluates once per statement.
        assertThat(p.replace("( SELECT auth.uid() AS uid)", "")).doesNotContain("auth.uid()");
      });
      assertThat(strings(c, """
          SELECT tablename || ' ' || cmd || ' ' || r FROM pg_policies, unnest(roles) r
           WHERE schemaname IN ('public', 'storage') GROUP BY tablename, cmd, r HAVING count(*) > 1"""))
          .as("no two policies for the same table, command and role (no OR-widening)").isEmpty();
      assertThat(strings(c, """
          SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND permissive <> 'PERMISSIVE'"""))
          .isEmpty();
    }
  }

  @Test
  void anIndexLeadsWithTheColumnOfEveryPolicyPredicate() throws SQLException {
    String[][] expected = {
      {"user_profiles", "account_owner_id"},
      {"user_profiles", "id"},
      {"profile_access_permissions", "user_id, profile_id"},
      {"profile_access_permissions", "profile_id, user_id"},
      {"shell_files", "patient_id"},
      {"shell_files", "patient_id, idempotency_key"},
      {"document_texts", "patient_id"},
      {"clinical_events", "patient_id, event_type"},
    };
    try (Connection c = pg.superuser().getConnection()) {
      List<String> indexes = strings(c, """
          SELECT t.relname || ':' || string_agg(a.attname, ', ' ORDER BY k.ord)
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
            CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
           WHERE n.nspname = 'public'
           GROUP BY x.indexrelid, t.relname""");
      for (String[] e : expected) {
        assertThat(indexes).as("index on %s(%s...)", e[0], e[1])
            .anyMatch(i -> i.startsWith(e[0] + ":" + e[1]));
      }
    }
  }

  @Test
  void theCallerIdIsEvaluatedOncePerStatement() throws SQLException {
    String plan = world.api.probe(world.token(world.readOnly), c -> {
      StringBuilder sb = new StringBuilder();
      try (PreparedStatement ps = c.prepareStatement("EXPLAIN SELECT * FROM public.clinical_events WHERE patient_id = ?")) {
        ps.setObject(1, world.patient);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            sb.append(rs.getString(1)).append('\n');
          }
        }
      }
      return sb.toString();
    });
    assertThat(plan).contains("InitPlan").contains("clinical_events_patient_type_idx");
  }

  private static List<String> strings(Connection c, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
