-- Issue 14, points 1 and 3 (SQL): the two plan fixes on today's schema, set-based lease-guarded
-- batch functions, and a stale-job sweep scoped to job types and lanes.
--
-- 1. claim_next_job was re-planned on every call: its `LIMIT p_batch` makes the generic plan
--    look expensive (the planner assumes a parameterised LIMIT fetches 10 % of the pending
--    rows, and then prefers a hash join over a sequential scan of the whole table), so
--    PL/pgSQL's plan cache kept choosing custom plans (~0.2 ms of planning per claim). Now the
--    statement has one shape whatever the estimate — the picked ids are collected by an
--    InitPlan (`id = ANY (ARRAY(SELECT ... FOR UPDATE SKIP LOCKED))`), so the UPDATE is a
--    primary-key lookup of exactly those rows — and the function runs with
--    `plan_cache_mode = force_generic_plan`: it is planned once per session (per statement
--    variant: with and without a lane filter, so a lane-restricted claim keeps its index).
-- 2. The lease-guarded statements matched `id AND lease_token AND status = 'processing'`. With
--    statistics taken while nothing was processing, the planner estimated the partial index
--    `WHERE status = 'processing'` at zero rows and scanned it, filtering by id: every
--    completion cost work proportional to the jobs in flight. The lease token alone implies
--    processing (CHECK job_queue_processing_has_lease: (status = 'processing') = (lease_token
--    IS NOT NULL)), so the status predicate goes and the only usable index is the primary key.
--
-- Signatures are unchanged (CREATE OR REPLACE keeps the grants of V005).

-------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.claim_next_job(
  p_worker_id text,
  p_job_types text[]  DEFAULT NULL,
  p_lanes     text[]  DEFAULT NULL,
  p_batch     integer DEFAULT 1
) RETURNS TABLE(id uuid, job_type text, job_lane text, payload jsonb, lease_token uuid,
                attempt integer, max_attempts integer, patient_id uuid, shell_file_id uuid,
                correlation_id uuid, tokens_estimated integer, created_at timestamptz)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  IF p_worker_id IS NULL OR pg_catalog.length(p_worker_id) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'claim_next_job: p_worker_id is required (1 to 200 characters)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_batch IS NULL OR p_batch NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'claim_next_job: p_batch % is out of range 1..1000', coalesce(p_batch::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- One statement: lock the most urgent ready rows nobody else is locking, and take them.
  IF p_lanes IS NULL THEN
    RETURN QUERY
    UPDATE public.job_queue AS j
       SET status       = 'processing',
           lease_token  = gen_random_uuid(),
           attempt      = j.attempt + 1,
           worker_id    = p_worker_id,
           started_at   = now(),
           heartbeat_at = now(),
           updated_at   = now()
     WHERE j.id = ANY (ARRAY(
             SELECT c.id
               FROM public.job_queue AS c
              WHERE c.status = 'pending'
                AND c.scheduled_at <= now()
                AND (p_job_types IS NULL OR c.job_type = ANY (p_job_types))
              ORDER BY c.priority, c.scheduled_at, c.created_at
              LIMIT p_batch
              FOR UPDATE SKIP LOCKED))
    RETURNING j.id, j.job_type, j.job_lane, j.payload, j.lease_token, j.attempt, j.max_attempts,
              j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated, j.created_at;
  ELSE
    RETURN QUERY
    UPDATE public.job_queue AS j
       SET status       = 'processing',
           lease_token  = gen_random_uuid(),
           attempt      = j.attempt + 1,
           worker_id    = p_worker_id,
           started_at   = now(),
           heartbeat_at = now(),
           updated_at   = now()
     WHERE j.id = ANY (ARRAY(
             SELECT c.id
               FROM public.job_queue AS c
              WHERE c.status = 'pending'
                AND c.job_lane = ANY (p_lanes)
                AND c.scheduled_at <= now()
                AND (p_job_types IS NULL OR c.job_type = ANY (p_job_types))
              ORDER BY c.priority, c.scheduled_at, c.created_at
              LIMIT p_batch
              FOR UPDATE SKIP LOCKED))
    RETURNING j.id, j.job_type, j.job_lane, j.payload, j.lease_token, j.attempt, j.max_attempts,
              j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated, j.created_at;
  END IF;
END
$$;
COMMENT ON FUNCTION public.claim_next_job(text, text[], text[], integer) IS
  'Claims up to p_batch ready jobs (priority 1 first, then oldest scheduled) in one statement with FOR UPDATE SKIP LOCKED; each gets a new lease_token and spends an attempt. NULL filters mean all. Planned once per session (generic plan).';

-------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.heartbeat_job(p_job_id uuid, p_lease_token uuid) RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- Primary key + lease: the lease implies processing (job_queue_processing_has_lease).
  UPDATE public.job_queue AS j
     SET heartbeat_at = now(), updated_at = now()
   WHERE j.id = p_job_id AND j.lease_token = p_lease_token;
  RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb DEFAULT NULL,
                                               p_tokens_used integer DEFAULT NULL) RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_tokens_used < 0 THEN
    RAISE EXCEPTION 'complete_job: p_tokens_used % is negative', p_tokens_used
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.pg_column_size(p_result) > 65536 THEN
    RAISE EXCEPTION 'complete_job: p_result is % bytes; at most 65536', pg_catalog.pg_column_size(p_result)
      USING ERRCODE = 'program_limit_exceeded';
  END IF;
  UPDATE public.job_queue AS j
     SET status       = 'completed',
         completed_at = now(),
         updated_at   = now(),
         result       = p_result,
         tokens_used  = coalesce(p_tokens_used, j.tokens_used),
         lease_token  = NULL
   WHERE j.id = p_job_id AND j.lease_token = p_lease_token;
  RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION public.fail_job(p_job_id uuid, p_lease_token uuid, p_error jsonb,
                                           p_retryable boolean DEFAULT true) RETURNS text
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_status text;
BEGIN
  SELECT f.new_status INTO v_status
    FROM public.fail_jobs(ARRAY[p_job_id], ARRAY[p_lease_token], ARRAY[p_error], ARRAY[p_retryable]) AS f;
  RETURN v_status;
END
$$;

CREATE OR REPLACE FUNCTION public.release_job(p_job_id uuid, p_lease_token uuid,
                                              p_delay interval DEFAULT '0 seconds') RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_delay interval := coalesce(p_delay, '0 seconds'::interval);
BEGIN
  IF v_delay < '0 seconds'::interval OR v_delay > '1 day'::interval THEN
    RAISE EXCEPTION 'release_job: p_delay % is out of range 0 .. 1 day', v_delay
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE public.job_queue AS j
     SET status       = 'pending',
         attempt      = GREATEST(j.attempt - 1, 0),  -- the claim's attempt is given back
         scheduled_at = now() + v_delay,
         lease_token  = NULL,
         heartbeat_at = NULL,
         updated_at   = now()
   WHERE j.id = p_job_id AND j.lease_token = p_lease_token;
  RETURN FOUND;
END
$$;

-------------------------------------------------------------------------------------------------
-- Set-based, lease-guarded batches: one round trip and one statement for many jobs that finish
-- (or heartbeat) together, each job guarded by its own lease exactly like the one-job
-- functions. Arrays are parallel (element i of every array belongs to job i); at most 1000
-- jobs per call. Each returns the jobs whose lease was NOT held — fenced: another worker owns
-- them now, nothing changed for them. The statements restrict the table by `id = ANY (ids)`
-- (a primary-key lookup whatever the statistics say) and match each row to its own lease;
-- like the claim they run generic plans (a custom plan per call would cost more planning than
-- the statement itself for small batches, and the shape does not depend on the batch size).

-- Raises a clear error unless the parallel arrays have the same length (0 .. 1000) and each job
-- appears once.
CREATE FUNCTION public.job_queue_check_batch(p_function text, p_job_ids uuid[], p_lease_tokens uuid[],
                                             p_other_lengths integer[] DEFAULT '{}')
  RETURNS integer
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_n integer := coalesce(pg_catalog.cardinality(p_job_ids), 0);
  v_len integer;
BEGIN
  IF p_job_ids IS NULL OR p_lease_tokens IS NULL THEN
    RAISE EXCEPTION '%: p_job_ids and p_lease_tokens are required', p_function
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF v_n > 1000 THEN
    RAISE EXCEPTION '%: % jobs in one call; at most 1000', p_function, v_n
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.cardinality(p_lease_tokens) <> v_n THEN
    RAISE EXCEPTION '%: % job ids but % lease tokens (the arrays are parallel)', p_function, v_n,
      pg_catalog.cardinality(p_lease_tokens) USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF (SELECT pg_catalog.count(DISTINCT t.id) FROM pg_catalog.unnest(p_job_ids) AS t(id)) <> v_n
     OR pg_catalog.array_position(p_job_ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION '%: p_job_ids must name each job once and contain no NULL', p_function
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOREACH v_len IN ARRAY coalesce(p_other_lengths, '{}') LOOP
    IF v_len IS NOT NULL AND v_len <> v_n THEN
      RAISE EXCEPTION '%: % job ids but an argument array has % elements (the arrays are parallel)',
        p_function, v_n, v_len USING ERRCODE = 'invalid_parameter_value';
    END IF;
  END LOOP;
  RETURN v_n;
END
$$;

CREATE FUNCTION public.complete_jobs(p_job_ids uuid[], p_lease_tokens uuid[],
                                     p_results jsonb[] DEFAULT NULL, p_tokens_used integer[] DEFAULT NULL)
  RETURNS TABLE(fenced_job_id uuid)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  v_i integer;
BEGIN
  PERFORM public.job_queue_check_batch('complete_jobs', p_job_ids, p_lease_tokens,
    ARRAY[pg_catalog.cardinality(p_results), pg_catalog.cardinality(p_tokens_used)]);
  FOR v_i IN 1 .. coalesce(pg_catalog.cardinality(p_job_ids), 0) LOOP
    IF p_tokens_used[v_i] < 0 THEN
      RAISE EXCEPTION 'complete_jobs: p_tokens_used[%] (job %) is negative: %', v_i, p_job_ids[v_i], p_tokens_used[v_i]
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.pg_column_size(p_results[v_i]) > 65536 THEN
      RAISE EXCEPTION 'complete_jobs: p_results[%] (job %) is % bytes; at most 65536', v_i, p_job_ids[v_i],
        pg_catalog.pg_column_size(p_results[v_i]) USING ERRCODE = 'program_limit_exceeded';
    END IF;
  END LOOP;

  RETURN QUERY
  WITH input AS (
    SELECT t.id, t.lease, p_results[t.ord] AS result, p_tokens_used[t.ord] AS tokens
      FROM ROWS FROM (pg_catalog.unnest(p_job_ids), pg_catalog.unnest(p_lease_tokens)) WITH ORDINALITY AS t(id, lease, ord)
  ), done AS (
    UPDATE public.job_queue AS j
       SET status       = 'completed',
           completed_at = now(),
           updated_at   = now(),
           result       = i.result,
           tokens_used  = coalesce(i.tokens, j.tokens_used),
           lease_token  = NULL
      FROM input AS i
     WHERE j.id = ANY (p_job_ids) AND j.id = i.id AND j.lease_token = i.lease
    RETURNING j.id
  )
  SELECT i.id FROM input AS i WHERE NOT EXISTS (SELECT 1 FROM done AS d WHERE d.id = i.id);
END
$$;
COMMENT ON FUNCTION public.complete_jobs(uuid[], uuid[], jsonb[], integer[]) IS
  'Completes every job whose lease is held (parallel arrays, at most 1000), in one statement; returns the ids of the fenced jobs (lease lost, nothing changed for them).';

CREATE FUNCTION public.heartbeat_jobs(p_job_ids uuid[], p_lease_tokens uuid[])
  RETURNS TABLE(fenced_job_id uuid)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
  PERFORM public.job_queue_check_batch('heartbeat_jobs', p_job_ids, p_lease_tokens);
  RETURN QUERY
  WITH input AS (
    SELECT t.id, t.lease FROM ROWS FROM (pg_catalog.unnest(p_job_ids), pg_catalog.unnest(p_lease_tokens)) AS t(id, lease)
  ), beat AS (
    UPDATE public.job_queue AS j
       SET heartbeat_at = now(), updated_at = now()
      FROM input AS i
     WHERE j.id = ANY (p_job_ids) AND j.id = i.id AND j.lease_token = i.lease
    RETURNING j.id
  )
  SELECT i.id FROM input AS i WHERE NOT EXISTS (SELECT 1 FROM beat AS b WHERE b.id = i.id);
END
$$;
COMMENT ON FUNCTION public.heartbeat_jobs(uuid[], uuid[]) IS
  'Renews every lease still held (parallel arrays, at most 1000), in one statement; returns the ids whose lease was lost.';

CREATE FUNCTION public.release_jobs(p_job_ids uuid[], p_lease_tokens uuid[],
                                    p_delay interval DEFAULT '0 seconds')
  RETURNS TABLE(fenced_job_id uuid)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  v_delay interval := coalesce(p_delay, '0 seconds'::interval);
BEGIN
  PERFORM public.job_queue_check_batch('release_jobs', p_job_ids, p_lease_tokens);
  IF v_delay < '0 seconds'::interval OR v_delay > '1 day'::interval THEN
    RAISE EXCEPTION 'release_jobs: p_delay % is out of range 0 .. 1 day', v_delay
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  WITH input AS (
    SELECT t.id, t.lease FROM ROWS FROM (pg_catalog.unnest(p_job_ids), pg_catalog.unnest(p_lease_tokens)) AS t(id, lease)
  ), released AS (
    UPDATE public.job_queue AS j
       SET status       = 'pending',
           attempt      = GREATEST(j.attempt - 1, 0),  -- the claim's attempt is given back
           scheduled_at = now() + v_delay,
           lease_token  = NULL,
           heartbeat_at = NULL,
           updated_at   = now()
      FROM input AS i
     WHERE j.id = ANY (p_job_ids) AND j.id = i.id AND j.lease_token = i.lease
    RETURNING j.id
  )
  SELECT i.id FROM input AS i WHERE NOT EXISTS (SELECT 1 FROM released AS r WHERE r.id = i.id);
END
$$;
COMMENT ON FUNCTION public.release_jobs(uuid[], uuid[], interval) IS
  'Returns every job whose lease is held to pending after p_delay without spending an attempt (parallel arrays, at most 1000); returns the fenced ids.';

-- Failures: per job an error and whether it is retryable (NULL = true). Every job of the call
-- comes back once: new_status 'pending' (retry with backoff) or 'dead_letter', or NULL when
-- it was fenced. Each dead-lettering writes its audit row, as fail_job always did.
CREATE FUNCTION public.fail_jobs(p_job_ids uuid[], p_lease_tokens uuid[], p_errors jsonb[],
                                 p_retryable boolean[] DEFAULT NULL)
  RETURNS TABLE(job_id uuid, new_status text)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  r record;
BEGIN
  PERFORM public.job_queue_check_batch('fail_jobs', p_job_ids, p_lease_tokens,
    ARRAY[pg_catalog.cardinality(p_errors), pg_catalog.cardinality(p_retryable)]);
  FOR r IN
    WITH input AS (
      SELECT t.id, t.lease, t.ord,
             public.job_queue_bounded_error(coalesce(p_errors[t.ord], '{"message": "no error given"}'::jsonb)) AS error,
             coalesce(p_retryable[t.ord], true) AS retryable
        FROM ROWS FROM (pg_catalog.unnest(p_job_ids), pg_catalog.unnest(p_lease_tokens)) WITH ORDINALITY AS t(id, lease, ord)
    ), failed AS (
      -- One statement: attempt history, error, backoff and the new status move together.
      UPDATE public.job_queue AS j
         SET status         = CASE WHEN NOT i.retryable OR j.attempt >= j.max_attempts
                                   THEN 'dead_letter' ELSE 'pending' END,
             scheduled_at   = CASE WHEN NOT i.retryable OR j.attempt >= j.max_attempts
                                   THEN j.scheduled_at ELSE now() + public.job_queue_backoff(j.attempt) END,
             dead_letter_at = CASE WHEN NOT i.retryable OR j.attempt >= j.max_attempts
                                   THEN now() ELSE NULL END,
             error          = i.error,
             error_history  = j.error_history || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                                'attempt', j.attempt, 'at', now(), 'worker_id', j.worker_id,
                                'retryable', i.retryable, 'error', i.error)),
             lease_token    = NULL,
             heartbeat_at   = NULL,
             updated_at     = now()
        FROM input AS i
       WHERE j.id = ANY (p_job_ids) AND j.id = i.id AND j.lease_token = i.lease
      RETURNING j.id, j.status, j.attempt, j.worker_id, j.correlation_id, j.patient_id, i.error, i.retryable
    )
    SELECT i.id, i.ord, f.status, f.attempt, f.worker_id, f.correlation_id, f.patient_id, f.error, f.retryable
      FROM input AS i LEFT JOIN failed AS f ON f.id = i.id
     ORDER BY i.ord
  LOOP
    IF r.status = 'dead_letter' THEN
      PERFORM public.log_audit_event(
        'job_queue', r.id::text, 'dead_letter',
        pg_catalog.jsonb_build_object('status', 'processing', 'attempt', r.attempt, 'worker_id', r.worker_id),
        pg_catalog.jsonb_build_object('status', 'dead_letter', 'error', r.error),
        CASE WHEN r.retryable THEN 'attempts spent' ELSE 'permanent error' END,
        r.id, r.correlation_id, r.patient_id);
    END IF;
    job_id := r.id;
    new_status := r.status;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION public.fail_jobs(uuid[], uuid[], jsonb[], boolean[]) IS
  'Records failed attempts (parallel arrays, at most 1000): back to pending with backoff, or dead_letter when not retryable or attempts are spent (audited). One row per job: its new status, NULL when fenced.';
COMMENT ON FUNCTION public.fail_job(uuid, uuid, jsonb, boolean) IS
  'Records a failed attempt (fail_jobs with one job): back to pending with exponential backoff and jitter, or dead_letter when not retryable or attempts are spent. Returns the new status, NULL when the lease was lost.';

-------------------------------------------------------------------------------------------------
-- The stale-job sweep, scoped: only jobs of the given types and lanes (NULL or empty array =
-- all), so a controller (or local mode) that scales one lane rescues that lane's jobs and
-- never another application's. The one-argument form is the unscoped sweep.
CREATE FUNCTION public.requeue_stale_jobs(p_heartbeat_timeout interval, p_job_types text[], p_lanes text[])
  RETURNS TABLE(job_id uuid, new_status text, worker_id text)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  r record;
  v_types text[] := CASE WHEN pg_catalog.cardinality(p_job_types) > 0 THEN p_job_types END;
  v_lanes text[] := CASE WHEN pg_catalog.cardinality(p_lanes) > 0 THEN p_lanes END;
BEGIN
  IF p_heartbeat_timeout IS NULL OR p_heartbeat_timeout < '1 second'::interval THEN
    RAISE EXCEPTION 'requeue_stale_jobs: p_heartbeat_timeout % must be at least 1 second',
      coalesce(p_heartbeat_timeout::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
  END IF;

  FOR r IN
    UPDATE public.job_queue AS j
       SET status         = CASE WHEN j.attempt >= j.max_attempts THEN 'dead_letter' ELSE 'pending' END,
           dead_letter_at = CASE WHEN j.attempt >= j.max_attempts THEN now() ELSE NULL END,
           scheduled_at   = CASE WHEN j.attempt >= j.max_attempts THEN j.scheduled_at ELSE now() END,
           error          = pg_catalog.jsonb_build_object(
                              'reason', 'heartbeat_timeout', 'worker_id', j.worker_id,
                              'last_heartbeat_at', j.heartbeat_at, 'timeout', p_heartbeat_timeout::text),
           error_history  = j.error_history || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                              'attempt', j.attempt, 'at', now(), 'worker_id', j.worker_id,
                              'retryable', true,
                              'error', pg_catalog.jsonb_build_object(
                                'reason', 'heartbeat_timeout', 'last_heartbeat_at', j.heartbeat_at))),
           lease_token    = NULL,
           heartbeat_at   = NULL,
           updated_at     = now()
     WHERE j.id = ANY (ARRAY(
             SELECT s.id
               FROM public.job_queue AS s
              WHERE s.status = 'processing'
                AND s.heartbeat_at < now() - p_heartbeat_timeout
                AND (v_types IS NULL OR s.job_type = ANY (v_types))
                AND (v_lanes IS NULL OR s.job_lane = ANY (v_lanes))
                FOR UPDATE SKIP LOCKED))
    RETURNING j.id, j.status, j.worker_id, j.attempt, j.max_attempts, j.correlation_id, j.patient_id, j.error
  LOOP
    PERFORM public.log_audit_event(
      'job_queue', r.id::text,
      CASE WHEN r.status = 'dead_letter' THEN 'dead_letter' ELSE 'requeue_stale' END,
      pg_catalog.jsonb_build_object('status', 'processing', 'worker_id', r.worker_id, 'attempt', r.attempt),
      pg_catalog.jsonb_build_object('status', r.status, 'error', r.error),
      'heartbeat older than ' || p_heartbeat_timeout::text, r.id, r.correlation_id, r.patient_id);
    job_id := r.id;
    new_status := r.status;
    worker_id := r.worker_id;
    RETURN NEXT;
  END LOOP;
END
$$;
COMMENT ON FUNCTION public.requeue_stale_jobs(interval, text[], text[]) IS
  'Requeues (or dead-letters when attempts are spent) processing jobs of the given types and lanes (NULL/empty = all) whose heartbeat is older than p_heartbeat_timeout; fences their holders; one audit row each.';

CREATE OR REPLACE FUNCTION public.requeue_stale_jobs(p_heartbeat_timeout interval)
  RETURNS TABLE(job_id uuid, new_status text, worker_id text)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN QUERY SELECT s.job_id, s.new_status, s.worker_id
                 FROM public.requeue_stale_jobs(p_heartbeat_timeout, NULL::text[], NULL::text[]) AS s;
END
$$;
COMMENT ON FUNCTION public.requeue_stale_jobs(interval) IS
  'requeue_stale_jobs(p_heartbeat_timeout, NULL, NULL): the sweep over every job type and lane.';

-------------------------------------------------------------------------------------------------
-- Grants: nobody by default (Supabase's default privileges gave the API roles EXECUTE), then
-- exactly the roles of the one-job equivalents (V005).
REVOKE ALL ON FUNCTION
  public.job_queue_check_batch(text, uuid[], uuid[], integer[]),
  public.complete_jobs(uuid[], uuid[], jsonb[], integer[]),
  public.heartbeat_jobs(uuid[], uuid[]),
  public.release_jobs(uuid[], uuid[], interval),
  public.fail_jobs(uuid[], uuid[], jsonb[], boolean[]),
  public.requeue_stale_jobs(interval, text[], text[])
FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

GRANT EXECUTE ON FUNCTION
  public.complete_jobs(uuid[], uuid[], jsonb[], integer[]),
  public.heartbeat_jobs(uuid[], uuid[]),
  public.release_jobs(uuid[], uuid[], interval),
  public.fail_jobs(uuid[], uuid[], jsonb[], boolean[]),
  public.requeue_stale_jobs(interval, text[], text[])
TO queue_worker, service_role;
GRANT EXECUTE ON FUNCTION public.requeue_stale_jobs(interval, text[], text[]) TO queue_controller;
