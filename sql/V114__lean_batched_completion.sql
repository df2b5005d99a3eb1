-- Issue 14 (PostgreSQL CPU per job, batched path): less database work per job in complete_jobs and
-- complete_and_claim_jobs, every rule unchanged.
--
-- Measured with queue/harness/callgrind-cost.sh (backend instructions per job, 250 jobs per call;
-- docs/benchmarks.md "2026-12-02, 12:50–13:40 UTC"): complete_and_claim_jobs 129,500 -> 118,000
-- per job. Where it went, in V112's profile of the Worker's statement:
--
-- 1. complete_jobs checked p_tokens_used[i] and the size of p_results[i] in a PL/pgSQL loop, two
--    IF statements per job (~1,500 instructions per job). Now one array expression decides whether
--    any element can be bad (`0 > ANY (p_tokens_used)`; the results only when the whole array is
--    over 64 kB: no element of a smaller array can be); only then does the old loop run, so the
--    first bad element raises the very message it raised before.
-- 2. The completion statement materialised its input as a CTE (`input`, read twice) and computed
--    the fenced jobs with an anti join of it against the history insert's RETURNING; and the DELETE
--    returned the whole live row (j.*, 26 columns) through the `done` CTE, which copies every row
--    twice (tuplestore in, scan slot out). Now the DELETE joins the unnested arrays directly, returns
--    only the 22 values the history row takes from it (tokens and result already resolved), and the
--    statement aggregates the completed ids into an array; the fenced jobs (and the input check
--    below) are computed only when fewer jobs completed than were named (~6,700 per job with 3.).
-- 3. job_queue_check_batch's duplicate test (count(DISTINCT) over the sorted ids) ran on every call.
--    The cheap checks (NULL arrays, at most 1000, parallel lengths) still run first; the duplicate /
--    NULL id test runs only when fewer jobs completed than were named: a statement that completed n
--    distinct rows for n ids cannot have had a NULL or a repeated id. A bad call still raises the
--    same error (22023) and changes nothing — the exception undoes the statement.
-- 4. complete_and_claim_jobs called complete_jobs and claim_next_job, each a nested SECURITY DEFINER
--    call whose result set was copied once more into the caller's (~3,300 per job). It now runs the
--    two statements itself. The statements are the same text as in complete_jobs and claim_next_job
--    (CompletionStatementsTest compares them, so neither can change alone), the errors are the
--    same (`complete_jobs: …`, `claim_next_job: …`).
--
-- Guarantees kept (tests in BatchedLeaseTest, CompleteAndClaimTest, LeanCompletionTest,
-- UpgradeToLeanCompletionTest): per-job fencing by (id, lease_token); the history row is written by
-- the statement that deletes the live row, with every field of the live row, the result, the
-- tokens, the finishing lease; a fenced job changes nothing and is reported; bad arguments raise
-- and change nothing; one transaction per call. The tables, their constraints, indexes and triggers
-- are not touched. Signatures and grants are unchanged (CREATE OR REPLACE keeps them).

CREATE OR REPLACE FUNCTION public.complete_jobs(p_job_ids uuid[], p_lease_tokens uuid[],
                                                p_results jsonb[] DEFAULT NULL, p_tokens_used integer[] DEFAULT NULL)
  RETURNS TABLE(fenced_job_id uuid)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  v_i    integer;
  v_n    integer := coalesce(pg_catalog.cardinality(p_job_ids), 0);
  v_done uuid[];
BEGIN
  -- [completion rule: begin] (complete_and_claim_jobs has this very text; CompletionStatementsTest)
  IF p_job_ids IS NULL OR p_lease_tokens IS NULL OR v_n > 1000 OR pg_catalog.cardinality(p_lease_tokens) <> v_n
     OR pg_catalog.cardinality(p_results) <> v_n OR pg_catalog.cardinality(p_tokens_used) <> v_n THEN
    PERFORM public.job_queue_check_batch('complete_jobs', p_job_ids, p_lease_tokens,
      ARRAY[pg_catalog.cardinality(p_results), pg_catalog.cardinality(p_tokens_used)]);
  END IF;
  -- (a plain expression: an IF with a subquery would run as a query on every call)
  IF 0 > ANY (p_tokens_used) OR pg_catalog.pg_column_size(p_results) > 65536 THEN
    IF 0 > ANY (p_tokens_used)
       OR EXISTS (SELECT 1 FROM pg_catalog.unnest(p_results) AS r(v) WHERE pg_catalog.pg_column_size(r.v) > 65536) THEN
      FOR v_i IN 1 .. v_n LOOP
        IF p_tokens_used[v_i] < 0 THEN
          RAISE EXCEPTION 'complete_jobs: p_tokens_used[%] (job %) is negative: %', v_i, p_job_ids[v_i], p_tokens_used[v_i]
            USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF pg_catalog.pg_column_size(p_results[v_i]) > 65536 THEN
          RAISE EXCEPTION 'complete_jobs: p_results[%] (job %) is % bytes; at most 65536', v_i, p_job_ids[v_i],
            pg_catalog.pg_column_size(p_results[v_i]) USING ERRCODE = 'program_limit_exceeded';
        END IF;
      END LOOP;
    END IF;
  END IF;

  WITH done AS (
    DELETE FROM public.job_queue AS j
     USING ROWS FROM (pg_catalog.unnest(p_job_ids), pg_catalog.unnest(p_lease_tokens)) WITH ORDINALITY AS i(id, lease, ord)
     WHERE j.id = ANY (p_job_ids) AND j.id = i.id AND j.lease_token = i.lease
    RETURNING j.id, j.job_type, j.job_lane, j.payload, j.priority, j.scheduled_at, j.created_at, j.started_at,
              j.heartbeat_at, j.attempt, j.max_attempts, j.worker_id, j.lease_token, j.error, j.error_history,
              j.idempotency_key, j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated,
              coalesce(p_tokens_used[i.ord], j.tokens_used) AS tokens_used, p_results[i.ord] AS result
  ), filed AS (
    INSERT INTO public.job_history
      (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, started_at,
       completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id, lease_token, error,
       error_history, idempotency_key, patient_id, shell_file_id, correlation_id, tokens_estimated,
       tokens_used, result, finished_at)
    SELECT d.id, d.job_type, d.job_lane, d.payload, 'completed', d.priority, d.scheduled_at, d.created_at,
           now(), d.started_at, now(), d.heartbeat_at, NULL, d.attempt, d.max_attempts, d.worker_id,
           d.lease_token, d.error, d.error_history, d.idempotency_key, d.patient_id, d.shell_file_id,
           d.correlation_id, d.tokens_estimated, d.tokens_used, d.result, now()
      FROM done AS d
    RETURNING id
  )
  SELECT pg_catalog.array_agg(f.id) INTO v_done FROM filed AS f;
  IF coalesce(pg_catalog.cardinality(v_done), 0) < v_n THEN
    -- Fewer completed than named: some were fenced, or an id is NULL or named twice (then this
    -- raises, and the exception undoes the statement above).
    PERFORM public.job_queue_check_batch('complete_jobs', p_job_ids, p_lease_tokens,
      ARRAY[pg_catalog.cardinality(p_results), pg_catalog.cardinality(p_tokens_used)]);
    -- [completion rule: end]
    RETURN QUERY
    SELECT t.id
      FROM pg_catalog.unnest(p_job_ids) AS t(id)
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(v_done) AS c(id) WHERE c.id = t.id);
  END IF;
END
$$;
COMMENT ON FUNCTION public.complete_jobs(uuid[], uuid[], jsonb[], integer[]) IS
  'Completes every job whose lease is held (parallel arrays, at most 1000), in one statement; returns the ids of the fenced jobs (lease lost, nothing changed for them).';

-- complete_jobs then claim_next_job, their statements inline (see 4. above).
CREATE OR REPLACE FUNCTION public.complete_and_claim_jobs(
  p_job_ids      uuid[],
  p_lease_tokens uuid[],
  p_results      jsonb[],
  p_tokens_used  integer[],
  p_worker_id    text,
  p_job_types    text[]  DEFAULT NULL,
  p_lanes        text[]  DEFAULT NULL,
  p_batch        integer DEFAULT 1
) RETURNS TABLE(fenced_job_id uuid, id uuid, job_type text, job_lane text, payload jsonb, lease_token uuid,
                attempt integer, max_attempts integer, patient_id uuid, shell_file_id uuid,
                correlation_id uuid, tokens_estimated integer, created_at timestamptz)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
  v_i     integer;
  v_n     integer := coalesce(pg_catalog.cardinality(p_job_ids), 0);
  v_done  uuid[];
  v_lease uuid;
BEGIN
  IF p_batch IS NULL OR p_batch NOT BETWEEN 0 AND 1000 THEN
    RAISE EXCEPTION 'complete_and_claim_jobs: p_batch % is out of range 0..1000', coalesce(p_batch::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  IF pg_catalog.cardinality(p_job_ids) > 0 OR pg_catalog.cardinality(p_lease_tokens) > 0 THEN
    -- [completion rule: begin] (complete_jobs has this very text; CompletionStatementsTest)
    IF p_job_ids IS NULL OR p_lease_tokens IS NULL OR v_n > 1000 OR pg_catalog.cardinality(p_lease_tokens) <> v_n
       OR pg_catalog.cardinality(p_results) <> v_n OR pg_catalog.cardinality(p_tokens_used) <> v_n THEN
      PERFORM public.job_queue_check_batch('complete_jobs', p_job_ids, p_lease_tokens,
        ARRAY[pg_catalog.cardinality(p_results), pg_catalog.cardinality(p_tokens_used)]);
    END IF;
    -- (a plain expression: an IF with a subquery would run as a query on every call)
    IF 0 > ANY (p_tokens_used) OR pg_catalog.pg_column_size(p_results) > 65536 THEN
      IF 0 > ANY (p_tokens_used)
         OR EXISTS (SELECT 1 FROM pg_catalog.unnest(p_results) AS r(v) WHERE pg_catalog.pg_column_size(r.v) > 65536) THEN
        FOR v_i IN 1 .. v_n LOOP
          IF p_tokens_used[v_i] < 0 THEN
            RAISE EXCEPTION 'complete_jobs: p_tokens_used[%] (job %) is negative: %', v_i, p_job_ids[v_i], p_tokens_used[v_i]
              USING ERRCODE = 'invalid_parameter_value';
          END IF;
          IF pg_catalog.pg_column_size(p_results[v_i]) > 65536 THEN
            RAISE EXCEPTION 'complete_jobs: p_results[%] (job %) is % bytes; at most 65536', v_i, p_job_ids[v_i],
              pg_catalog.pg_column_size(p_results[v_i]) USING ERRCODE = 'program_limit_exceeded';
          END IF;
        END LOOP;
      END IF;
    END IF;

    WITH done AS (
      DELETE FROM public.job_queue AS j
       USING ROWS FROM (pg_catalog.unnest(p_job_ids), pg_catalog.unnest(p_lease_tokens)) WITH ORDINALITY AS i(id, lease, ord)
       WHERE j.id = ANY (p_job_ids) AND j.id = i.id AND j.lease_token = i.lease
      RETURNING j.id, j.job_type, j.job_lane, j.payload, j.priority, j.scheduled_at, j.created_at, j.started_at,
                j.heartbeat_at, j.attempt, j.max_attempts, j.worker_id, j.lease_token, j.error, j.error_history,
                j.idempotency_key, j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated,
                coalesce(p_tokens_used[i.ord], j.tokens_used) AS tokens_used, p_results[i.ord] AS result
    ), filed AS (
      INSERT INTO public.job_history
        (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, started_at,
         completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id, lease_token, error,
         error_history, idempotency_key, patient_id, shell_file_id, correlation_id, tokens_estimated,
         tokens_used, result, finished_at)
      SELECT d.id, d.job_type, d.job_lane, d.payload, 'completed', d.priority, d.scheduled_at, d.created_at,
             now(), d.started_at, now(), d.heartbeat_at, NULL, d.attempt, d.max_attempts, d.worker_id,
             d.lease_token, d.error, d.error_history, d.idempotency_key, d.patient_id, d.shell_file_id,
             d.correlation_id, d.tokens_estimated, d.tokens_used, d.result, now()
        FROM done AS d
      RETURNING id
    )
    SELECT pg_catalog.array_agg(f.id) INTO v_done FROM filed AS f;
    IF coalesce(pg_catalog.cardinality(v_done), 0) < v_n THEN
      -- Fewer completed than named: some were fenced, or an id is NULL or named twice (then this
      -- raises, and the exception undoes the statement above).
      PERFORM public.job_queue_check_batch('complete_jobs', p_job_ids, p_lease_tokens,
        ARRAY[pg_catalog.cardinality(p_results), pg_catalog.cardinality(p_tokens_used)]);
      -- [completion rule: end]
      RETURN QUERY
      SELECT t.id, NULL::uuid, NULL::text, NULL::text, NULL::jsonb, NULL::uuid, NULL::integer,
             NULL::integer, NULL::uuid, NULL::uuid, NULL::uuid, NULL::integer, NULL::timestamptz
        FROM pg_catalog.unnest(p_job_ids) AS t(id)
       WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(v_done) AS c(id) WHERE c.id = t.id);
    END IF;
  END IF;

  IF p_batch > 0 THEN
    IF p_worker_id IS NULL OR pg_catalog.length(p_worker_id) NOT BETWEEN 1 AND 200 THEN
      RAISE EXCEPTION 'claim_next_job: p_worker_id is required (1 to 200 characters)'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One token for the statement, not one per row (V112).
    v_lease := pg_catalog.gen_random_uuid();
    -- [claim rule: begin] (claim_next_job has this very text; CompletionStatementsTest)
    IF p_lanes IS NULL THEN
      RETURN QUERY
      UPDATE public.job_queue AS j
         SET status       = 'processing',
             lease_token  = v_lease,
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
      RETURNING NULL::uuid, j.id, j.job_type, j.job_lane, j.payload, j.lease_token, j.attempt, j.max_attempts,
                j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated, j.created_at;
    ELSE
      RETURN QUERY
      UPDATE public.job_queue AS j
         SET status       = 'processing',
             lease_token  = v_lease,
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
      RETURNING NULL::uuid, j.id, j.job_type, j.job_lane, j.payload, j.lease_token, j.attempt, j.max_attempts,
                j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated, j.created_at;
    END IF;
    -- [claim rule: end]
  END IF;
END
$$;
COMMENT ON FUNCTION public.complete_and_claim_jobs(uuid[], uuid[], jsonb[], integer[], text, text[], text[], integer) IS
  'complete_jobs(p_job_ids, p_lease_tokens, p_results, p_tokens_used) then claim_next_job(p_worker_id, p_job_types, p_lanes, p_batch) in one call, their statements inline: rows with fenced_job_id are fenced completions, the others claimed jobs. p_batch 0 = complete only.';
