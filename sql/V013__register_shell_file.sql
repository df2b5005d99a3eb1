-- The idempotent upload path (issue 3): after the client has put the file into Storage under
-- `<patient_id>/...`, it registers it here. One call = one shell file + one extraction job,
-- however often it is retried with the same idempotency key.

CREATE FUNCTION public.register_shell_file(
  p_patient_id      uuid,
  p_bucket          text,
  p_storage_path    text,
  p_filename        text,
  p_mime_type       text,
  p_size_bytes      bigint,
  p_idempotency_key text)
RETURNS TABLE (shell_file_id uuid, job_id uuid, created boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  v_settings public.upload_settings%ROWTYPE;
  v_uid      uuid := auth.uid();
  v_file     public.shell_files%ROWTYPE;
  v_job_id   uuid;
  v_created  boolean;
BEGIN
  -- 1. Validate everything before writing anything.
  IF p_idempotency_key IS NULL OR btrim(p_idempotency_key) = '' THEN
    RAISE EXCEPTION 'register_shell_file: p_idempotency_key is required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF length(p_idempotency_key) > 200 THEN
    RAISE EXCEPTION 'register_shell_file: p_idempotency_key is longer than 200 characters'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
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
  IF p_storage_path IS NULL
     OR left(p_storage_path, 37) <> p_patient_id::text || '/'
     OR length(p_storage_path) = 37
     OR p_storage_path LIKE '%/../%' OR p_storage_path LIKE '%/..' OR p_storage_path LIKE '%//%' THEN
    RAISE EXCEPTION 'register_shell_file: storage path "%" is outside the patient folder "%/"',
      p_storage_path, p_patient_id
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_filename IS NULL OR btrim(p_filename) = '' THEN
    RAISE EXCEPTION 'register_shell_file: p_filename is required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_mime_type IS NULL OR NOT (lower(p_mime_type) = ANY (v_settings.allowed_mime_types)) THEN
    RAISE EXCEPTION 'register_shell_file: unknown mime type "%" (allowed: %)',
      p_mime_type, array_to_string(v_settings.allowed_mime_types, ', ')
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

  -- 2. Upsert by idempotency key. A concurrent call with the same key waits on the unique
  --    index until the first commits, then takes the DO NOTHING branch and sees its row.
  INSERT INTO public.shell_files AS f
         (patient_id, storage_bucket, storage_path, filename, mime_type, size_bytes,
          idempotency_key, uploaded_by)
  VALUES (p_patient_id, p_bucket, p_storage_path, p_filename, lower(p_mime_type), p_size_bytes,
          p_idempotency_key, v_uid)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING f.* INTO v_file;
  v_created := v_file.id IS NOT NULL;

  IF NOT v_created THEN
    SELECT f.* INTO STRICT v_file FROM public.shell_files f WHERE f.idempotency_key = p_idempotency_key;
    IF v_file.patient_id <> p_patient_id THEN
      RAISE EXCEPTION 'register_shell_file: idempotency key "%" was already used for another upload',
        p_idempotency_key
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_file.processing_job_id IS NOT NULL THEN
      RETURN QUERY SELECT v_file.id, v_file.processing_job_id, false;
      RETURN;
    END IF;
  END IF;

  -- 3. Enqueue once: the job's own idempotency key is `<shell_file_id>:document_extraction`.
  v_job_id := public.enqueue_job(
    p_job_type        => 'document_extraction',
    p_payload         => jsonb_build_object(
                           'shell_file_id', v_file.id,
                           'bucket',        v_file.storage_bucket,
                           'storage_path',  v_file.storage_path,
                           'filename',      v_file.filename,
                           'mime_type',     v_file.mime_type,
                           'size_bytes',    v_file.size_bytes),
    p_idempotency_key => v_file.id::text || ':document_extraction',
    p_job_lane        => 'ai',
    p_patient_id      => v_file.patient_id,
    p_shell_file_id   => v_file.id,
    p_correlation_id  => v_file.id);

  UPDATE public.shell_files f SET processing_job_id = v_job_id WHERE f.id = v_file.id;

  IF NOT v_created THEN
    -- Only reachable for a file registered without a job (not by this function): heal it.
    RETURN QUERY SELECT v_file.id, v_job_id, false;
    RETURN;
  END IF;

  PERFORM public.log_audit_event(
    'shell_files', v_file.id::text, 'INSERT', NULL,
    jsonb_build_object('storage_bucket', v_file.storage_bucket, 'storage_path', v_file.storage_path,
                       'filename', v_file.filename, 'mime_type', v_file.mime_type,
                       'size_bytes', v_file.size_bytes, 'uploaded_by', v_uid),
    'register_shell_file', v_job_id, v_file.id, v_file.patient_id);

  RETURN QUERY SELECT v_file.id, v_job_id, true;
END
$$;

REVOKE ALL ON FUNCTION public.register_shell_file(uuid, text, text, text, text, bigint, text)
  FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.register_shell_file(uuid, text, text, text, text, bigint, text)
  TO authenticated, service_role;
