-- Issue 14 (batched completion and claim): complete these leases and claim the next jobs in one
-- round trip and one transaction.
--
-- A worker that finishes jobs and has room for more made two calls, complete_jobs then
-- claim_next_job: two round trips and two commits (two WAL flushes). complete_and_claim_jobs is
-- both, in that order, in one call: the completions are lease-guarded per job exactly as in
-- complete_jobs (a fenced job changes nothing and is reported), then up to p_batch ready jobs are
-- claimed exactly as by claim_next_job (FOR UPDATE SKIP LOCKED, a new lease each, an attempt
-- spent). It calls those two functions, so there is one definition of each rule. The jobs just
-- completed are not live any more, so they cannot be claimed again.
--
-- Rows: a fenced completion is a row with fenced_job_id set and every other column NULL; a
-- claimed job is a row with fenced_job_id NULL and the claim_next_job columns. p_batch 0 claims
-- nothing (complete only); empty arrays complete nothing (claim only).

CREATE FUNCTION public.complete_and_claim_jobs(
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
AS $$
#variable_conflict use_column
BEGIN
  IF p_batch IS NULL OR p_batch NOT BETWEEN 0 AND 1000 THEN
    RAISE EXCEPTION 'complete_and_claim_jobs: p_batch % is out of range 0..1000', coalesce(p_batch::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.cardinality(p_job_ids) > 0 OR pg_catalog.cardinality(p_lease_tokens) > 0 THEN
    RETURN QUERY
    SELECT f.fenced_job_id, NULL::uuid, NULL::text, NULL::text, NULL::jsonb, NULL::uuid, NULL::integer,
           NULL::integer, NULL::uuid, NULL::uuid, NULL::uuid, NULL::integer, NULL::timestamptz
      FROM public.complete_jobs(p_job_ids, p_lease_tokens, p_results, p_tokens_used) AS f;
  END IF;
  IF p_batch > 0 THEN
    RETURN QUERY
    SELECT NULL::uuid, c.id, c.job_type, c.job_lane, c.payload, c.lease_token, c.attempt, c.max_attempts,
           c.patient_id, c.shell_file_id, c.correlation_id, c.tokens_estimated, c.created_at
      FROM public.claim_next_job(p_worker_id, p_job_types, p_lanes, p_batch) AS c;
  END IF;
END
$$;
COMMENT ON FUNCTION public.complete_and_claim_jobs(uuid[], uuid[], jsonb[], integer[], text, text[], text[], integer) IS
  'complete_jobs(p_job_ids, p_lease_tokens, p_results, p_tokens_used) then claim_next_job(p_worker_id, p_job_types, p_lanes, p_batch) in one call: rows with fenced_job_id are fenced completions, the others claimed jobs. p_batch 0 = complete only.';

REVOKE ALL ON FUNCTION public.complete_and_claim_jobs(uuid[], uuid[], jsonb[], integer[], text, text[], text[], integer)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.complete_and_claim_jobs(uuid[], uuid[], jsonb[], integer[], text, text[], text[], integer)
  TO queue_worker, service_role;
