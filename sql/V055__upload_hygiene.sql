-- Issue 12 point 5: upload idempotency keys per patient, bounded and clean file names and
-- storage paths, and no existence oracle when inserting a profile.

-- 1. Idempotency keys are scoped to the patient. Before, the key was globally unique, so a key
--    another patient had used answered "already used for another upload" (an oracle) and
--    blocked that upload. Existing keys are unique globally, hence also per patient: the new
--    index always builds, then the global one goes.
CREATE UNIQUE INDEX shell_files_patient_idempotency_key_key
  ON public.shell_files (patient_id, idempotency_key);
DROP INDEX public.shell_files_idempotency_key_key;

-- 2. Patient-chosen references: required, bounded, no control characters (a newline in a path
--    forges log lines; 15,000-character file names were accepted). One check, named by field,
--    used by register_shell_file and by the shell_files trigger below (service_role writes too).
CREATE FUNCTION public.require_clean_reference(p_where text, p_field text, p_value text, p_max_length integer)
  RETURNS void
  LANGUAGE plpgsql
  IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_value IS NULL OR pg_catalog.btrim(p_value) = '' THEN
    RAISE EXCEPTION '%: % is required', p_where, p_field USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.length(p_value) > p_max_length THEN
    RAISE EXCEPTION '%: % is % characters long; at most % are allowed', p_where, p_field,
      pg_catalog.length(p_value), p_max_length USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_value ~ '[[:cntrl:]]' THEN
    RAISE EXCEPTION '%: % contains control characters (newline, tab, ...), which are not allowed', p_where, p_field
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION public.require_clean_reference(text, text, text, integer)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-- Only when the columns are written: existing rows with a long name keep working (their
-- status still changes), nothing stored is lost.
CREATE FUNCTION public.shell_files_check_references() RETURNS trigger
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.filename IS DISTINCT FROM OLD.filename THEN
    PERFORM public.require_clean_reference('shell_files', 'filename', NEW.filename, 255);
  END IF;
  IF TG_OP = 'INSERT' OR NEW.storage_path IS DISTINCT FROM OLD.storage_path THEN
    PERFORM public.require_clean_reference('shell_files', 'storage_path', NEW.storage_path, 1024);
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.shell_files_check_references()
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
CREATE TRIGGER shell_files_check_references
  BEFORE INSERT OR UPDATE OF filename, storage_path ON public.shell_files
  FOR EACH ROW EXECUTE FUNCTION public.shell_files_check_references();

-- 3. register_shell_file: per-patient keys, the checks above, and one audit row per upload
--    (the shell_files_audit trigger; the file is inserted with its job id already set).
CREATE OR REPLACE FUNCTION public.register_shell_file(
  p_patient_id      uuid,
  p_bucket          text,
  p_storage_path    text,
  p_filename        text,
  p_mime_type       text,
  p_size_bytes      bigint,
  p_idempotency_key text)
RETURNS TABLE (shell_file_id uuid, job_id uuid, created boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_settings public.upload_settings%ROWTYPE;
  v_uid      uuid := auth.uid();
  v_file     public.shell_files%ROWTYPE;
  v_file_id  uuid := gen_random_uuid();
  v_job_id   uuid := gen_random_uuid();
BEGIN
  -- 1. Validate everything before writing anything.
  IF p_idempotency_key IS NULL OR pg_catalog.btrim(p_idempotency_key) = '' THEN
    RAISE EXCEPTION 'register_shell_file: p_idempotency_key is required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.length(p_idempotency_key) > 200 THEN
    RAISE EXCEPTION 'register_shell_file: p_idempotency_key is longer than 200 characters'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM public.require_clean_reference('register_shell_file', 'p_idempotency_key', p_idempotency_key, 200);
  IF p_patient_id IS NULL THEN
    RAISE EXCEPTION 'register_shell_file: p_patient_id is required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- Access first, so a caller without access learns nothing about the rest.
  IF NOT (public.has_profile_access_level(v_uid, p_patient_id, 'read_write')
          OR (v_uid IS NULL AND auth.role() = 'service_role')) THEN
    RAISE EXCEPTION 'register_shell_file: no read_write access to patient %', p_patient_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;

  SELECT * INTO STRICT v_settings FROM public.upload_settings;

  IF p_bucket IS DISTINCT FROM v_settings.storage_bucket THEN
    RAISE EXCEPTION 'register_shell_file: bucket "%" is not the documents bucket "%"',
      p_bucket, v_settings.storage_bucket
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Length and control characters before the path is ever echoed in a message.
  PERFORM public.require_clean_reference('register_shell_file', 'p_storage_path', p_storage_path, 1024);
  IF pg_catalog.left(p_storage_path, 37) <> p_patient_id::text || '/'
     OR pg_catalog.length(p_storage_path) = 37
     OR p_storage_path LIKE '%/../%' OR p_storage_path LIKE '%/..' OR p_storage_path LIKE '%//%' THEN
    RAISE EXCEPTION 'register_shell_file: storage path "%" is outside the patient folder "%/"',
      p_storage_path, p_patient_id
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM public.require_clean_reference('register_shell_file', 'p_filename', p_filename, 255);
  IF p_mime_type IS NULL OR NOT (pg_catalog.lower(p_mime_type) = ANY (v_settings.allowed_mime_types)) THEN
    RAISE EXCEPTION 'register_shell_file: unknown mime type "%" (allowed: %)',
      pg_catalog.left(p_mime_type, 100), pg_catalog.array_to_string(v_settings.allowed_mime_types, ', ')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_size_bytes IS NULL OR p_size_bytes <= 0 THEN
    RAISE EXCEPTION 'register_shell_file: size % bytes: the file is empty', coalesce(p_size_bytes::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_size_bytes > v_settings.max_size_bytes THEN
    RAISE EXCEPTION 'register_shell_file: size % bytes is above the limit of % bytes',
      p_size_bytes, v_settings.max_size_bytes
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- 2. Upsert by (patient, idempotency key). A concurrent call with the same pair waits on the
  --    unique index until the first commits, then takes the DO NOTHING branch and sees its row.
  --    Another patient's keys are invisible here: same key, different patient = a new upload.
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'job_id', v_job_id, 'correlation_id', v_file_id, 'reason', 'register_shell_file')::text, true);
  INSERT INTO public.shell_files AS f
         (id, patient_id, storage_bucket, storage_path, filename, mime_type, size_bytes,
          idempotency_key, uploaded_by, processing_job_id)
  VALUES (v_file_id, p_patient_id, p_bucket, p_storage_path, p_filename, pg_catalog.lower(p_mime_type),
          p_size_bytes, p_idempotency_key, v_uid, v_job_id)
  ON CONFLICT (patient_id, idempotency_key) DO NOTHING
  RETURNING f.* INTO v_file;

  IF v_file.id IS NOT NULL THEN
    -- 3. Enqueue once: the job's own idempotency key is `<shell_file_id>:document_extraction`.
    PERFORM public.enqueue_shell_file_extraction(v_file, v_job_id, v_file.id::text || ':document_extraction');
    RETURN QUERY SELECT v_file.id, v_job_id, true;
    RETURN;
  END IF;

  SELECT f.* INTO STRICT v_file FROM public.shell_files f
   WHERE f.patient_id = p_patient_id AND f.idempotency_key = p_idempotency_key;
  IF v_file.processing_job_id IS NOT NULL THEN
    RETURN QUERY SELECT v_file.id, v_file.processing_job_id, false;
    RETURN;
  END IF;
  -- Only reachable for a file registered without a job (not by this function): heal it.
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'job_id', v_job_id, 'correlation_id', v_file.id, 'reason', 'register_shell_file: job attached')::text, true);
  v_job_id := public.enqueue_shell_file_extraction(v_file, v_job_id, v_file.id::text || ':document_extraction');
  UPDATE public.shell_files f SET processing_job_id = v_job_id WHERE f.id = v_file.id;
  RETURN QUERY SELECT v_file.id, v_job_id, false;
END
$$;
REVOKE ALL ON FUNCTION public.register_shell_file(uuid, text, text, text, text, bigint, text)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.register_shell_file(uuid, text, text, text, text, bigint, text)
  TO authenticated, service_role;

-- 4. Inserting a profile (or a grant) with an id that exists answered "duplicate key ... already
--    exists" for rows the caller cannot see: an existence oracle. Users may no longer choose
--    ids (nor timestamps or the archive state) on insert: the INSERT privilege of
--    authenticated covers only the columns a new row needs, so naming `id` is refused with
--    42501 whether or not that id exists. service_role keeps full INSERT.
REVOKE INSERT ON public.user_profiles, public.profile_access_permissions FROM authenticated;
GRANT INSERT (account_owner_id, profile_type, display_name, date_of_birth)
  ON public.user_profiles TO authenticated;
GRANT INSERT (profile_id, user_id, access_level, granted_by, starts_at, expires_at, revoked_at)
  ON public.profile_access_permissions TO authenticated;
