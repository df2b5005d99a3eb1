-- pg_temp shadowing (issue 12, point 1).
--
-- `SET search_path = ''` does not take pg_temp out of the search path: PostgreSQL still looks
-- in the session's temporary schema FIRST for relations and types (never for functions or
-- operators). Any session with the database's TEMP privilege (granted to PUBLIC by default)
-- can create `pg_temp.uuid`, `pg_temp.text`, ... as a domain whose CHECK calls its own
-- function; a SECURITY DEFINER function whose body declares or casts to that type name then
-- runs the attacker's function as the function's owner. The documented remedy is to name
-- pg_temp explicitly and LAST: `SET search_path = pg_catalog, pg_temp`. Then every built-in
-- type and relation resolves to pg_catalog before pg_temp is consulted, and our own objects
-- are always schema-qualified (public.*, auth.*, storage.*).
--
-- Every function of the project gets the setting, not only the SECURITY DEFINER ones: helper
-- and trigger functions run with the definer's identity when a definer function calls them
-- or changes their table, and a function's own SET replaces the caller's path while it runs.
-- Functions of later migrations are created with the setting directly.
DO $$
DECLARE
  v_name text;
  v_fn   regprocedure;
  v_seen integer;
BEGIN
  FOREACH v_name IN ARRAY ARRAY[
    -- V003
    'audit_log_reject_change', 'log_audit_event',
    -- V004
    'job_queue_bounded_error', 'job_queue_backoff', 'enqueue_job', 'claim_next_job',
    'heartbeat_job', 'complete_job', 'fail_job', 'release_job', 'update_job_status',
    'retry_job', 'dead_letter_job', 'cancel_job', 'requeue_stale_jobs', 'queue_stats',
    -- V010
    'profile_access_level_of', 'has_profile_access_level', 'has_profile_access', 'touch_updated_at',
    -- V012, V013, V014
    'storage_object_patient_id', 'register_shell_file', 'write_back_extraction', 'sync_shell_file_with_job',
    -- V020
    'configure_token_budget', 'token_budget_exists', 'reserve_tokens', 'settle_tokens',
    'block_token_budget', 'token_budget_status',
    -- V040
    'purge_finished_jobs']
  LOOP
    v_seen := 0;
    FOR v_fn IN
      SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
       WHERE p.pronamespace = 'public'::regnamespace AND p.proname = v_name
    LOOP
      EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', v_fn);
      v_seen := v_seen + 1;
    END LOOP;
    IF v_seen = 0 THEN
      RAISE EXCEPTION 'V050: function public.% does not exist', v_name;
    END IF;
  END LOOP;
END
$$;

-- Defence in depth: take the TEMP privilege away from PUBLIC where the migrating role may
-- (it owns the database, is a member of its owner, or is a superuser: plain PostgreSQL and
-- self-hosted Supabase). On hosted Supabase the database belongs to supabase_admin, the
-- migrating role `postgres` may not revoke it, and API and login roles keep TEMP: the
-- search_path above is what protects the definer functions there (docs/security.md).
DO $$
DECLARE
  v_db    name := pg_catalog.current_database();
  v_owner oid;
BEGIN
  SELECT d.datdba INTO v_owner FROM pg_catalog.pg_database d WHERE d.datname = v_db;
  IF NOT pg_catalog.has_database_privilege('public', v_db, 'TEMPORARY') THEN
    RETURN; -- already revoked
  END IF;
  IF pg_catalog.pg_has_role(current_user, v_owner, 'USAGE')
     OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
    EXECUTE pg_catalog.format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', v_db);
  ELSE
    RAISE WARNING 'V050: % may not revoke TEMPORARY on database % from PUBLIC (the database belongs to %); '
      'temporary objects stay possible for every role, and SECURITY DEFINER functions rely on '
      'search_path = pg_catalog, pg_temp alone', current_user, v_db, pg_catalog.pg_get_userbyid(v_owner);
  END IF;
END
$$;
