-- Issue 14 (bulk enqueue): enqueue_jobs, the set-based enqueue_job.
--
-- enqueue_job is one function call, two index probes and two single-row INSERTs per job; a
-- bulk producer (a backfill, the benchmark) paid that 10,000 times for 10,000 jobs. enqueue_jobs
-- takes parallel arrays (element i of every array belongs to job i; NULL for an optional array,
-- or a NULL element, means enqueue_job's default) and enqueues them all with one validation
-- pass, one INSERT ... SELECT FROM unnest into job_idempotency_keys (ON CONFLICT DO NOTHING) and
-- one INSERT ... SELECT into job_queue for the keys that were new.
--
-- Same guarantees as enqueue_job:
--   * every element is validated exactly like enqueue_job's arguments; the first bad element
--     raises (22023, or 54000 for an oversized payload) naming its index and argument, and
--     nothing of the call is stored;
--   * idempotent per key, across live and finished jobs: an element whose key exists returns the
--     existing job id (enqueued = false) and changes nothing; an element repeating a key earlier
--     in the same call gets that earlier element's job (the call behaves like enqueue_job called
--     for each element in order). Keys are inserted in key order, so two concurrent calls with
--     overlapping keys wait for each other instead of deadlocking;
--   * p_patient_ids / p_shell_file_ids only from service_role or the owner (42501);
--   * NOTIFY queuepilot_jobs once per job type with a new job ready now.
-- Returns one row per element: (element, job_id, enqueued).

CREATE FUNCTION public.enqueue_jobs(
  p_job_types        text[],
  p_payloads         jsonb[],
  p_idempotency_keys text[],
  p_job_lanes        text[]        DEFAULT NULL,
  p_priorities       integer[]     DEFAULT NULL,
  p_scheduled_at     timestamptz[] DEFAULT NULL,
  p_max_attempts     integer[]     DEFAULT NULL,
  p_patient_ids      uuid[]        DEFAULT NULL,
  p_shell_file_ids   uuid[]        DEFAULT NULL,
  p_correlation_ids  uuid[]        DEFAULT NULL,
  p_tokens_estimated integer[]     DEFAULT NULL
) RETURNS TABLE(element integer, job_id uuid, enqueued boolean)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_n        integer := coalesce(pg_catalog.cardinality(p_idempotency_keys), 0);
  v_caller   text := coalesce(nullif(nullif(pg_catalog.current_setting('role', true), ''), 'none'),
                              session_user::text);
  v_len      integer;
  v_arg      text;
  v_bad      record;
  v_bad_types text[];
  v_bad_lanes text[];
  v_new_ids  uuid[];
  v_inserted integer;
  v_ready    text[];
BEGIN
  IF p_job_types IS NULL OR p_idempotency_keys IS NULL THEN
    RAISE EXCEPTION 'enqueue_jobs: p_job_types and p_idempotency_keys are required'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF v_n > 100000 THEN
    RAISE EXCEPTION 'enqueue_jobs: % jobs in one call; at most 100000', v_n USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- parallel arrays: every given array has one element per job
  FOR v_arg, v_len IN
    SELECT a.name, a.len FROM (VALUES
      ('p_job_types', pg_catalog.cardinality(p_job_types)), ('p_payloads', pg_catalog.cardinality(p_payloads)),
      ('p_job_lanes', pg_catalog.cardinality(p_job_lanes)), ('p_priorities', pg_catalog.cardinality(p_priorities)),
      ('p_scheduled_at', pg_catalog.cardinality(p_scheduled_at)),
      ('p_max_attempts', pg_catalog.cardinality(p_max_attempts)),
      ('p_patient_ids', pg_catalog.cardinality(p_patient_ids)),
      ('p_shell_file_ids', pg_catalog.cardinality(p_shell_file_ids)),
      ('p_correlation_ids', pg_catalog.cardinality(p_correlation_ids)),
      ('p_tokens_estimated', pg_catalog.cardinality(p_tokens_estimated))) AS a(name, len)
     WHERE a.len IS NOT NULL AND a.len <> v_n
  LOOP
    RAISE EXCEPTION 'enqueue_jobs: % idempotency keys but % has % elements (the arrays are parallel)',
      v_n, v_arg, v_len USING ERRCODE = 'invalid_parameter_value';
  END LOOP;
  IF v_n = 0 THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(p_patient_ids) AS u(x) WHERE u.x IS NOT NULL)
     OR EXISTS (SELECT 1 FROM pg_catalog.unnest(p_shell_file_ids) AS u(x) WHERE u.x IS NOT NULL) THEN
    IF NOT (pg_catalog.pg_has_role(v_caller, 'service_role', 'USAGE')
            OR pg_catalog.pg_has_role(v_caller, current_user, 'USAGE')) THEN
      RAISE EXCEPTION 'enqueue_jobs: role % may not attach a job to a patient or shell file (p_patient_ids / p_shell_file_ids are for service_role; uploads get their job from register_shell_file, re-processing from reprocess_shell_file)',
        v_caller USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;

  -- Validation (the table does not re-check these: the functions are its only writers). The
  -- name patterns are matched once per DISTINCT type and lane (a bulk call repeats a few), then
  -- one pass over the elements reports the first bad one, by index.
  SELECT pg_catalog.array_agg(d.x) INTO v_bad_types
    FROM (SELECT DISTINCT u.x FROM pg_catalog.unnest(p_job_types) AS u(x)) AS d
   WHERE d.x !~ '^[a-z][a-z0-9_.-]{0,62}$';
  SELECT pg_catalog.array_agg(d.x) INTO v_bad_lanes
    FROM (SELECT DISTINCT u.x FROM pg_catalog.unnest(p_job_lanes) AS u(x)) AS d
   WHERE d.x !~ '^[a-z][a-z0-9_.-]{0,62}$';
  SELECT b.ord, b.problem[1] AS code, b.problem[2] AS message INTO v_bad
    FROM (SELECT t.ord,
                 CASE
                   WHEN t.job_type IS NULL OR t.job_type = ANY (v_bad_types) THEN ARRAY['22023',
                     pg_catalog.format('p_job_types[%s] %s is invalid (lower-case letters, digits, _ . -; at most 63)',
                       t.ord, coalesce(pg_catalog.quote_literal(pg_catalog.left(t.job_type, 80)), 'NULL'))]
                   WHEN t.lane = ANY (v_bad_lanes) THEN ARRAY['22023',
                     pg_catalog.format('p_job_lanes[%s] %s is invalid (lower-case letters, digits, _ . -; at most 63)',
                       t.ord, pg_catalog.quote_literal(pg_catalog.left(t.lane, 80)))]
                   WHEN t.key IS NULL OR pg_catalog.length(t.key) NOT BETWEEN 1 AND 400 THEN ARRAY['22023',
                     pg_catalog.format('p_idempotency_keys[%s] is required (1 to 400 characters)', t.ord)]
                   WHEN t.payload IS NOT NULL AND pg_catalog.jsonb_typeof(t.payload) <> 'object' THEN ARRAY['22023',
                     pg_catalog.format('p_payloads[%s] must be a JSON object, got %s', t.ord, pg_catalog.jsonb_typeof(t.payload))]
                   WHEN pg_catalog.pg_column_size(t.payload) > 16384 THEN ARRAY['54000',
                     pg_catalog.format('p_payloads[%s] is %s bytes; at most 16384 (references only, never file contents)',
                       t.ord, pg_catalog.pg_column_size(t.payload))]
                   WHEN t.priority NOT BETWEEN 1 AND 10 THEN ARRAY['22023',
                     pg_catalog.format('p_priorities[%s] %s is out of range 1 (most urgent) .. 10', t.ord, t.priority)]
                   WHEN t.max_attempts NOT BETWEEN 1 AND 100 THEN ARRAY['22023',
                     pg_catalog.format('p_max_attempts[%s] %s is out of range 1..100', t.ord, t.max_attempts)]
                   WHEN t.tokens < 0 THEN ARRAY['22023',
                     pg_catalog.format('p_tokens_estimated[%s] %s is negative', t.ord, t.tokens)]
                 END AS problem
            FROM ROWS FROM (pg_catalog.unnest(p_job_types), pg_catalog.unnest(p_job_lanes),
                            pg_catalog.unnest(p_idempotency_keys), pg_catalog.unnest(p_payloads),
                            pg_catalog.unnest(p_priorities), pg_catalog.unnest(p_max_attempts),
                            pg_catalog.unnest(p_tokens_estimated))
                 WITH ORDINALITY AS t(job_type, lane, key, payload, priority, max_attempts, tokens, ord)) AS b
   WHERE b.problem IS NOT NULL
   ORDER BY b.ord
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'enqueue_jobs: %', v_bad.message USING ERRCODE = v_bad.code;
  END IF;

  SELECT pg_catalog.array_agg(gen_random_uuid()) INTO v_new_ids FROM pg_catalog.generate_series(1, v_n);

  -- The keys first (unique across live and finished jobs), in key order; then the live rows of
  -- exactly the elements whose key was new. For a key repeated within the call, the element
  -- with the lowest index wins (ORDER BY key, ord; DO NOTHING skips the later ones).
  WITH input AS (
    SELECT t.*
      FROM ROWS FROM (pg_catalog.unnest(p_job_types), pg_catalog.unnest(p_payloads),
                      pg_catalog.unnest(p_idempotency_keys), pg_catalog.unnest(p_job_lanes),
                      pg_catalog.unnest(p_priorities), pg_catalog.unnest(p_scheduled_at),
                      pg_catalog.unnest(p_max_attempts), pg_catalog.unnest(p_patient_ids),
                      pg_catalog.unnest(p_shell_file_ids), pg_catalog.unnest(p_correlation_ids),
                      pg_catalog.unnest(p_tokens_estimated), pg_catalog.unnest(v_new_ids))
           WITH ORDINALITY AS t(job_type, payload, key, lane, priority, scheduled_at, max_attempts,
                                patient_id, shell_file_id, correlation_id, tokens, new_id, ord)
  ), keyed AS (
    INSERT INTO public.job_idempotency_keys AS k (idempotency_key, job_id)
    SELECT i.key, i.new_id FROM input AS i ORDER BY i.key COLLATE "C", i.ord
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING k.job_id
  ), queued AS (
    INSERT INTO public.job_queue
      (id, job_type, job_lane, payload, priority, scheduled_at, max_attempts, idempotency_key,
       patient_id, shell_file_id, correlation_id, tokens_estimated)
    SELECT i.new_id, i.job_type, coalesce(i.lane, 'default'), coalesce(i.payload, '{}'::jsonb),
           coalesce(i.priority, 5), coalesce(i.scheduled_at, now()), coalesce(i.max_attempts, 5), i.key,
           i.patient_id, i.shell_file_id, coalesce(i.correlation_id, gen_random_uuid()), i.tokens
      FROM input AS i JOIN keyed AS k ON k.job_id = i.new_id
    RETURNING job_type, scheduled_at
  )
  SELECT pg_catalog.count(*)::integer,
         pg_catalog.array_agg(DISTINCT q.job_type) FILTER (WHERE q.scheduled_at <= now())
    INTO v_inserted, v_ready
    FROM queued AS q;

  -- Wake listeners once per job type with new work ready now (delivered at commit).
  PERFORM pg_catalog.pg_notify('queuepilot_jobs', t.job_type)
     FROM pg_catalog.unnest(coalesce(v_ready, '{}')) AS t(job_type);

  IF v_inserted = v_n THEN
    -- every element was a new job (the bulk case): no key lookups
    RETURN QUERY SELECT t.ord::integer, t.new_id, true
                   FROM pg_catalog.unnest(v_new_ids) WITH ORDINALITY AS t(new_id, ord);
    RETURN;
  END IF;

  -- Some keys existed (or repeated within the call): their job is the one the key names now.
  -- A new statement, so keys a concurrent call committed while we waited on them are visible.
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(p_idempotency_keys) AS t(key)
              WHERE NOT EXISTS (SELECT 1 FROM public.job_idempotency_keys AS k WHERE k.idempotency_key = t.key)) THEN
    RAISE EXCEPTION 'enqueue_jobs: an idempotency key conflicted but no job holds it (purged concurrently); retry'
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN QUERY
  SELECT t.ord::integer, k.job_id, k.job_id = t.new_id
    FROM ROWS FROM (pg_catalog.unnest(p_idempotency_keys), pg_catalog.unnest(v_new_ids))
         WITH ORDINALITY AS t(key, new_id, ord)
    JOIN public.job_idempotency_keys AS k ON k.idempotency_key = t.key
   ORDER BY t.ord;
END
$$;
COMMENT ON FUNCTION public.enqueue_jobs(text[], jsonb[], text[], text[], integer[], timestamptz[], integer[], uuid[], uuid[], uuid[], integer[]) IS
  'Set-based enqueue_job (parallel arrays, at most 100000; NULL array or element = the default): validates every element (the first bad one raises naming its index), idempotent per key like enqueue_job, one INSERT per table; returns (element, job_id, enqueued) per element.';

REVOKE ALL ON FUNCTION public.enqueue_jobs(text[], jsonb[], text[], text[], integer[], timestamptz[], integer[], uuid[], uuid[], uuid[], integer[])
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.enqueue_jobs(text[], jsonb[], text[], text[], integer[], timestamptz[], integer[], uuid[], uuid[], uuid[], integer[])
  TO queue_worker, service_role;
