-- The worker's only way to write clinical rows (issue 3), and the job → shell file status
-- hand-off (processing, retry, cancel, dead letter).

CREATE FUNCTION public.write_back_extraction(
  p_job_id      uuid,
  p_lease_token uuid,
  p_document    jsonb,
  p_events      jsonb,
  p_tokens_used int DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  v_job      record;
  v_file     public.shell_files%ROWTYPE;
  v_old      record;
  v_event    jsonb;
  v_i        int;
  v_n        int;
  v_id       uuid;
  v_doc_id   uuid;
  v_type     text;
  v_name     text;
  v_conf     numeric;
  v_date     date;
  v_page     int;
  v_pages    int;
  v_new      jsonb;
BEGIN
  -- 1. Lease first: the row lock keeps the lease ours until commit.
  SELECT j.id, j.shell_file_id, j.patient_id, j.correlation_id
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

  -- 3. Replace what an earlier processing of this shell file wrote (audited as deletes).
  FOR v_old IN
    DELETE FROM public.clinical_events e WHERE e.shell_file_id = v_file.id
    RETURNING e.id, e.job_id, e.event_type, e.name
  LOOP
    PERFORM public.log_audit_event('clinical_events', v_old.id::text, 'DELETE',
      jsonb_build_object('job_id', v_old.job_id, 'event_type', v_old.event_type, 'name', v_old.name),
      NULL, 'write_back_extraction: replaced by a new extraction',
      p_job_id, v_job.correlation_id, v_file.patient_id);
  END LOOP;
  FOR v_old IN
    DELETE FROM public.document_texts d WHERE d.shell_file_id = v_file.id
    RETURNING d.id, d.job_id
  LOOP
    PERFORM public.log_audit_event('document_texts', v_old.id::text, 'DELETE',
      jsonb_build_object('job_id', v_old.job_id), NULL,
      'write_back_extraction: replaced by a new extraction',
      p_job_id, v_job.correlation_id, v_file.patient_id);
  END LOOP;

  INSERT INTO public.document_texts (patient_id, shell_file_id, job_id, text, page_count, processor, model, tokens_used)
  VALUES (v_file.patient_id, v_file.id, p_job_id, p_document ->> 'text', v_pages,
          p_document ->> 'processor', p_document ->> 'model', p_tokens_used)
  RETURNING id INTO v_doc_id;
  -- The audit row records what was written, not the document text itself.
  PERFORM public.log_audit_event('document_texts', v_doc_id::text, 'INSERT', NULL,
    jsonb_build_object('shell_file_id', v_file.id, 'text_length', length(p_document ->> 'text'),
                       'page_count', v_pages, 'processor', p_document ->> 'processor',
                       'model', p_document ->> 'model', 'tokens_used', p_tokens_used),
    'write_back_extraction', p_job_id, v_job.correlation_id, v_file.patient_id);

  -- 4. One row and one audit event per clinical event, validated as it goes: an invalid
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
            v_date, v_conf, v_page)
    RETURNING id INTO v_id;

    v_new := jsonb_build_object('shell_file_id', v_file.id, 'ordinal', v_i, 'event_type', v_type,
               'name', v_name, 'code', v_event ->> 'code', 'code_system', v_event ->> 'code_system',
               'value', v_event ->> 'value', 'unit', v_event ->> 'unit', 'event_date', v_date,
               'confidence', v_conf, 'source_page', v_page);
    PERFORM public.log_audit_event('clinical_events', v_id::text, 'INSERT', NULL, v_new,
      'write_back_extraction', p_job_id, v_job.correlation_id, v_file.patient_id);
  END LOOP;

  -- 5. The shell file is done, and so is the job (same transaction, same lease).
  UPDATE public.shell_files f
     SET status = 'completed', processing_error = NULL, processed_at = now()
   WHERE f.id = v_file.id;
  PERFORM public.log_audit_event('shell_files', v_file.id::text, 'UPDATE',
    jsonb_build_object('status', v_file.status),
    jsonb_build_object('status', 'completed', 'document_text_id', v_doc_id, 'clinical_events', v_n),
    'write_back_extraction', p_job_id, v_job.correlation_id, v_file.patient_id);

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
  FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.write_back_extraction(uuid, uuid, jsonb, jsonb, int) TO queue_worker;

-- Job status → shell file status. Dead letter (from fail_job, dead_letter_job or
-- requeue_stale_jobs) marks the file failed with the job's error; the others keep the file's
-- status in step with its extraction job. 'completed' is set by write_back_extraction itself.
CREATE FUNCTION public.sync_shell_file_with_job() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
BEGIN
  IF NEW.status = 'dead_letter' THEN
    UPDATE public.shell_files f
       SET status = 'failed', processing_error = NEW.error
     WHERE f.id = NEW.shell_file_id;
    IF FOUND THEN
      PERFORM public.log_audit_event('shell_files', NEW.shell_file_id::text, 'UPDATE',
        jsonb_build_object('job_status', OLD.status),
        jsonb_build_object('status', 'failed', 'processing_error', NEW.error),
        'job dead-lettered', NEW.id, NEW.correlation_id, NEW.patient_id);
    END IF;
  ELSIF NEW.job_type = 'document_extraction' AND NEW.status IN ('processing', 'pending', 'cancelled') THEN
    UPDATE public.shell_files f
       SET status = CASE NEW.status WHEN 'processing' THEN 'processing'
                                    WHEN 'pending' THEN 'queued'
                                    ELSE 'cancelled' END
     WHERE f.id = NEW.shell_file_id
       AND f.processing_job_id = NEW.id;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.sync_shell_file_with_job() FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER job_queue_sync_shell_file
  AFTER UPDATE OF status ON public.job_queue
  FOR EACH ROW
  WHEN (NEW.shell_file_id IS NOT NULL AND NEW.status IS DISTINCT FROM OLD.status)
  EXECUTE FUNCTION public.sync_shell_file_with_job();
