-- No clinical fact silently lost (issue 13).
--
-- 1. Page accounting and what validation dropped are stored with every extraction: pages read,
--    the pages not read with their reasons, the events the worker dropped (with the event as the
--    model returned it, so nothing is lost), whether the stored text was cut and how long it
--    was, model calls and tokens reserved. The shell file shows pages read / total and the
--    outcome ('complete' or 'partial'). Rows written before this migration keep NULL there:
--    their coverage was never recorded.
-- 2. Partial dates: clinical_events.event_date_precision ('day', 'month', 'year'); event_date
--    holds the first day of the period ("2019" → 2019-01-01, precision year).
-- 3. The MIME types uploads may declare are exactly those the worker processes (the worker's
--    DocumentKind.ACCEPTED_MIME_TYPES): HEIC is removed (no maintained decoder is available to
--    the JVM here) and a CHECK keeps it, and anything else unprocessable, out.
-- 4. write_back_extraction reads the new p_document keys and partial dates (redefined from
--    V054; same parameters, same meaning of the existing keys).
-- 5. token_budget_blocked_reason: why the shared budget is blocked, so every replica can tell
--    an exhausted quota (stop, not ready) from a rate limit (wait).

ALTER TABLE public.document_texts
  ADD COLUMN pages_read         int     CHECK (pages_read IS NULL OR pages_read >= 0),
  ADD COLUMN pages_unread       jsonb   CHECK (pages_unread IS NULL OR jsonb_typeof(pages_unread) = 'array'),
  ADD COLUMN dropped_events     jsonb   CHECK (dropped_events IS NULL OR jsonb_typeof(dropped_events) = 'array'),
  ADD COLUMN text_truncated     boolean,
  ADD COLUMN text_chars         bigint  CHECK (text_chars IS NULL OR text_chars >= 0),
  ADD COLUMN model_calls        int     CHECK (model_calls IS NULL OR model_calls >= 0),
  ADD COLUMN tokens_reserved    bigint  CHECK (tokens_reserved IS NULL OR tokens_reserved >= 0),
  ADD COLUMN extraction_outcome text    CHECK (extraction_outcome IS NULL OR extraction_outcome IN ('complete', 'partial'));
COMMENT ON COLUMN public.document_texts.pages_unread IS
  'Pages not read, [{"page": n, "reason": "..."}]; non-empty means extraction_outcome = partial. NULL: written before V060.';
COMMENT ON COLUMN public.document_texts.dropped_events IS
  'Events the model returned that failed validation: [{"call","index","field","reason","event"}].';
COMMENT ON COLUMN public.document_texts.text_truncated IS
  'true when the stored text is shorter than the document''s text (text_chars); the model read all of it.';

ALTER TABLE public.shell_files
  ADD COLUMN pages_total        int   CHECK (pages_total IS NULL OR pages_total >= 0),
  ADD COLUMN pages_read         int   CHECK (pages_read IS NULL OR pages_read >= 0),
  ADD COLUMN pages_unread       jsonb CHECK (pages_unread IS NULL OR jsonb_typeof(pages_unread) = 'array'),
  ADD COLUMN extraction_outcome text  CHECK (extraction_outcome IS NULL OR extraction_outcome IN ('complete', 'partial'));

ALTER TABLE public.clinical_events
  ADD COLUMN event_date_precision text CHECK (event_date_precision IS NULL OR event_date_precision IN ('day', 'month', 'year'));
UPDATE public.clinical_events SET event_date_precision = 'day' WHERE event_date IS NOT NULL;
ALTER TABLE public.clinical_events
  ADD CONSTRAINT clinical_events_date_precision_given CHECK ((event_date IS NULL) = (event_date_precision IS NULL));

-- 3. Upload MIME types ⊆ what the worker processes. Operators' own narrowing is kept.
UPDATE public.upload_settings
   SET allowed_mime_types = ARRAY(
         SELECT m FROM unnest(allowed_mime_types) WITH ORDINALITY AS t(m, i)
          WHERE m = ANY (ARRAY['application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'image/png', 'image/jpeg',
                               'image/jpg', 'image/webp', 'image/gif', 'image/tiff'])
          ORDER BY i),
       updated_at = now()
 WHERE NOT (allowed_mime_types <@ ARRAY['application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'image/png',
                                        'image/jpeg', 'image/jpg', 'image/webp', 'image/gif', 'image/tiff']);
ALTER TABLE public.upload_settings
  ALTER COLUMN allowed_mime_types SET DEFAULT ARRAY['application/pdf', 'image/jpeg', 'image/png', 'image/tiff',
                                                    'image/webp', 'text/plain'],
  ADD CONSTRAINT upload_settings_mime_types_processable CHECK (
    allowed_mime_types <@ ARRAY['application/pdf', 'text/plain', 'text/markdown', 'text/csv', 'image/png', 'image/jpeg',
                                'image/jpg', 'image/webp', 'image/gif', 'image/tiff']);
COMMENT ON CONSTRAINT upload_settings_mime_types_processable ON public.upload_settings IS
  'Only types the worker can read may be accepted at upload (worker DocumentKind.ACCEPTED_MIME_TYPES); HEIC is not one.';

-- 4. write_back_extraction: V054's function (issue 12 ownership block, audit rows by the
--    tables' triggers) with the issue 13 parts marked.
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
  v_precision text;
  v_raw_date text;
  v_page     int;
  v_pages    int;
  v_read     int;
  v_unread   jsonb;
  v_dropped  jsonb;
  v_outcome  text;
  v_key      text;
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
  -- anything is written.
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

  -- (issue 13) page accounting, dropped events, text cut: optional keys, checked when given.
  FOREACH v_key IN ARRAY ARRAY['pages_read', 'text_chars', 'model_calls', 'tokens_reserved'] LOOP
    IF coalesce(jsonb_typeof(p_document -> v_key), 'null') NOT IN ('null', 'number')
       OR (p_document ->> v_key)::numeric < 0 THEN
      RAISE EXCEPTION 'write_back_extraction: p_document.% must be a non-negative number or null', v_key
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END LOOP;
  FOREACH v_key IN ARRAY ARRAY['pages_unread', 'dropped_events'] LOOP
    IF coalesce(jsonb_typeof(p_document -> v_key), 'null') NOT IN ('null', 'array') THEN
      RAISE EXCEPTION 'write_back_extraction: p_document.% must be an array or null', v_key
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END LOOP;
  IF coalesce(jsonb_typeof(p_document -> 'text_truncated'), 'null') NOT IN ('null', 'boolean') THEN
    RAISE EXCEPTION 'write_back_extraction: p_document.text_truncated must be a boolean or null'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_read := (p_document ->> 'pages_read')::int;
  v_unread := CASE WHEN jsonb_typeof(p_document -> 'pages_unread') = 'array' THEN p_document -> 'pages_unread' END;
  v_dropped := CASE WHEN jsonb_typeof(p_document -> 'dropped_events') = 'array' THEN p_document -> 'dropped_events' END;
  IF v_read IS NOT NULL AND v_pages IS NOT NULL
     AND v_read + coalesce(jsonb_array_length(v_unread), 0) <> v_pages THEN
    RAISE EXCEPTION 'write_back_extraction: pages_read % + % unread pages is not page_count %',
      v_read, coalesce(jsonb_array_length(v_unread), 0), v_pages
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_outcome := CASE WHEN v_read IS NULL THEN NULL
                    WHEN coalesce(jsonb_array_length(v_unread), 0) > 0 THEN 'partial'
                    ELSE 'complete' END;

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

  INSERT INTO public.document_texts (patient_id, shell_file_id, job_id, text, page_count, processor, model, tokens_used,
                                     pages_read, pages_unread, dropped_events, text_truncated, text_chars,
                                     model_calls, tokens_reserved, extraction_outcome)
  VALUES (v_file.patient_id, v_file.id, p_job_id, p_document ->> 'text', v_pages,
          p_document ->> 'processor', p_document ->> 'model', p_tokens_used,
          v_read, v_unread, v_dropped, (p_document ->> 'text_truncated')::boolean,
          (p_document ->> 'text_chars')::bigint, (p_document ->> 'model_calls')::int,
          (p_document ->> 'tokens_reserved')::bigint, v_outcome)
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
    -- (issue 13) partial dates: YYYY, YYYY-MM or YYYY-MM-DD; the first day of the period plus its precision.
    v_date := NULL;
    v_precision := NULL;
    v_raw_date := v_event ->> 'event_date';
    IF v_raw_date IS NOT NULL THEN
      IF v_raw_date !~ '^\d{4}(-\d{2}(-\d{2})?)?$' THEN
        RAISE EXCEPTION 'write_back_extraction: p_events[%].event_date "%" is not an ISO date (YYYY-MM-DD, YYYY-MM or YYYY)',
          v_i, v_raw_date
          USING ERRCODE = 'invalid_parameter_value';
      END IF;
      v_precision := CASE length(v_raw_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month' ELSE 'day' END;
      BEGIN
        v_date := (v_raw_date || CASE v_precision WHEN 'year' THEN '-01-01' WHEN 'month' THEN '-01' ELSE '' END)::date;
      EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
        RAISE EXCEPTION 'write_back_extraction: p_events[%].event_date "%" is not a valid date',
          v_i, v_raw_date
          USING ERRCODE = 'invalid_parameter_value';
      END;
      IF extract(year FROM v_date) < 1 THEN
        RAISE EXCEPTION 'write_back_extraction: p_events[%].event_date "%" is not a valid date', v_i, v_raw_date
          USING ERRCODE = 'invalid_parameter_value';
      END IF;
    END IF;

    INSERT INTO public.clinical_events
           (patient_id, shell_file_id, job_id, ordinal, event_type, name, code, code_system,
            value, unit, event_date, event_date_precision, confidence, source_page)
    VALUES (v_file.patient_id, v_file.id, p_job_id, v_i, v_type, v_name,
            v_event ->> 'code', v_event ->> 'code_system', v_event ->> 'value', v_event ->> 'unit',
            v_date, v_precision, v_conf, v_page);
  END LOOP;

  -- 5. The shell file is done, and so is the job (same transaction, same lease).
  UPDATE public.shell_files f
     SET status = 'completed', processing_error = NULL, processed_at = now(),
         -- (issue 13) what the patient's file shows: pages read / total and the outcome
         pages_total = v_pages, pages_read = v_read, pages_unread = v_unread, extraction_outcome = v_outcome
   WHERE f.id = v_file.id;

  IF NOT public.complete_job(p_job_id, p_lease_token,
                             jsonb_build_object('document_text_id', v_doc_id, 'clinical_events', v_n,
                                                'pages_read', v_read, 'pages_total', v_pages,
                                                'extraction_outcome', v_outcome),
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

-- 5. Why the shared budget is blocked now (NULL when it is not).
CREATE FUNCTION public.token_budget_blocked_reason(p_budget text)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN b.blocked_until > clock_timestamp() THEN b.blocked_reason END
    FROM public.token_budget b
   WHERE b.name = p_budget;
$$;
REVOKE ALL ON FUNCTION public.token_budget_blocked_reason(text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.token_budget_blocked_reason(text) TO queue_worker, queue_controller;
