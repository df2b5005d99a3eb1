-- Issue 12 point 4: the one controlled way to erase a patient's data, audit payloads included.
--
-- erase_patient_data(patient, reason) (service_role only) removes the patient's PHI from every
-- table: the profile and its grants, shell files, document texts and clinical events are
-- deleted (each delete audited by V053's triggers); the patient's jobs are cancelled if still
-- pending/processing and their payload, error, error history and result are blanked; and the
-- old/new values of every audit row about the patient are replaced by a marker naming the
-- erasure. What stays: every audit row's id, time, table, record id, operation, actor, login,
-- job, correlation and patient ids and reason, so an auditor still sees that, when and by whom
-- each change happened; plus one row in patient_erasures and one ERASE audit row.
--
-- Storage objects hold the file bytes and are deleted through the Storage API (Supabase keeps
-- the bytes outside the database; deleting storage.objects rows in SQL would orphan them), so
-- the erasure refuses to run while the patient's folder still has objects.
--
-- audit_log stays append-only: its trigger now lets exactly one kind of UPDATE through — the
-- redaction done by an erasure recorded in the same transaction, touching only old_values and
-- new_values, setting them to that erasure's marker. DELETE and TRUNCATE stay refused.

CREATE TABLE public.patient_erasures (
  id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  patient_id     uuid        NOT NULL,
  reason         text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
  requested_by   text        NOT NULL,
  erased_at      timestamptz NOT NULL DEFAULT now(),
  transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
  counts         jsonb
);
COMMENT ON TABLE public.patient_erasures IS
  'One row per erase_patient_data call: who erased which patient id, when, why, and how many rows of each kind.';
CREATE INDEX patient_erasures_patient_idx ON public.patient_erasures (patient_id);
ALTER TABLE public.patient_erasures ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.patient_erasures
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT SELECT ON TABLE public.patient_erasures TO service_role;

-- The append-only guard, with the single redaction exception.
CREATE OR REPLACE FUNCTION public.audit_log_reject_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_marker jsonb;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    v_marker := coalesce(NEW.old_values, NEW.new_values);
    IF EXISTS (SELECT 1 FROM public.patient_erasures e
                WHERE e.transaction_id = pg_catalog.pg_current_xact_id()
                  AND v_marker = pg_catalog.jsonb_build_object('redacted_by_erasure', e.id))
       AND (NEW.old_values IS NULL OR NEW.old_values = v_marker)
       AND (NEW.new_values IS NULL OR NEW.new_values = v_marker)
       AND (NEW.old_values IS NULL) = (OLD.old_values IS NULL)
       AND (NEW.new_values IS NULL) = (OLD.new_values IS NULL)
       AND (NEW.id, NEW.occurred_at, NEW.table_name, NEW.record_id, NEW.operation, NEW.reason,
            NEW.actor, NEW.db_user, NEW.job_id, NEW.correlation_id, NEW.patient_id)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.occurred_at, OLD.table_name, OLD.record_id, OLD.operation, OLD.reason,
            OLD.actor, OLD.db_user, OLD.job_id, OLD.correlation_id, OLD.patient_id) THEN
      RETURN NEW;  -- the redaction of erase_patient_data
    END IF;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION public.audit_log_reject_change()
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

CREATE FUNCTION public.erase_patient_data(p_patient_id uuid, p_reason text)
  RETURNS jsonb
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_erasure   uuid;
  v_marker    jsonb;
  v_objects   bigint;
  v_files     uuid[];
  v_jobs      uuid[];
  v_records   text[];
  v_counts    jsonb;
  v_n_events  bigint;
  v_n_texts   bigint;
  v_n_files   bigint;
  v_n_grants  bigint;
  v_n_profile bigint;
  v_n_jobs    bigint;
  v_n_audit   bigint;
BEGIN
  IF p_patient_id IS NULL THEN
    RAISE EXCEPTION 'erase_patient_data: p_patient_id is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_reason IS NULL OR pg_catalog.btrim(p_reason) = '' OR pg_catalog.length(p_reason) > 500
     OR p_reason ~ '[[:cntrl:]]' THEN
    RAISE EXCEPTION 'erase_patient_data: p_reason is required (1 to 500 characters, no control characters; a ticket reference, never patient data)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- Serialise with uploads and grants of this patient.
  PERFORM 1 FROM public.user_profiles p WHERE p.id = p_patient_id FOR UPDATE;

  IF pg_catalog.to_regclass('storage.objects') IS NOT NULL THEN
    EXECUTE 'SELECT count(*) FROM storage.objects o WHERE o.name LIKE $1'
      INTO v_objects USING p_patient_id::text || '/%';
    IF v_objects > 0 THEN
      RAISE EXCEPTION 'erase_patient_data: % stored objects remain under "%/"; delete them through the Storage API first',
        v_objects, p_patient_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
  END IF;

  SELECT coalesce(pg_catalog.array_agg(f.id), '{}') INTO v_files
    FROM public.shell_files f WHERE f.patient_id = p_patient_id;
  SELECT coalesce(pg_catalog.array_agg(j.id), '{}') INTO v_jobs
    FROM public.job_queue j WHERE j.patient_id = p_patient_id OR j.shell_file_id = ANY (v_files);
  -- Every record id whose audit rows describe this patient's data.
  SELECT coalesce(pg_catalog.array_agg(r.id), '{}') INTO v_records
    FROM (SELECT p_patient_id::text AS id
          UNION ALL SELECT g.id::text FROM public.profile_access_permissions g WHERE g.profile_id = p_patient_id
          UNION ALL SELECT f::text FROM pg_catalog.unnest(v_files) AS f
          UNION ALL SELECT d.id::text FROM public.document_texts d WHERE d.patient_id = p_patient_id
          UNION ALL SELECT e.id::text FROM public.clinical_events e WHERE e.patient_id = p_patient_id
          UNION ALL SELECT j::text FROM pg_catalog.unnest(v_jobs) AS j) AS r;

  INSERT INTO public.patient_erasures (patient_id, reason, requested_by)
  VALUES (p_patient_id, p_reason,
          coalesce(auth.uid()::text, nullif(nullif(pg_catalog.current_setting('role', true), ''), 'none'),
                   session_user::text))
  RETURNING id INTO v_erasure;
  v_marker := pg_catalog.jsonb_build_object('redacted_by_erasure', v_erasure);
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'reason', 'erase_patient_data ' || v_erasure::text)::text, true);

  -- Jobs: stop what is in flight (fences a worker holding it), then keep ids and times only.
  UPDATE public.job_queue j
     SET status = 'cancelled', lease_token = NULL, heartbeat_at = NULL, updated_at = now()
   WHERE j.id = ANY (v_jobs) AND j.status IN ('pending', 'processing');
  UPDATE public.job_queue j
     SET payload = pg_catalog.jsonb_build_object('erased', v_erasure),
         error = NULL, error_history = '[]'::jsonb, result = NULL,
         idempotency_key = 'erased:' || j.id::text
   WHERE j.id = ANY (v_jobs);
  GET DIAGNOSTICS v_n_jobs = ROW_COUNT;

  -- Rows, children first (each delete is one audit row, redacted below like every other).
  DELETE FROM public.clinical_events e WHERE e.patient_id = p_patient_id;
  GET DIAGNOSTICS v_n_events = ROW_COUNT;
  DELETE FROM public.document_texts d WHERE d.patient_id = p_patient_id;
  GET DIAGNOSTICS v_n_texts = ROW_COUNT;
  DELETE FROM public.shell_files f WHERE f.patient_id = p_patient_id;
  GET DIAGNOSTICS v_n_files = ROW_COUNT;
  DELETE FROM public.profile_access_permissions g WHERE g.profile_id = p_patient_id;
  GET DIAGNOSTICS v_n_grants = ROW_COUNT;
  DELETE FROM public.user_profiles p WHERE p.id = p_patient_id;
  GET DIAGNOSTICS v_n_profile = ROW_COUNT;

  -- Audit payloads: the marker instead of the values; the facts stay.
  UPDATE public.audit_log a
     SET old_values = CASE WHEN a.old_values IS NULL THEN NULL ELSE v_marker END,
         new_values = CASE WHEN a.new_values IS NULL THEN NULL ELSE v_marker END
   WHERE (a.patient_id = p_patient_id
          OR a.correlation_id = ANY (v_files)
          OR a.job_id = ANY (v_jobs)
          OR a.record_id = ANY (v_records))
     AND (a.old_values IS NOT NULL OR a.new_values IS NOT NULL);
  GET DIAGNOSTICS v_n_audit = ROW_COUNT;

  v_counts := pg_catalog.jsonb_build_object(
    'clinical_events', v_n_events, 'document_texts', v_n_texts, 'shell_files', v_n_files,
    'profile_access_permissions', v_n_grants, 'user_profiles', v_n_profile,
    'jobs_blanked', v_n_jobs, 'audit_rows_redacted', v_n_audit);
  UPDATE public.patient_erasures e SET counts = v_counts WHERE e.id = v_erasure;
  PERFORM public.log_audit_event('user_profiles', p_patient_id::text, 'ERASE', NULL,
    v_counts || pg_catalog.jsonb_build_object('erasure_id', v_erasure), p_reason, NULL, NULL, p_patient_id);
  RETURN v_counts || pg_catalog.jsonb_build_object('erasure_id', v_erasure);
END
$$;
COMMENT ON FUNCTION public.erase_patient_data(uuid, text) IS
  'service_role: erases a patient''s PHI from every table (rows deleted, jobs blanked, audit payloads redacted) keeping the audit facts; refuses while storage objects remain. Returns the counts and the erasure id.';
REVOKE ALL ON FUNCTION public.erase_patient_data(uuid, text)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.erase_patient_data(uuid, text) TO service_role;
