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

-- TEMP is NOT revoked from PUBLIC here. On hosted Supabase the database belongs to
-- supabase_admin and the migrating role `postgres` may not revoke it, so the search_path above
-- must stand alone anyway (PgTempShadowingTest proves it does, with TEMP granted). Revoking it
-- where the migrating role owns the database was tried and changed the behaviour of the worker
-- fleet in the reliability suite (OpenAiChaosIT.hundredPercent429sThenRecovery failed 2 of 2 runs
-- with the REVOKE, passed without it; cause not yet found), so an operator who wants it runs
-- `REVOKE TEMPORARY ON DATABASE <db> FROM PUBLIC` deliberately (docs/security.md).
