-- Supabase compatibility: the roles and the auth schema that Supabase projects already have.
-- Everything here is created only where absent, so this file applies unchanged on a Supabase
-- project (where it changes nothing) and on plain PostgreSQL 15-18 (where it supplies what the
-- later migrations and policies rely on).

-- Roles. On Supabase they exist (NOLOGIN; PostgREST switches to them with SET ROLE).
-- Roles are cluster-wide: a concurrent creation by another database's migration is tolerated.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('anon',          'NOLOGIN NOINHERIT'),
      ('authenticated', 'NOLOGIN NOINHERIT'),
      ('service_role',  'NOLOGIN NOINHERIT BYPASSRLS')
    ) AS v(rolname, attrs)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.rolname) THEN
      BEGIN
        EXECUTE pg_catalog.format('CREATE ROLE %I %s', r.rolname, r.attrs);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a concurrent migration of another database
      END;
    END IF;
  END LOOP;
END
$$;

-- Schema auth with auth.uid(), auth.role(), auth.jwt() and auth.email(), reading the JWT claims
-- exactly as Supabase's own definitions do: the JSON setting request.jwt.claims, with the
-- legacy per-claim settings (request.jwt.claim.sub / .role / .email, request.jwt.claim) first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth') THEN
    CREATE SCHEMA auth;
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  END IF;

  IF pg_catalog.to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
          (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
        )::uuid
      $f$;
    COMMENT ON FUNCTION auth.uid() IS 'Supabase-compatible: the JWT subject (user id) of the current request, or NULL.';
  END IF;

  IF pg_catalog.to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(pg_catalog.current_setting('request.jwt.claim.role', true), ''),
          (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
        )::text
      $f$;
    COMMENT ON FUNCTION auth.role() IS 'Supabase-compatible: the JWT role claim of the current request, or NULL.';
  END IF;

  IF pg_catalog.to_regprocedure('auth.email()') IS NULL THEN
    CREATE FUNCTION auth.email() RETURNS text
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(pg_catalog.current_setting('request.jwt.claim.email', true), ''),
          (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
        )::text
      $f$;
    COMMENT ON FUNCTION auth.email() IS 'Supabase-compatible: the JWT email claim of the current request, or NULL.';
  END IF;

  IF pg_catalog.to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(pg_catalog.current_setting('request.jwt.claim', true), ''),
          nullif(pg_catalog.current_setting('request.jwt.claims', true), '')
        )::jsonb
      $f$;
    COMMENT ON FUNCTION auth.jwt() IS 'Supabase-compatible: all JWT claims of the current request as jsonb, or NULL.';
  END IF;
END
$$;
