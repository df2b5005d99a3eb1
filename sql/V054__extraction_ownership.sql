-- Issue 12 point 3: a worker cannot overwrite, fail or re-status any patient's extraction.
--
-- The attack (issue 12): a queue_worker login enqueued its own job naming another patient's
-- completed shell file, claimed it and called write_back_extraction, which checked only the
-- lease; fail_job / dead_letter_job / requeue_stale_jobs on such a job marked the other file
-- failed with attacker-chosen processing_error. The rules from now on:
--
--   1. Only the file's own current job writes: write_back_extraction and the job -> shell file
--      sync act only when shell_files.processing_job_id = the job AND the job's type is
--      'document_extraction'. Any other job (a foreign job naming the file, a stale earlier job
--      of a re-processed file, another job type) is refused by write_back_extraction (42501,
--      nothing written) and ignored by the sync trigger (the file is not touched).
--   2. Nobody but service_role and the schema owner attaches a job to patient data:
--      enqueue_job refuses p_patient_id / p_shell_file_id from every other caller (42501), so
--      a worker can still enqueue follow-up work, but never for a patient. Uploads attach
--      their job through register_shell_file; operators re-process a file through
--      reprocess_shell_file, which makes the new job the file's current job (the old one can
--      then neither write back nor change the file).
--
-- "Caller" inside these SECURITY DEFINER functions is the session's effective role: the SET
-- ROLE role (PostgREST's service_role, authenticated, ...) or, without SET ROLE, the login.
-- Trusted = inherits service_role, or inherits the function owner (the migration owner; a
-- superuser counts as a member of every role).

-------------------------------------------------------------------------------------------------
-- V004's enqueue_job body, callable only from the owner's functions, with an optional job id.
CREATE FUNCTION public.enqueue_job_unchecked(
  p_job_type         text,
  p_payload          jsonb,
  p_idempotency_key  text,
  p_job_lane         text        DEFAULT 'default',
  p_priority         integer     DEFAULT 5,
  p_scheduled_at     timestamptz DEFAULT now(),
  p_max_attempts     integer     DEFAULT 5,
  p_patient_id       uuid        DEFAULT NULL,
  p_shell_file_id    uuid        DEFAULT NULL,
  p_correlation_id   uuid        DEFAULT NULL,
  p_tokens_estimated integer     DEFAULT NULL,
  p_job_id           uuid        DEFAULT NULL
) RETURNS uuid
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_id           uuid;
  v_lane         text        := coalesce(p_job_lane, 'default');
  v_priority     integer     := coalesce(p_priority, 5);
  v_scheduled_at timestamptz := coalesce(p_scheduled_at, now());
  v_max_attempts integer     := coalesce(p_max_attempts, 5);
  v_payload      jsonb       := coalesce(p_payload, '{}'::jsonb);
BEGIN
  IF p_job_type IS NULL OR p_job_type !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
    RAISE EXCEPTION 'enqueue_job: p_job_type % is invalid (lower-case letters, digits, _ . -; at most 63)',
      coalesce(pg_catalog.quote_literal(p_job_type), 'NULL') USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF v_lane !~ '^[a-z][a-z0-9_.-]{0,62}$' THEN
    RAISE EXCEPTION 'enqueue_job: p_job_lane % is invalid (lower-case letters, digits, _ . -; at most 63)',
      pg_catalog.quote_literal(v_lane) USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_idempotency_key IS NULL OR pg_catalog.length(p_idempotency_key) NOT BETWEEN 1 AND 400 THEN
    RAISE EXCEPTION 'enqueue_job: p_idempotency_key is required (1 to 400 characters)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.jsonb_typeof(v_payload) <> 'object' THEN
    RAISE EXCEPTION 'enqueue_job: p_payload must be a JSON object, got %', pg_catalog.jsonb_typeof(v_payload)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.pg_column_size(v_payload) > 16384 THEN
    RAISE EXCEPTION 'enqueue_job: p_payload is % bytes; at most 16384 (references only, never file contents)',
      pg_catalog.pg_column_size(v_payload) USING ERRCODE = 'program_limit_exceeded';
  END IF;
  IF v_priority NOT BETWEEN 1 AND 10 THEN
    RAISE EXCEPTION 'enqueue_job: p_priority % is out of range 1 (most urgent) .. 10', v_priority
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF v_max_attempts NOT BETWEEN 1 AND 100 THEN
    RAISE EXCEPTION 'enqueue_job: p_max_attempts % is out of range 1..100', v_max_attempts
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_tokens_estimated < 0 THEN
    RAISE EXCEPTION 'enqueue_job: p_tokens_estimated % is negative', p_tokens_estimated
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  INSERT INTO public.job_queue AS j
    (id, job_type, job_lane, payload, priority, scheduled_at, max_attempts, idempotency_key,
     patient_id, shell_file_id, correlation_id, tokens_estimated)
  VALUES
    (coalesce(p_job_id, gen_random_uuid()), p_job_type, v_lane, v_payload, v_priority, v_scheduled_at, v_max_attempts, p_idempotency_key,
     p_patient_id, p_shell_file_id, coalesce(p_correlation_id, gen_random_uuid()), p_tokens_estimated)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING j.id INTO v_id;

  IF v_id IS NULL THEN
    -- Already enqueued (possibly by a concurrent call that has just committed): the existing job.
    SELECT j.id INTO v_id FROM public.job_queue j WHERE j.idempotency_key = p_idempotency_key;
    IF v_id IS NULL THEN
      RAISE EXCEPTION 'enqueue_job: idempotency key % conflicted but no job holds it', p_idempotency_key
        USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN v_id;
  END IF;

  -- Wake listeners only for work that is ready now (delivered at commit).
  IF v_scheduled_at <= now() THEN
    PERFORM pg_catalog.pg_notify('queuepilot_jobs', p_job_type);
  END IF;
  RETURN v_id;
END
$$;
COMMENT ON FUNCTION public.enqueue_job_unchecked(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer, uuid) IS
  'enqueue_job without the caller check, optionally with a chosen job id; internal (enqueue_job, enqueue_shell_file_extraction), executable by nobody else.';
REVOKE ALL ON FUNCTION public.enqueue_job_unchecked(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer, uuid)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.enqueue_job(
  p_job_type         text,
  p_payload          jsonb,
  p_idempotency_key  text,
  p_job_lane         text        DEFAULT 'default',
  p_priority         integer     DEFAULT 5,
  p_scheduled_at     timestamptz DEFAULT now(),
  p_max_attempts     integer     DEFAULT 5,
  p_patient_id       uuid        DEFAULT NULL,
  p_shell_file_id    uuid        DEFAULT NULL,
  p_correlation_id   uuid        DEFAULT NULL,
  p_tokens_estimated integer     DEFAULT NULL
) RETURNS uuid
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_caller text := coalesce(nullif(nullif(pg_catalog.current_setting('role', true), ''), 'none'),
                            session_user::text);
BEGIN
  IF (p_patient_id IS NOT NULL OR p_shell_file_id IS NOT NULL)
     AND NOT (pg_catalog.pg_has_role(v_caller, 'service_role', 'USAGE')
              OR pg_catalog.pg_has_role(v_caller, current_user, 'USAGE')) THEN
    RAISE EXCEPTION 'enqueue_job: role % may not attach a job to a patient or shell file (p_patient_id / p_shell_file_id are for service_role; uploads get their job from register_shell_file, re-processing from reprocess_shell_file)',
      v_caller USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN public.enqueue_job_unchecked(p_job_type, p_payload, p_idempotency_key, p_job_lane, p_priority,
                                      p_scheduled_at, p_max_attempts, p_patient_id, p_shell_file_id,
                                      p_correlation_id, p_tokens_estimated, NULL);
END
$$;
COMMENT ON FUNCTION public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer) IS
  'Adds a job (idempotent on p_idempotency_key: a repeated call returns the existing job id unchanged). NULL optional arguments take the defaults. NOTIFY queuepilot_jobs (payload job_type) when ready now. p_patient_id / p_shell_file_id only from service_role or the owner (42501 otherwise).';
REVOKE ALL ON FUNCTION public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer)
  TO queue_worker, service_role;

-------------------------------------------------------------------------------------------------
-- The one way a shell file gets an extraction job (register_shell_file, reprocess_shell_file):
-- the job is created with the given id and key; the caller stores that id as the file's
-- processing_job_id (register_shell_file in the file's own INSERT: one audit row per upload).
CREATE FUNCTION public.enqueue_shell_file_extraction(p_file public.shell_files, p_job_id uuid,
                                                     p_idempotency_key text)
  RETURNS uuid
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN public.enqueue_job_unchecked(
    p_job_type        => 'document_extraction',
    p_payload         => pg_catalog.jsonb_build_object(
                           'shell_file_id', p_file.id,
                           'bucket',        p_file.storage_bucket,
                           'storage_path',  p_file.storage_path,
                           'filename',      p_file.filename,
                           'mime_type',     p_file.mime_type,
                           'size_bytes',    p_file.size_bytes),
    p_idempotency_key => p_idempotency_key,
    p_job_lane        => 'ai',
    p_patient_id      => p_file.patient_id,
    p_shell_file_id   => p_file.id,
    p_correlation_id  => p_file.id,
    p_job_id          => p_job_id);
END
$$;
REVOKE ALL ON FUNCTION public.enqueue_shell_file_extraction(public.shell_files, uuid, text)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-------------------------------------------------------------------------------------------------
-- Operators re-process a file (a better model, a fixed bug): a new job becomes the file's
-- current job; the earlier job, should it still be around, can no longer write back.
CREATE FUNCTION public.reprocess_shell_file(p_shell_file_id uuid, p_reason text)
  RETURNS uuid
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_file   public.shell_files%ROWTYPE;
  v_status text;
  v_job_id uuid := gen_random_uuid();
BEGIN
  IF p_reason IS NULL OR pg_catalog.btrim(p_reason) = '' OR pg_catalog.length(p_reason) > 500
     OR p_reason ~ '[[:cntrl:]]' THEN
    RAISE EXCEPTION 'reprocess_shell_file: p_reason is required (1 to 500 characters, no control characters)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT f.* INTO v_file FROM public.shell_files f WHERE f.id = p_shell_file_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'reprocess_shell_file: shell file % not found', p_shell_file_id USING ERRCODE = 'no_data_found';
  END IF;
  SELECT j.status INTO v_status FROM public.job_queue j WHERE j.id = v_file.processing_job_id;
  IF v_status IN ('pending', 'processing') THEN
    RAISE EXCEPTION 'reprocess_shell_file: shell file % is still being processed by job % (%)',
      p_shell_file_id, v_file.processing_job_id, v_status USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;

  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'job_id', v_job_id, 'correlation_id', v_file.id, 'reason', 'reprocess_shell_file: ' || p_reason)::text, true);
  PERFORM public.enqueue_shell_file_extraction(v_file, v_job_id,
                                               v_file.id::text || ':document_extraction:' || v_job_id::text);
  UPDATE public.shell_files f
     SET processing_job_id = v_job_id, status = 'queued', processing_error = NULL
   WHERE f.id = v_file.id;
  RETURN v_job_id;
END
$$;
COMMENT ON FUNCTION public.reprocess_shell_file(uuid, text) IS
  'service_role: queues a new extraction of a shell file whose current job is finished and makes it the file''s current job (the only job allowed to write back). Returns the new job id.';
REVOKE ALL ON FUNCTION public.reprocess_shell_file(uuid, text)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.reprocess_shell_file(uuid, text) TO service_role;

-------------------------------------------------------------------------------------------------
-- Job status -> shell file status, for the file's own current extraction job only. A foreign
-- job naming the file (or a stale earlier job of it) changes nothing, in every branch. The
-- shell file change is audited by shell_files_audit with this reason.
CREATE OR REPLACE FUNCTION public.sync_shell_file_with_job() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NEW.job_type <> 'document_extraction'
     OR NEW.status NOT IN ('dead_letter', 'processing', 'pending', 'cancelled') THEN
    RETURN NULL;  -- 'completed' is set by write_back_extraction itself
  END IF;
  -- Lasts until this trigger function returns (its SET clause restores the outer value).
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'job_id', NEW.id, 'correlation_id', NEW.correlation_id,
    'reason', CASE NEW.status WHEN 'dead_letter' THEN 'job dead-lettered'
                              WHEN 'processing' THEN 'job claimed'
                              WHEN 'pending' THEN 'job back in the queue'
                              ELSE 'job cancelled' END)::text, true);
  UPDATE public.shell_files f
     SET status = CASE NEW.status WHEN 'dead_letter' THEN 'failed'
                                  WHEN 'processing' THEN 'processing'
                                  WHEN 'pending' THEN 'queued'
                                  ELSE 'cancelled' END,
         processing_error = CASE WHEN NEW.status = 'dead_letter' THEN NEW.error ELSE f.processing_error END
   WHERE f.id = NEW.shell_file_id
     AND f.processing_job_id = NEW.id;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.sync_shell_file_with_job()
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-------------------------------------------------------------------------------------------------
-- write_back_extraction: V014's function with the issue 12b ownership block and trigger-based
-- auditing (the audit rows are written by the tables' triggers); otherwise unchanged.
CREATE OR REPLACE FUNCTION public.write_back_extraction(
  p_job_id      uuid,
  p_lease_token uuid,
  p_document    jsonb,
  p_events      jsonb,
  p_tokens_used int DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_job      record;
  v_file     public.shell_files%ROWTYPE;
  v_event    jsonb;
  v_i        int;
  v_n        int;
  v_doc_id   uuid;
  v_type     text;
  v_name     text;
  v_conf     numeric;
  v_date     date;
  v_page     int;
  v_pages    int;
BEGIN
  -- 1. Lease first: the row lock keeps the lease ours until commit.
  SELECT j.id, j.job_type, j.shell_file_id, j.patient_id, j.correlation_id
    INTO v_job
    FROM public.job_queue j
   WHERE j.id = p_job_id
     AND j.lease_token = p_lease_token
     AND j.status = 'processing'
     FOR UPDATE;
  IF NOT FOUND THEN
    RETURN false;
  END IF;

  IF v_job.shell_file_id IS NULL THEN
    RAISE EXCEPTION 'write_back_extraction: job % has no shell_file_id', p_job_id
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT f.* INTO v_file FROM public.shell_files f WHERE f.id = v_job.shell_file_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'write_back_extraction: shell file % of job % does not exist', v_job.shell_file_id, p_job_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF v_job.patient_id IS NOT NULL AND v_job.patient_id <> v_file.patient_id THEN
    RAISE EXCEPTION 'write_back_extraction: job % names patient % but its shell file belongs to %',
      p_job_id, v_job.patient_id, v_file.patient_id
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- ==== issue 12b (V054): only the file's own current extraction job writes back ==========
  -- A job naming someone else's file (enqueued by a worker before V054, or any other way), a
  -- stale earlier job of a re-processed file and any other job type are refused before
  -- anything is written. Issue 13 redefines this function: keep this block as it is.
  IF v_job.job_type IS DISTINCT FROM 'document_extraction' THEN
    RAISE EXCEPTION 'write_back_extraction: job % is of type %, only document_extraction jobs write clinical rows',
      p_job_id, v_job.job_type USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF v_file.processing_job_id IS DISTINCT FROM p_job_id THEN
    RAISE EXCEPTION 'write_back_extraction: job % is not the current extraction job of shell file % (that is %); nothing written',
      p_job_id, v_file.id, coalesce(v_file.processing_job_id::text, 'none') USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF v_job.patient_id IS DISTINCT FROM v_file.patient_id THEN
    RAISE EXCEPTION 'write_back_extraction: job % does not name the patient of shell file %', p_job_id, v_file.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- ==== end of issue 12b ownership block ====================================================

  -- 2. The document.
  IF p_document IS NULL OR jsonb_typeof(p_document) <> 'object' THEN
    RAISE EXCEPTION 'write_back_extraction: p_document must be a JSON object'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF jsonb_typeof(p_document -> 'text') IS DISTINCT FROM 'string' THEN
    RAISE EXCEPTION 'write_back_extraction: p_document.text must be a string'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF jsonb_typeof(p_document -> 'processor') IS DISTINCT FROM 'string' OR btrim(p_document ->> 'processor') = '' THEN
    RAISE EXCEPTION 'write_back_extraction: p_document.processor must be a non-empty string'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF coalesce(jsonb_typeof(p_document -> 'page_count'), 'null') NOT IN ('null', 'number') THEN
    RAISE EXCEPTION 'write_back_extraction: p_document.page_count must be a number or null'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_pages := (p_document ->> 'page_count')::int;
  IF p_events IS NULL OR jsonb_typeof(p_events) <> 'array' THEN
    RAISE EXCEPTION 'write_back_extraction: p_events must be a JSON array'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_tokens_used IS NOT NULL AND p_tokens_used < 0 THEN
    RAISE EXCEPTION 'write_back_extraction: p_tokens_used must not be negative'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- 3. Replace what an earlier processing of this shell file wrote. Every row change in this
  --    function is audited exactly once by the tables' audit triggers (V053), with the job,
  --    correlation id and reason set here (issue 12b: the hand-written audit calls are gone).
  --    set_config(..., true) inside a function with a SET clause lasts until it returns.
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'job_id', p_job_id, 'correlation_id', v_job.correlation_id,
    'reason', 'write_back_extraction: replaced by a new extraction')::text, true);
  DELETE FROM public.clinical_events e WHERE e.shell_file_id = v_file.id;
  DELETE FROM public.document_texts d WHERE d.shell_file_id = v_file.id;
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'job_id', p_job_id, 'correlation_id', v_job.correlation_id, 'reason', 'write_back_extraction')::text, true);

  INSERT INTO public.document_texts (patient_id, shell_file_id, job_id, text, page_count, processor, model, tokens_used)
  VALUES (v_file.patient_id, v_file.id, p_job_id, p_document ->> 'text', v_pages,
          p_document ->> 'processor', p_document ->> 'model', p_tokens_used)
  RETURNING id INTO v_doc_id;
  -- Its audit row (trigger) records the text's length, not the text.

  -- 4. One row (and, by its trigger, one audit event) per clinical event, validated as it goes: an invalid
  --    element raises and the whole transaction (earlier rows included) rolls back.
  v_n := jsonb_array_length(p_events);
  FOR v_i IN 0 .. v_n - 1 LOOP
    v_event := p_events -> v_i;
    IF jsonb_typeof(v_event) <> 'object' THEN
      RAISE EXCEPTION 'write_back_extraction: p_events[%] must be a JSON object', v_i
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_type := v_event ->> 'event_type';
    IF v_type IS NULL OR v_type NOT IN ('medication', 'condition', 'allergy', 'observation', 'procedure') THEN
      RAISE EXCEPTION 'write_back_extraction: p_events[%].event_type "%" is not one of medication, condition, allergy, observation, procedure',
        v_i, v_type
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_name := v_event ->> 'name';
    IF v_name IS NULL OR btrim(v_name) = '' THEN
      RAISE EXCEPTION 'write_back_extraction: p_events[%].name is required', v_i
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(jsonb_typeof(v_event -> 'confidence'), 'null') NOT IN ('null', 'number') THEN
      RAISE EXCEPTION 'write_back_extraction: p_events[%].confidence must be a number', v_i
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_conf := (v_event ->> 'confidence')::numeric;
    IF v_conf IS NOT NULL AND (v_conf < 0 OR v_conf > 1) THEN
      RAISE EXCEPTION 'write_back_extraction: p_events[%].confidence % is outside 0..1', v_i, v_conf
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(jsonb_typeof(v_event -> 'source_page'), 'null') NOT IN ('null', 'number') THEN
      RAISE EXCEPTION 'write_back_extraction: p_events[%].source_page must be a number', v_i
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_page := (v_event ->> 'source_page')::int;
    IF v_page IS NOT NULL AND v_page < 1 THEN
      RAISE EXCEPTION 'write_back_extraction: p_events[%].source_page % must be 1 or more', v_i, v_page
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_date := NULL;
    IF v_event ->> 'event_date' IS NOT NULL THEN
      IF (v_event ->> 'event_date') !~ '^\d{4}-\d{2}-\d{2}$' THEN
        RAISE EXCEPTION 'write_back_extraction: p_events[%].event_date "%" is not an ISO date (YYYY-MM-DD)',
          v_i, v_event ->> 'event_date'
          USING ERRCODE = 'invalid_parameter_value';
      END IF;
      BEGIN
        v_date := (v_event ->> 'event_date')::date;
      EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
        RAISE EXCEPTION 'write_back_extraction: p_events[%].event_date "%" is not a valid date',
          v_i, v_event ->> 'event_date'
          USING ERRCODE = 'invalid_parameter_value';
      END;
    END IF;

    INSERT INTO public.clinical_events
           (patient_id, shell_file_id, job_id, ordinal, event_type, name, code, code_system,
            value, unit, event_date, confidence, source_page)
    VALUES (v_file.patient_id, v_file.id, p_job_id, v_i, v_type, v_name,
            v_event ->> 'code', v_event ->> 'code_system', v_event ->> 'value', v_event ->> 'unit',
            v_date, v_conf, v_page);
  END LOOP;

  -- 5. The shell file is done, and so is the job (same transaction, same lease).
  UPDATE public.shell_files f
     SET status = 'completed', processing_error = NULL, processed_at = now()
   WHERE f.id = v_file.id;

  IF NOT public.complete_job(p_job_id, p_lease_token,
                             jsonb_build_object('document_text_id', v_doc_id, 'clinical_events', v_n),
                             p_tokens_used) THEN
    -- Unreachable while we hold the row lock; never commit half a write-back.
    RAISE EXCEPTION 'write_back_extraction: complete_job refused job % although its lease was held', p_job_id
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN true;
END
$$;

REVOKE ALL ON FUNCTION public.write_back_extraction(uuid, uuid, jsonb, jsonb, int)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.write_back_extraction(uuid, uuid, jsonb, jsonb, int) TO queue_worker;
