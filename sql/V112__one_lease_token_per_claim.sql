-- Issue 14 (PostgreSQL CPU per job): one lease token per claim statement instead of one per job.
--
-- claim_next_job gave every claimed row its own gen_random_uuid(): 16 bytes from PostgreSQL's
-- strong random source (OpenSSL's RAND_bytes) per job. In a callgrind profile of the batched path it
-- was ~14,100 of ~152,000 backend instructions per job (claim + completion), the largest single
-- item after the history row. Now the statement draws one token and every job it claims carries it.
--
-- Why this keeps every guarantee the per-job token gave:
-- * Fencing is per job: every lease-guarded statement matches `id = p_job_id AND lease_token =
--   p_lease_token` (or the per-job pairs of the batch functions), never the token alone. A job that
--   is requeued and claimed again gets the token of that later statement, a fresh 122-bit random
--   value, so its old holder is fenced exactly as before — also while the old token still belongs
--   to the job's claim-mates, which the old holder rightly keeps.
-- * Unguessability: the token is still gen_random_uuid(), drawn per call. The jobs sharing it were
--   all handed, with the token, to the one caller (one p_worker_id, one connection, one result set),
--   so knowing one job's token tells its holder nothing it was not already given. Another worker's
--   tokens stay as unknown as before; who may read tokens (service_role through job_queue, jobs,
--   job_history) is unchanged.
-- * A token is no identity: nothing keys on it alone. The worker keys its running and claimed-ahead
--   jobs by (job id, token) since this change; the finishing token in job_history is the claim's.
--
-- Signature, grants and plan settings are unchanged (CREATE OR REPLACE keeps V005's grants).

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
DECLARE
  -- One token for the statement, not one per row: see the header.
  v_lease uuid := pg_catalog.gen_random_uuid();
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
    RETURNING j.id, j.job_type, j.job_lane, j.payload, j.lease_token, j.attempt, j.max_attempts,
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
    RETURNING j.id, j.job_type, j.job_lane, j.payload, j.lease_token, j.attempt, j.max_attempts,
              j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated, j.created_at;
  END IF;
END
$$;
COMMENT ON FUNCTION public.claim_next_job(text, text[], text[], integer) IS
  'Claims up to p_batch ready jobs (priority 1 first, then oldest scheduled) in one statement with FOR UPDATE SKIP LOCKED; the jobs of one call share one new lease_token (fencing is per job id and token) and each spends an attempt. NULL filters mean all. Planned once per session (generic plan).';
