package io.queuepilot.queue.security;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The people and data every security test starts from, on a freshly migrated database: one
 * patient profile owned by {@link #owner}, a delegate at every level plus a not-yet-started,
 * an expired and a revoked one, a stranger with a profile of their own, and the PostgREST-like
 * {@link #api} that turns their signed tokens into database requests.
 */
final class SecurityWorld implements AutoCloseable {

  final PostgresExtension pg;
  final SupabaseTokens tokens;
  final PostgrestGateway api;
  final HikariDataSource authenticatorPool;

  final UUID owner = UUID.randomUUID();
  final UUID fullAccess = UUID.randomUUID();
  final UUID readWrite = UUID.randomUUID();
  final UUID readOnly = UUID.randomUUID();
  final UUID emergency = UUID.randomUUID();
  final UUID notStarted = UUID.randomUUID();
  final UUID expired = UUID.randomUUID();
  final UUID revoked = UUID.randomUUID();
  final UUID stranger = UUID.randomUUID();

  /** The patient profile everything is about, owned by {@link #owner}. */
  final UUID patient = UUID.randomUUID();
  /** The stranger's own profile. */
  final UUID strangersPatient = UUID.randomUUID();

  private SecurityWorld(PostgresExtension pg, Clock clock, int poolSize) throws SQLException {
    this.pg = pg;
    this.tokens = SupabaseTokens.newProject(clock);
    createAuthenticator(pg.superuser());
    HikariConfig config = new HikariConfig();
    config.setDataSource(pg.dataSource("authenticator", "authenticator"));
    config.setMaximumPoolSize(poolSize);
    config.setPoolName("postgrest-" + pg.databaseName());
    this.authenticatorPool = new HikariDataSource(config);
    this.api = new PostgrestGateway(authenticatorPool, tokens.jwtSecret(),
        List.of(tokens.publicSigningKey()), "authenticated", "anon", clock);
    seedPeople();
  }

  static SecurityWorld create(PostgresExtension pg) throws SQLException {
    return new SecurityWorld(pg, Clock.systemUTC(), 8);
  }

  static SecurityWorld create(PostgresExtension pg, int poolSize) throws SQLException {
    return new SecurityWorld(pg, Clock.systemUTC(), poolSize);
  }

  /**
   * PostgREST's login role, as on Supabase: NOINHERIT, and a member of the three API roles it
   * switches to with SET ROLE. Roles are cluster-wide, so created once per server.
   */
  static void createAuthenticator(DataSource superuser) throws SQLException {
    try (Connection c = superuser.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          """
          DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') THEN
              CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD 'authenticator';
            END IF;
          EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
          END $$;
          GRANT anon, authenticated, service_role TO authenticator;
          """);
    }
  }

  private void seedPeople() throws SQLException {
    pg.createAuthUsers(owner, fullAccess, readWrite, readOnly, emergency, notStarted, expired, revoked, stranger);
    try (Connection c = pg.superuser().getConnection()) {
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO public.user_profiles (id, account_owner_id, display_name, profile_type) VALUES (?, ?, ?, ?)")) {
        ps.setObject(1, patient);
        ps.setObject(2, owner);
        ps.setString(3, "Pat Patient");
        ps.setString(4, "child");
        ps.execute();
        ps.setObject(1, strangersPatient);
        ps.setObject(2, stranger);
        ps.setString(3, "Stan Stranger");
        ps.setString(4, "self");
        ps.execute();
      }
      grant(c, fullAccess, "full_access", "now() - interval '1 day'", null, null);
      grant(c, readWrite, "read_write", "now() - interval '1 day'", "now() + interval '30 days'", null);
      grant(c, readOnly, "read_only", "now() - interval '1 day'", null, null);
      grant(c, emergency, "emergency", "now() - interval '1 day'", null, null);
      grant(c, notStarted, "read_write", "now() + interval '1 day'", null, null);
      grant(c, expired, "read_write", "now() - interval '2 days'", "now() - interval '1 day'", null);
      grant(c, revoked, "read_write", "now() - interval '2 days'", null, "now() - interval '1 hour'");
    }
  }

  private void grant(Connection c, UUID user, String level, String startsAt, String expiresAt,
      String revokedAt) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO public.profile_access_permissions (profile_id, user_id, access_level, granted_by,"
            + " starts_at, expires_at, revoked_at) VALUES (?, ?, ?::public.profile_access_level, ?, "
            + startsAt + ", " + (expiresAt == null ? "NULL" : expiresAt) + ", "
            + (revokedAt == null ? "NULL" : revokedAt) + ")")) {
      ps.setObject(1, patient);
      ps.setObject(2, user);
      ps.setString(3, level);
      ps.setObject(4, owner);
      ps.execute();
    }
  }

  /** A user's HS256 access token, as Supabase Auth issues it by default. */
  String token(UUID user) {
    return tokens.userHs256(user);
  }

  /** Registers a file for {@link #patient} as {@code user}; returns (shell_file_id, job_id, created). */
  Registration register(UUID user, String key) throws SQLException {
    return api.request(token(user), c -> registerOn(c, patient, key, "application/pdf", 1234L));
  }

  static Registration registerOn(Connection c, UUID patient, String key, String mime, Long size)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT shell_file_id, job_id, created FROM public.register_shell_file(?, ?, ?, ?, ?, ?, ?)")) {
      ps.setObject(1, patient);
      ps.setString(2, "medical-docs");
      ps.setString(3, patient + "/" + key + ".pdf");
      ps.setString(4, key + ".pdf");
      ps.setString(5, mime);
      if (size == null) {
        ps.setNull(6, java.sql.Types.BIGINT);
      } else {
        ps.setLong(6, size);
      }
      ps.setString(7, key);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new Registration(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class), rs.getBoolean(3));
      }
    }
  }

  record Registration(UUID shellFileId, UUID jobId, boolean created) {}

  /** A job claimed by a queue_worker login. */
  record Claim(UUID jobId, UUID leaseToken) {}

  /** Claims the next document_extraction job as a member of queue_worker. */
  static Claim claim(DataSource worker, String workerId) throws SQLException {
    try (Connection c = worker.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT id, lease_token FROM public.claim_next_job(?, ARRAY['document_extraction'], ARRAY['ai'], 1)")) {
      ps.setString(1, workerId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        return new Claim(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class));
      }
    }
  }

  /** Calls write_back_extraction as a member of queue_worker. */
  static boolean writeBack(DataSource worker, Claim claim, String document, String events, Integer tokensUsed)
      throws SQLException {
    try (Connection c = worker.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT public.write_back_extraction(?, ?, ?::jsonb, ?::jsonb, ?)")) {
      ps.setObject(1, claim.jobId());
      ps.setObject(2, claim.leaseToken());
      ps.setString(3, document);
      ps.setString(4, events);
      if (tokensUsed == null) {
        ps.setNull(5, java.sql.Types.INTEGER);
      } else {
        ps.setInt(5, tokensUsed);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /** A single number from the superuser's view of the database. */
  long count(String sql, Object... args) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** A single value from the superuser's view of the database. */
  String text(String sql, Object... args) throws SQLException {
    return text(pg.superuser(), sql, args);
  }

  void execute(String sql, Object... args) throws SQLException {
    execute(pg.superuser(), sql, args);
  }

  /** A single value (first column of the first row, or null) as {@code db} sees it. */
  static String text(DataSource db, String sql, Object... args) throws SQLException {
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /** Runs one statement with bound arguments on {@code db}. */
  static void execute(DataSource db, String sql, Object... args) throws SQLException {
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.execute();
    }
  }

  @Override
  public void close() {
    authenticatorPool.close();
  }
}
