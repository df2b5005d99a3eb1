-- Issue 12 point 4: every change of a patient-data row is audited, whoever makes it.
--
-- Before this migration only the SECURITY DEFINER functions wrote audit rows, so a direct
-- UPDATE/DELETE by service_role, or a foreign-key cascade (deleting an auth user or a profile),
-- changed clinical rows without a trace. Now an AFTER ROW trigger on each patient table writes
-- exactly one audit_log row per inserted, updated or deleted row, for every role and for
-- cascades (PostgreSQL runs cascaded deletes as ordinary deletes, so row triggers fire).
-- The functions that used to log by hand (register_shell_file, write_back_extraction and the
-- job -> shell file sync) stop doing so in V054/V055 and instead describe *why* through a
-- transaction-local context (below), so every row change is logged once.
--
-- What the trigger records:
--   table_name / record_id / operation   the table, the row's id, INSERT | UPDATE | DELETE
--   old_values / new_values              the row (INSERT: new; DELETE: old; UPDATE: only the
--                                        columns that changed); document_texts.text is
--                                        replaced by its length, never stored in the audit
--   patient_id                           user_profiles.id, profile_access_permissions.profile_id,
--                                        else the row's patient_id
--   job_id / correlation_id / reason     from the context a QueuePilot function set
--                                        (queuepilot.audit_context), else the row's own job
--                                        (job_id, processing_job_id), its shell file id and
--                                        'direct statement or cascade'
--   actor / db_user                      log_audit_event: the JWT subject, else the SET ROLE
--                                        role, else the login (never taken from the context)
-- The context is a hint about the reason; actor and db_user are always the real session.

-- Row-id lookups (gap detection, erasure) need an index on (table_name, record_id).
CREATE INDEX audit_log_record_idx ON public.audit_log (table_name, record_id);

CREATE FUNCTION public.audit_patient_row_change() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_old     jsonb;
  v_new     jsonb;
  v_row     jsonb;
  v_ctx     jsonb;
  v_patient uuid;
  v_job     uuid;
  v_corr    uuid;
  v_reason  text;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    v_old := pg_catalog.to_jsonb(OLD);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    v_new := pg_catalog.to_jsonb(NEW);
  END IF;

  -- Document text is PHI in bulk: the audit keeps its length only.
  IF TG_TABLE_NAME = 'document_texts' THEN
    IF v_old IS NOT NULL THEN
      v_old := (v_old - 'text'::text) || pg_catalog.jsonb_build_object('text_length', pg_catalog.length(v_old ->> 'text'));
    END IF;
    IF v_new IS NOT NULL THEN
      v_new := (v_new - 'text'::text) || pg_catalog.jsonb_build_object('text_length', pg_catalog.length(v_new ->> 'text'));
    END IF;
  END IF;

  -- An update records what changed (old and new value of each changed column).
  IF TG_OP = 'UPDATE' THEN
    v_row := v_old;  -- the whole old row, for the comparison of the new side
    SELECT pg_catalog.jsonb_object_agg(o.key, o.value) INTO v_old
      FROM pg_catalog.jsonb_each(v_old) AS o
     WHERE o.value IS DISTINCT FROM (v_new -> o.key);
    SELECT pg_catalog.jsonb_object_agg(n.key, n.value) INTO v_new
      FROM pg_catalog.jsonb_each(v_new) AS n
     WHERE n.value IS DISTINCT FROM (v_row -> n.key);
  END IF;
  v_row := coalesce(pg_catalog.to_jsonb(NEW), pg_catalog.to_jsonb(OLD));

  v_patient := CASE TG_TABLE_NAME
                 WHEN 'user_profiles' THEN (v_row ->> 'id')::uuid
                 WHEN 'profile_access_permissions' THEN (v_row ->> 'profile_id')::uuid
                 ELSE (v_row ->> 'patient_id')::uuid
               END;

  v_ctx := nullif(pg_catalog.current_setting('queuepilot.audit_context', true), '')::jsonb;
  v_job := coalesce((v_ctx ->> 'job_id')::uuid,
                    (v_row ->> 'job_id')::uuid,
                    (v_row ->> 'processing_job_id')::uuid);
  v_corr := coalesce((v_ctx ->> 'correlation_id')::uuid,
                     CASE TG_TABLE_NAME WHEN 'shell_files' THEN (v_row ->> 'id')::uuid
                                        ELSE (v_row ->> 'shell_file_id')::uuid END);
  -- Without a context the change came from a plain statement or a foreign-key cascade (both
  -- run the trigger at the same depth, so they cannot be told apart here; the actor can).
  v_reason := coalesce(v_ctx ->> 'reason', 'direct statement or cascade');

  PERFORM public.log_audit_event(TG_TABLE_NAME, v_row ->> 'id', TG_OP, v_old, v_new, v_reason,
                                 v_job, v_corr, v_patient);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION public.audit_patient_row_change() IS
  'AFTER ROW trigger of every patient-data table: one audit_log row per inserted, updated or deleted row, any role, cascades included.';
REVOKE ALL ON FUNCTION public.audit_patient_row_change()
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-- TRUNCATE cannot say which patient's rows went: it is refused on patient tables (erasure is
-- erase_patient_data, V056). No API role holds TRUNCATE; this stops the owner by mistake too.
CREATE FUNCTION public.refuse_patient_table_truncate() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RAISE EXCEPTION 'TRUNCATE of patient table % is not allowed: rows must be deleted (audited) or erased with erase_patient_data', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION public.refuse_patient_table_truncate()
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['user_profiles', 'profile_access_permissions', 'shell_files',
                           'document_texts', 'clinical_events'] LOOP
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON public.%I
         FOR EACH ROW EXECUTE FUNCTION public.audit_patient_row_change()', t || '_audit', t);
    EXECUTE pg_catalog.format(
      'CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I
         FOR EACH STATEMENT EXECUTE FUNCTION public.refuse_patient_table_truncate()', t || '_no_truncate', t);
  END LOOP;
END
$$;

-- Baseline: every row that exists before this migration gets one BASELINE audit row (ids
-- only, no values; status changes before V053 were not audited), so that from now on every row
-- has an INSERT or BASELINE row and no row was updated after its latest audit row — which is
-- what audit_integrity_problems() checks to find rows written while auditing was off.
INSERT INTO public.audit_log (table_name, record_id, operation, old_values, new_values, reason,
                              actor, db_user, patient_id, correlation_id, job_id)
SELECT b.table_name, b.record_id, 'BASELINE', NULL, NULL,
       'existed before per-row auditing (V053)', current_user::text, session_user::text,
       b.patient_id, b.correlation_id, b.job_id
  FROM (SELECT 'user_profiles'::text AS table_name, p.id::text AS record_id, p.id AS patient_id,
               NULL::uuid AS correlation_id, NULL::uuid AS job_id
          FROM public.user_profiles p
        UNION ALL
        SELECT 'profile_access_permissions', g.id::text, g.profile_id, NULL, NULL
          FROM public.profile_access_permissions g
        UNION ALL
        SELECT 'shell_files', f.id::text, f.patient_id, f.id, f.processing_job_id
          FROM public.shell_files f
        UNION ALL
        SELECT 'document_texts', d.id::text, d.patient_id, d.shell_file_id, d.job_id
          FROM public.document_texts d
        UNION ALL
        SELECT 'clinical_events', e.id::text, e.patient_id, e.shell_file_id, e.job_id
          FROM public.clinical_events e) AS b;

-- What the migration owner (and a superuser) can still do is documented in docs/security.md:
-- disable these triggers, change audit_log, drop things. This check finds the traces:
--   * an audit or append-only trigger that is missing or not firing (pg_trigger.tgenabled
--     'D' = disabled, 'R' = fires only in replica sessions),
--   * patient rows without an INSERT/BASELINE audit row (inserted while auditing was off),
--   * rows whose updated_at is later than their latest audit row (updated while it was off).
-- Deletes made while the triggers were off leave no row to find: the runbook adds the
-- server's DDL log (log_statement = 'ddl') for ALTER TABLE ... DISABLE TRIGGER.
CREATE FUNCTION public.audit_integrity_problems()
  RETURNS TABLE(problem text, detail text)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  r record;
  v_state "char";
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('user_profiles', 'user_profiles_audit'),
      ('profile_access_permissions', 'profile_access_permissions_audit'),
      ('shell_files', 'shell_files_audit'),
      ('document_texts', 'document_texts_audit'),
      ('clinical_events', 'clinical_events_audit'),
      ('user_profiles', 'user_profiles_no_truncate'),
      ('profile_access_permissions', 'profile_access_permissions_no_truncate'),
      ('shell_files', 'shell_files_no_truncate'),
      ('document_texts', 'document_texts_no_truncate'),
      ('clinical_events', 'clinical_events_no_truncate'),
      ('audit_log', 'audit_log_no_update_delete'),
      ('audit_log', 'audit_log_no_truncate')) AS t(table_name, trigger_name)
  LOOP
    SELECT g.tgenabled INTO v_state
      FROM pg_catalog.pg_trigger g
     WHERE g.tgrelid = pg_catalog.to_regclass('public.' || r.table_name)
       AND g.tgname = r.trigger_name;
    IF NOT FOUND THEN
      problem := 'trigger missing';
      detail := r.table_name || '.' || r.trigger_name;
      RETURN NEXT;
    ELSIF v_state NOT IN ('O', 'A') THEN
      problem := CASE v_state WHEN 'D' THEN 'trigger disabled' ELSE 'trigger fires only in replica sessions' END;
      detail := r.table_name || '.' || r.trigger_name || ' (tgenabled = ' || v_state::text || ')';
      RETURN NEXT;
    END IF;
  END LOOP;

  FOR r IN
    SELECT u.table_name, pg_catalog.count(*) AS n
      FROM (SELECT 'user_profiles'::text AS table_name, p.id::text AS record_id FROM public.user_profiles p
            UNION ALL SELECT 'profile_access_permissions', g.id::text FROM public.profile_access_permissions g
            UNION ALL SELECT 'shell_files', f.id::text FROM public.shell_files f
            UNION ALL SELECT 'document_texts', d.id::text FROM public.document_texts d
            UNION ALL SELECT 'clinical_events', e.id::text FROM public.clinical_events e) AS u
     WHERE NOT EXISTS (SELECT 1 FROM public.audit_log a
                        WHERE a.table_name = u.table_name AND a.record_id = u.record_id
                          AND a.operation IN ('INSERT', 'BASELINE'))
     GROUP BY u.table_name
  LOOP
    problem := 'rows without an INSERT audit row';
    detail := r.table_name || ': ' || r.n::text;
    RETURN NEXT;
  END LOOP;

  FOR r IN
    SELECT u.table_name, pg_catalog.count(*) AS n
      FROM (SELECT 'user_profiles'::text AS table_name, p.id::text AS record_id, p.updated_at FROM public.user_profiles p
            UNION ALL SELECT 'profile_access_permissions', g.id::text, g.updated_at FROM public.profile_access_permissions g
            UNION ALL SELECT 'shell_files', f.id::text, f.updated_at FROM public.shell_files f) AS u
     WHERE u.updated_at > (SELECT pg_catalog.max(a.occurred_at) FROM public.audit_log a
                            WHERE a.table_name = u.table_name AND a.record_id = u.record_id)
     GROUP BY u.table_name
  LOOP
    problem := 'rows updated after their last audit row';
    detail := r.table_name || ': ' || r.n::text;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION public.audit_integrity_problems() IS
  'Empty when the audit trail is intact; else one row per problem: audit/append-only trigger missing or not firing, patient rows without an INSERT audit row, rows updated after their last audit row.';
REVOKE ALL ON FUNCTION public.audit_integrity_problems()
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.audit_integrity_problems() TO service_role;
