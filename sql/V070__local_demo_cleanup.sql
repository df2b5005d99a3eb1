-- Cleanup of `queuepilot local` runs against an existing database (issue 17).
--
-- Local mode creates one demo patient per run (a user_profiles row whose display_name is the
-- marker below, owned by an auth user local-demo+<uuid>@queuepilot.invalid when auth.users
-- exists), uploads through register_shell_file, and moves each of its jobs into its own lane
-- 'queuepilot_local_<run>' so that its in-process workers never claim anyone else's job. When
-- the run ends (also on failure or Ctrl-C) it erases that patient through this function: the
-- patient's jobs, then the profile (shell_files, document_texts, clinical_events and access
-- permissions go with it by ON DELETE CASCADE), then its auth user. audit_log is append-only
-- and keeps its rows; this function adds one more saying what was erased.
--
-- The function refuses a profile that is not a local-mode demo patient (other display name,
-- any job outside a queuepilot_local_ lane): a wrong id must never erase a real patient. Jobs
-- still pending or processing are deleted too (local mode stops its workers first; a lease
-- holder that is still running finds its job gone and its writes refused). Owner only: local
-- mode runs as the schema owner.

CREATE FUNCTION public.erase_local_demo_patient(p_patient_id uuid) RETURNS jsonb
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_owner   uuid;
  v_name    text;
  v_jobs    integer;
  v_files   integer;
  v_events  integer;
  v_texts   integer;
  v_users   integer := 0;
  v_counts  jsonb;
BEGIN
  IF p_patient_id IS NULL THEN
    RAISE EXCEPTION 'erase_local_demo_patient: p_patient_id must not be NULL'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT p.account_owner_id, p.display_name INTO v_owner, v_name
    FROM public.user_profiles AS p WHERE p.id = p_patient_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_name IS DISTINCT FROM 'Demo patient (queuepilot local)' THEN
    RAISE EXCEPTION 'erase_local_demo_patient: profile % is not a queuepilot local demo patient', p_patient_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT 1 FROM public.job_queue AS j
              WHERE j.patient_id = p_patient_id AND j.job_lane NOT LIKE 'queuepilot\_local\_%') THEN
    RAISE EXCEPTION 'erase_local_demo_patient: profile % has jobs outside the local-mode lanes', p_patient_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;

  SELECT count(*) INTO v_files FROM public.shell_files AS f WHERE f.patient_id = p_patient_id;
  SELECT count(*) INTO v_texts FROM public.document_texts AS t WHERE t.patient_id = p_patient_id;
  SELECT count(*) INTO v_events FROM public.clinical_events AS e WHERE e.patient_id = p_patient_id;
  DELETE FROM public.job_queue AS j WHERE j.patient_id = p_patient_id;
  GET DIAGNOSTICS v_jobs = ROW_COUNT;
  DELETE FROM public.user_profiles AS p WHERE p.id = p_patient_id;
  IF pg_catalog.to_regclass('auth.users') IS NOT NULL THEN
    EXECUTE $sql$
      DELETE FROM auth.users AS u
       WHERE u.id = $1
         AND u.email LIKE 'local-demo+%@queuepilot.invalid'
         AND NOT EXISTS (SELECT 1 FROM public.user_profiles AS p WHERE p.account_owner_id = u.id)
    $sql$ USING v_owner;
    GET DIAGNOSTICS v_users = ROW_COUNT;
  END IF;

  v_counts := pg_catalog.jsonb_build_object('jobs', v_jobs, 'shell_files', v_files, 'document_texts', v_texts,
    'clinical_events', v_events, 'auth_users', v_users);
  PERFORM public.log_audit_event('user_profiles', p_patient_id::text, 'LOCAL_DEMO_ERASED', v_counts, NULL,
    'queuepilot local cleanup', NULL, NULL, p_patient_id);
  RETURN v_counts;
END
$$;
COMMENT ON FUNCTION public.erase_local_demo_patient(uuid) IS
  'Erases one queuepilot local demo patient (its jobs, profile with cascaded files/texts/events, auth user); refuses any other profile; audited; owner only.';

REVOKE ALL ON FUNCTION public.erase_local_demo_patient(uuid)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
