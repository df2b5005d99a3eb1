-- Issue 14 (PostgreSQL CPU per job on the batched path): job ids in time order.
--
-- Measured (docs/queue.md "Per-job statement cost", one PostgreSQL 17.6, one pgbench client
-- draining 50,000 jobs 250 per claim and per complete_jobs, alternating with Graphile Worker 0.18's
-- own get_jobs / complete_jobs statements on the same server): a claimed job's new row version
-- gets a primary-key entry and a completed job gets a job_history (id, finished_at) entry. With
-- gen_random_uuid() ids the 250 jobs of one claim or completion sit on ~250 different leaf pages
-- of each index; the claim takes the oldest jobs, which were enqueued together, so with ids in
-- enqueue order they sit on a handful of adjacent leaves, and the history index is appended at
-- its right edge. 3 rounds: claim 24.7 -> 20.8 us/job, completion 20.5 -> 16.3 us/job, buffers
-- 21.3 -> 17.9 per job, server CPU 0.051 -> 0.043 ms/job; WAL records unchanged.
--
-- The id layout is RFC 9562's UUID version 7: 48 bits of Unix milliseconds, the version, a 26-bit
-- counter (the element's position in an enqueue_jobs call, random for a single enqueue_job; RFC
-- 9562 method 1, "fixed bit-length dedicated counter") split around the variant bits, and 48
-- random bits. The ids stay unique by the live table's primary key (a collision needs the same
-- millisecond, the same counter and the same 48 random bits). Nothing relies on a job id being
-- unguessable: every write to a job needs its lease token, which stays gen_random_uuid() per claim.
-- Existing jobs keep their ids (random ones sort anywhere; nothing orders by id).

-- Plain SQL without a SET clause so that the planner inlines it into enqueue_jobs' statement (a
-- function call per element with its own search_path costs ~5 us per job; inlined it is an
-- expression). It is SECURITY INVOKER, callable only by the definer functions below (no grants),
-- and names every function, operator and type by schema, so the caller's search_path (where
-- pg_temp may come first for types) resolves nothing in it.
CREATE FUNCTION public.job_queue_new_id(p_at timestamptz, p_counter integer)
  RETURNS uuid
  LANGUAGE sql
  VOLATILE PARALLEL SAFE
AS $$
  SELECT (pg_catalog.lpad(pg_catalog.to_hex((EXTRACT(EPOCH FROM p_at) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8), 12, '0')
       OPERATOR(pg_catalog.||) pg_catalog.to_hex(28672 OPERATOR(pg_catalog.|) ((p_counter OPERATOR(pg_catalog.>>) 14) OPERATOR(pg_catalog.&) 4095))
       OPERATOR(pg_catalog.||) pg_catalog.to_hex(32768 OPERATOR(pg_catalog.|) (p_counter OPERATOR(pg_catalog.&) 16383))
       OPERATOR(pg_catalog.||) pg_catalog.substr(pg_catalog.replace(pg_catalog.gen_random_uuid()::pg_catalog.text, '-', ''), 1, 12))::pg_catalog.uuid
$$;
COMMENT ON FUNCTION public.job_queue_new_id(timestamptz, integer) IS
  'A new job id: UUID version 7 (RFC 9562) of p_at''s millisecond, a 26-bit counter (p_counter, 0 .. 2^26 - 1) and 48 random bits, so ids sort in enqueue order. Internal to the enqueue functions.';
REVOKE ALL ON FUNCTION public.job_queue_new_id(timestamptz, integer)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-------------------------------------------------------------------------------------------------
-- enqueue_job (through enqueue_job_unchecked): V081's function with its default id from
-- job_queue_new_id. CREATE OR REPLACE keeps its grants.
CREATE OR REPLACE FUNCTION public.enqueue_job_unchecked(
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
  v_id           uuid        := coalesce(p_job_id, public.job_queue_new_id(clock_timestamp(), (pg_catalog.random() * 67108863)::integer));
  v_existing     uuid;
  v_lane         text        := coalesce(p_job_lane, 'default');
  v_priority     integer     := coalesce(p_priority, 5);
  v_scheduled_at timestamptz := coalesce(p_scheduled_at, now());
  v_max_attempts integer     := coalesce(p_max_attempts, 5);
  v_payload      jsonb       := coalesce(p_payload, '{}'::jsonb);
BEGIN
  -- (the table no longer re-checks these: the functions are its only writers)
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

  INSERT INTO public.job_idempotency_keys AS k (idempotency_key, job_id)
  VALUES (p_idempotency_key, v_id)
  ON CONFLICT (idempotency_key) DO NOTHING;
  IF NOT FOUND THEN
    -- Already enqueued (possibly by a concurrent call that has just committed): the existing job.
    SELECT k.job_id INTO v_existing FROM public.job_idempotency_keys AS k WHERE k.idempotency_key = p_idempotency_key;
    IF v_existing IS NULL THEN
      RAISE EXCEPTION 'enqueue_job: idempotency key % conflicted but no job holds it', p_idempotency_key
        USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN v_existing;
  END IF;

  INSERT INTO public.job_queue
    (id, job_type, job_lane, payload, priority, scheduled_at, max_attempts, idempotency_key,
     patient_id, shell_file_id, correlation_id, tokens_estimated)
  VALUES
    (v_id, p_job_type, v_lane, v_payload, v_priority, v_scheduled_at, v_max_attempts, p_idempotency_key,
     p_patient_id, p_shell_file_id, coalesce(p_correlation_id, gen_random_uuid()), p_tokens_estimated);

  -- Wake listeners only for work that is ready now (delivered at commit).
  IF v_scheduled_at <= now() THEN
    PERFORM pg_catalog.pg_notify('queuepilot_jobs', p_job_type);
  END IF;
  RETURN v_id;
END
$$;

-------------------------------------------------------------------------------------------------
-- enqueue_jobs: V093's function with the ids from job_queue_new_id, counter = element position.
-- CREATE OR REPLACE keeps its grants.
CREATE OR REPLACE FUNCTION public.enqueue_jobs(
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
  v_at       timestamptz := clock_timestamp();
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
  -- (OFFSET 0 keeps the planner from pushing the pattern below the DISTINCT, which matched it
  -- once per element: V082's 0.3 s per 50,000.)
  SELECT pg_catalog.array_agg(d.x) INTO v_bad_types
    FROM (SELECT DISTINCT u.x FROM pg_catalog.unnest(p_job_types) AS u(x) OFFSET 0) AS d
   WHERE d.x !~ '^[a-z][a-z0-9_.-]{0,62}$';
  SELECT pg_catalog.array_agg(d.x) INTO v_bad_lanes
    FROM (SELECT DISTINCT u.x FROM pg_catalog.unnest(p_job_lanes) AS u(x) OFFSET 0) AS d
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

  SELECT pg_catalog.array_agg(public.job_queue_new_id(v_at, s.n) ORDER BY s.n) INTO v_new_ids
    FROM pg_catalog.generate_series(1, v_n) AS s(n);

  -- Fast path, the bulk case: every key is new. Plain INSERTs (no speculative insertion: one WAL
  -- record and one index probe less per key than ON CONFLICT) and the live rows straight from the
  -- arrays (no join back to the keys). Any key that exists already, live or finished, committed
  -- by a concurrent call meanwhile, or repeated within this call raises unique_violation: the
  -- block's subtransaction undoes both INSERTs and the general statement below runs instead, with
  -- the same per-element answers as before. Keys go in key order on both paths, so concurrent
  -- calls with overlapping keys wait for each other instead of deadlocking.
  BEGIN
    INSERT INTO public.job_idempotency_keys (idempotency_key, job_id)
    SELECT t.key, t.new_id
      FROM ROWS FROM (pg_catalog.unnest(p_idempotency_keys), pg_catalog.unnest(v_new_ids)) AS t(key, new_id)
     ORDER BY t.key COLLATE "C";
    INSERT INTO public.job_queue
      (id, job_type, job_lane, payload, priority, scheduled_at, max_attempts, idempotency_key,
       patient_id, shell_file_id, correlation_id, tokens_estimated)
    SELECT t.new_id, t.job_type, coalesce(t.lane, 'default'), coalesce(t.payload, '{}'::jsonb),
           coalesce(t.priority, 5), coalesce(t.scheduled_at, now()), coalesce(t.max_attempts, 5), t.key,
           t.patient_id, t.shell_file_id, coalesce(t.correlation_id, t.new_id), t.tokens
      FROM ROWS FROM (pg_catalog.unnest(p_job_types), pg_catalog.unnest(p_payloads),
                      pg_catalog.unnest(p_idempotency_keys), pg_catalog.unnest(p_job_lanes),
                      pg_catalog.unnest(p_priorities), pg_catalog.unnest(p_scheduled_at),
                      pg_catalog.unnest(p_max_attempts), pg_catalog.unnest(p_patient_ids),
                      pg_catalog.unnest(p_shell_file_ids), pg_catalog.unnest(p_correlation_ids),
                      pg_catalog.unnest(p_tokens_estimated), pg_catalog.unnest(v_new_ids))
           AS t(job_type, payload, key, lane, priority, scheduled_at, max_attempts,
                patient_id, shell_file_id, correlation_id, tokens, new_id);
    SELECT pg_catalog.array_agg(DISTINCT r.job_type) INTO v_ready
      FROM ROWS FROM (pg_catalog.unnest(p_job_types), pg_catalog.unnest(p_scheduled_at)) AS r(job_type, scheduled_at)
     WHERE coalesce(r.scheduled_at, now()) <= now();
    PERFORM pg_catalog.pg_notify('queuepilot_jobs', t.job_type)
       FROM pg_catalog.unnest(coalesce(v_ready, '{}')) AS t(job_type);
    RETURN QUERY SELECT t.ord::integer, t.new_id, true
                   FROM pg_catalog.unnest(v_new_ids) WITH ORDINALITY AS t(new_id, ord);
    RETURN;
  EXCEPTION WHEN unique_violation THEN
    -- some key exists or repeats: nothing of the fast path is left; the general statement answers
  END;

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
           i.patient_id, i.shell_file_id, coalesce(i.correlation_id, i.new_id), i.tokens
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
