package io.queuepilot.queue.testing;

import io.queuepilot.queue.EmbeddedDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * An embedded PostgreSQL server turned into the database state of a hosted Supabase project, as
 * supabase/postgres builds it (init-scripts run as postgres, then the migrations as
 * supabase_admin, ending with postgres demoted): {@code supabase_admin} is the bootstrap
 * superuser, {@code postgres} is a NON-superuser (CREATEDB CREATEROLE REPLICATION BYPASSRLS,
 * member of anon/authenticated/service_role, supabase_auth_admin, supabase_storage_admin,
 * pg_monitor, pg_read_all_data, pg_signal_backend) that owns what it creates in public, the API
 * roles and {@code authenticator} as Supabase defines them, {@code auth} owned by
 * supabase_admin with its functions and {@code auth.users} owned by supabase_auth_admin,
 * {@code storage} with buckets/objects owned by supabase_storage_admin, and Supabase's default
 * privileges: ALL on every new table, function and sequence in public (and storage) to anon,
 * authenticated and service_role.
 *
 * <p>Each test database is a copy of a template holding the per-database part, owned by
 * supabase_admin like the hosted project's database, so the migrating role {@code postgres}
 * cannot revoke database privileges from PUBLIC (TEMP stays granted, as on hosted Supabase).
 */
public final class SupabaseCluster {

  /** The Supabase superuser (never available to a customer; test fixtures only). */
  public static final String SUPERUSER = "supabase_admin";

  /** The role the project's migrations and operators use on Supabase. */
  public static final String MIGRATION_ROLE = "postgres";

  static final String TEMPLATE = "supabase_project_template";

  private final EmbeddedDatabase server;

  private SupabaseCluster(EmbeddedDatabase server) {
    this.server = server;
  }

  /**
   * Starts an embedded server and converts it. The embedded server always bootstraps as
   * {@code postgres}, and PostgreSQL 16+ refuses to take SUPERUSER from the bootstrap role; so
   * the bootstrap role is renamed to {@code supabase_admin} (from a helper superuser session,
   * since a session cannot rename its own user) and a fresh, non-superuser {@code postgres} is
   * created, which is exactly how Supabase's image looks (bootstrapped as supabase_admin).
   */
  public static SupabaseCluster start() {
    EmbeddedDatabase server = EmbeddedDatabase.start();
    try {
      exec(ds(server.port(), "postgres", "postgres"),
          "CREATE ROLE qp_bootstrap_rename SUPERUSER LOGIN PASSWORD 'qp_bootstrap_rename'");
      exec(ds(server.port(), "qp_bootstrap_rename", "postgres"), """
          ALTER ROLE postgres RENAME TO supabase_admin;
          ALTER ROLE supabase_admin WITH SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS PASSWORD 'supabase_admin';
          """);
      SupabaseCluster cluster = new SupabaseCluster(server);
      exec(cluster.superuser("postgres"), "DROP ROLE qp_bootstrap_rename");
      exec(cluster.superuser("postgres"), CLUSTER_ROLES);
      exec(cluster.superuser("postgres"), "CREATE DATABASE " + TEMPLATE);
      exec(cluster.superuser(TEMPLATE), PROJECT_DATABASE);
      exec(cluster.superuser("postgres"), "ALTER DATABASE " + TEMPLATE + " WITH ALLOW_CONNECTIONS false");
      return cluster;
    } catch (SQLException e) {
      server.close();
      throw new IllegalStateException("could not set up the Supabase-like cluster: " + e.getMessage(), e);
    }
  }

  public int port() {
    return server.port();
  }

  public void close() {
    server.close();
  }

  /** Creates database {@code name} as a copy of the Supabase project template. */
  public void createProjectDatabase(String name) throws SQLException {
    exec(superuser("postgres"), """
        CREATE DATABASE %1$s TEMPLATE %2$s OWNER supabase_admin;
        GRANT ALL ON DATABASE %1$s TO postgres, dashboard_user;
        """.formatted(name, TEMPLATE));
  }

  /** A superuser ({@code supabase_admin}) data source on {@code database}. */
  public DataSource superuser(String database) {
    return ds(server.port(), SUPERUSER, database);
  }

  /**
   * Adds a user to {@code auth.users} the way Supabase Auth does on sign-up (what the
   * foreign keys of user_profiles and profile_access_permissions point at). Repeats are no-ops.
   */
  public static void createAuthUsers(DataSource superuser, UUID... users) throws SQLException {
    try (Connection c = superuser.getConnection();
        var ps = c.prepareStatement("""
            INSERT INTO auth.users (instance_id, id, aud, role, email, created_at, updated_at)
            VALUES ('00000000-0000-0000-0000-000000000000', ?, 'authenticated', 'authenticated', ?, now(), now())
            ON CONFLICT (id) DO NOTHING""")) {
      for (UUID user : users) {
        ps.setObject(1, user);
        ps.setString(2, user + "@example.test");
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  private static PGSimpleDataSource ds(int port, String user, String database) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setServerNames(new String[] {"localhost"});
    ds.setPortNumbers(new int[] {port});
    ds.setDatabaseName(database);
    ds.setUser(user);
    ds.setPassword(user);
    return ds;
  }

  private static void exec(DataSource ds, String sql) throws SQLException {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /**
   * Cluster-wide roles, as supabase/postgres's init-scripts and migrations leave them
   * (00000000000000-initial-schema, -auth-schema, -storage-schema, -post-setup,
   * 10000000000000_demote-postgres and the role migrations after it).
   */
  private static final String CLUSTER_ROLES = """
      CREATE ROLE postgres LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE REPLICATION BYPASSRLS PASSWORD 'postgres';
      ALTER ROLE postgres SET search_path TO "$user", public, extensions;
      ALTER ROLE supabase_admin SET search_path TO "$user", public, auth, extensions;

      CREATE ROLE supabase_replication_admin LOGIN REPLICATION;
      CREATE ROLE supabase_read_only_user LOGIN BYPASSRLS;
      GRANT pg_read_all_data TO supabase_read_only_user;

      -- the API roles: NOLOGIN, NOINHERIT at creation, INHERIT since 20230529180330
      CREATE ROLE anon          NOLOGIN INHERIT;
      CREATE ROLE authenticated NOLOGIN INHERIT;
      CREATE ROLE service_role  NOLOGIN INHERIT BYPASSRLS;
      ALTER ROLE anon SET statement_timeout = '3s';
      ALTER ROLE authenticated SET statement_timeout = '8s';

      -- PostgREST's login: NOINHERIT, switches to the API roles with SET ROLE
      CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD 'authenticator';
      GRANT anon, authenticated, service_role TO authenticator;
      ALTER ROLE authenticator SET statement_timeout = '8s';
      ALTER ROLE authenticator SET lock_timeout = '8s';

      CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE NOREPLICATION PASSWORD 'supabase_auth_admin';
      ALTER ROLE supabase_auth_admin SET search_path = auth;
      CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE NOREPLICATION PASSWORD 'supabase_storage_admin';
      ALTER ROLE supabase_storage_admin SET search_path = storage;
      GRANT authenticator TO supabase_storage_admin;

      CREATE ROLE dashboard_user NOSUPERUSER CREATEDB CREATEROLE REPLICATION;

      -- what the demoted postgres keeps
      GRANT supabase_auth_admin, supabase_storage_admin TO postgres;
      GRANT anon, authenticated, service_role TO postgres;
      GRANT pg_monitor, pg_read_all_data, pg_signal_backend TO postgres;
      """;

  /**
   * The per-database part of a Supabase project, run as supabase_admin in the template. The
   * default privileges FOR ROLE postgres are those the init-scripts set (they run as postgres
   * there); the ones FOR ROLE supabase_admin are set explicitly by the same scripts.
   */
  private static final String PROJECT_DATABASE = """
      CREATE SCHEMA IF NOT EXISTS extensions;
      GRANT USAGE ON SCHEMA extensions TO postgres, anon, authenticated, service_role;
      GRANT ALL ON SCHEMA extensions TO postgres, dashboard_user;

      GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;
      GRANT CREATE ON SCHEMA public TO postgres;
      ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
        GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
        GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public
        GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
        GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
        GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
        GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;

      -- auth: schema of supabase_admin; tables and functions of supabase_auth_admin (GoTrue)
      CREATE SCHEMA auth AUTHORIZATION supabase_admin;
      GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
      GRANT ALL ON SCHEMA auth TO supabase_auth_admin, postgres, dashboard_user;
      CREATE TABLE auth.users (
        instance_id          uuid,
        id                   uuid NOT NULL UNIQUE,
        aud                  varchar(255),
        role                 varchar(255),
        email                varchar(255) UNIQUE,
        encrypted_password   varchar(255),
        email_confirmed_at   timestamptz,
        invited_at           timestamptz,
        confirmation_token   varchar(255),
        confirmation_sent_at timestamptz,
        recovery_token       varchar(255),
        recovery_sent_at     timestamptz,
        last_sign_in_at      timestamptz,
        raw_app_meta_data    jsonb,
        raw_user_meta_data   jsonb,
        is_super_admin       boolean,
        created_at           timestamptz,
        updated_at           timestamptz,
        phone                text UNIQUE DEFAULT NULL,
        phone_confirmed_at   timestamptz,
        banned_until         timestamptz,
        is_sso_user          boolean NOT NULL DEFAULT false,
        deleted_at           timestamptz,
        is_anonymous         boolean NOT NULL DEFAULT false,
        CONSTRAINT users_pkey PRIMARY KEY (id)
      );
      CREATE INDEX users_instance_id_idx ON auth.users (instance_id);
      ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
      -- GoTrue's current definitions: the JSON claims, with the legacy per-claim settings first
      CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim.sub', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $$;
      CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim.role', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
      $$;
      CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim.email', true), ''),
          (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
        )::text
      $$;
      CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $$;
      ALTER TABLE auth.users OWNER TO supabase_auth_admin;
      ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
      ALTER FUNCTION auth.role() OWNER TO supabase_auth_admin;
      ALTER FUNCTION auth.email() OWNER TO supabase_auth_admin;
      ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
      GRANT ALL ON ALL TABLES IN SCHEMA auth TO postgres, dashboard_user;
      GRANT ALL ON ALL ROUTINES IN SCHEMA auth TO postgres, dashboard_user;
      ALTER DEFAULT PRIVILEGES FOR ROLE supabase_auth_admin IN SCHEMA auth GRANT ALL ON TABLES TO postgres, dashboard_user;
      ALTER DEFAULT PRIVILEGES FOR ROLE supabase_auth_admin IN SCHEMA auth GRANT ALL ON SEQUENCES TO postgres, dashboard_user;
      ALTER DEFAULT PRIVILEGES FOR ROLE supabase_auth_admin IN SCHEMA auth GRANT ALL ON ROUTINES TO postgres, dashboard_user;

      -- storage: schema of supabase_admin; tables and functions of supabase_storage_admin
      CREATE SCHEMA storage AUTHORIZATION supabase_admin;
      GRANT USAGE ON SCHEMA storage TO postgres, anon, authenticated, service_role;
      GRANT ALL ON SCHEMA storage TO supabase_storage_admin, postgres;
      ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
      ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA storage GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
      CREATE TABLE storage.buckets (
        id                 text PRIMARY KEY,
        name               text NOT NULL,
        owner              uuid,
        created_at         timestamptz DEFAULT now(),
        updated_at         timestamptz DEFAULT now(),
        public             boolean DEFAULT false,
        avif_autodetection boolean DEFAULT false,
        file_size_limit    bigint,
        allowed_mime_types text[],
        owner_id           text
      );
      CREATE UNIQUE INDEX bname ON storage.buckets (name);
      CREATE TABLE storage.objects (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bucket_id        text REFERENCES storage.buckets (id),
        name             text,
        owner            uuid,
        created_at       timestamptz DEFAULT now(),
        updated_at       timestamptz DEFAULT now(),
        last_accessed_at timestamptz DEFAULT now(),
        metadata         jsonb,
        path_tokens      text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
        version          text,
        owner_id         text,
        user_metadata    jsonb
      );
      CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
      CREATE INDEX name_prefix_search ON storage.objects (name text_pattern_ops);
      CREATE TABLE storage.migrations (
        id          integer PRIMARY KEY,
        name        varchar(100) UNIQUE NOT NULL,
        hash        varchar(40) NOT NULL,
        executed_at timestamp DEFAULT current_timestamp
      );
      CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE plpgsql AS $$
      DECLARE
        _parts text[];
      BEGIN
        SELECT string_to_array(name, '/') INTO _parts;
        RETURN _parts[1:array_length(_parts, 1) - 1];
      END
      $$;
      CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE plpgsql AS $$
      DECLARE
        _parts text[];
      BEGIN
        SELECT string_to_array(name, '/') INTO _parts;
        RETURN _parts[array_length(_parts, 1)];
      END
      $$;
      ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
      ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
      ALTER TABLE storage.migrations ENABLE ROW LEVEL SECURITY;
      GRANT ALL ON storage.buckets, storage.objects TO postgres, anon, authenticated, service_role;
      GRANT ALL ON storage.migrations TO postgres;
      GRANT ALL ON ALL ROUTINES IN SCHEMA storage TO postgres, anon, authenticated, service_role;
      ALTER TABLE storage.buckets OWNER TO supabase_storage_admin;
      ALTER TABLE storage.objects OWNER TO supabase_storage_admin;
      ALTER TABLE storage.migrations OWNER TO supabase_storage_admin;
      ALTER FUNCTION storage.foldername(text) OWNER TO supabase_storage_admin;
      ALTER FUNCTION storage.filename(text) OWNER TO supabase_storage_admin;
      """;
}
