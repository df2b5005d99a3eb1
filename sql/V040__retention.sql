-- Retention: delete finished jobs older than a configured age, one bounded batch per call, so a
-- growing job_queue never slows claims down and the retention itself never blocks them.
--
-- Each call deletes at most p_batch rows in its own (the caller's) short transaction and
-- returns how many it deleted; callers repeat until it returns less than p_batch. Rows are
-- picked with FOR UPDATE SKIP LOCKED, so a row someone else holds is skipped, never waited
-- for. Only finished rows are touched (completed, cancelled and, when asked, dead_letter):
-- claims take pending rows only, so the two never contend for the same row.
--
-- Ages: completed rows by completed_at, cancelled rows by updated_at (the moment of
-- cancellation), dead-lettered rows by dead_letter_at and only when p_dead_letter_older_than
-- is given (dead letters usually wait for a human). Each call writes one audit_log row with
-- the counts (the per-job history stays in audit_log, which is append-only).

-- Cancelled rows are found by age without scanning the table.
CREATE INDEX job_queue_cancelled_idx
  ON public.job_queue (updated_at)
  WHERE status = 'cancelled';

CREATE FUNCTION public.purge_finished_jobs(
  p_older_than              interval,
  p_batch                   integer  DEFAULT 1000,
  p_dead_letter_older_than  interval DEFAULT NULL
) RETURNS integer
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
DECLARE
  v_completed integer := 0;
  v_cancelled integer := 0;
  v_dead      integer := 0;
BEGIN
  IF p_older_than IS NULL OR p_older_than < interval '0' THEN
    RAISE EXCEPTION 'purge_finished_jobs: p_older_than % must be a non-negative interval',
      coalesce(p_older_than::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_batch IS NULL OR p_batch NOT BETWEEN 1 AND 100000 THEN
    RAISE EXCEPTION 'purge_finished_jobs: p_batch % is out of range 1..100000', coalesce(p_batch::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_dead_letter_older_than < interval '0' THEN
    RAISE EXCEPTION 'purge_finished_jobs: p_dead_letter_older_than % must be a non-negative interval or NULL',
      p_dead_letter_older_than USING ERRCODE = 'invalid_parameter_value';
  END IF;

  WITH doomed AS (
    SELECT c.id FROM public.job_queue AS c
     WHERE c.status = 'completed' AND c.completed_at < now() - p_older_than
     ORDER BY c.completed_at
     LIMIT p_batch
     FOR UPDATE SKIP LOCKED)
  DELETE FROM public.job_queue AS j USING doomed WHERE j.id = doomed.id;
  GET DIAGNOSTICS v_completed = ROW_COUNT;

  IF v_completed < p_batch THEN
    WITH doomed AS (
      SELECT c.id FROM public.job_queue AS c
       WHERE c.status = 'cancelled' AND c.updated_at < now() - p_older_than
       ORDER BY c.updated_at
       LIMIT p_batch - v_completed
       FOR UPDATE SKIP LOCKED)
    DELETE FROM public.job_queue AS j USING doomed WHERE j.id = doomed.id;
    GET DIAGNOSTICS v_cancelled = ROW_COUNT;
  END IF;

  IF p_dead_letter_older_than IS NOT NULL AND v_completed + v_cancelled < p_batch THEN
    WITH doomed AS (
      SELECT c.id FROM public.job_queue AS c
       WHERE c.status = 'dead_letter' AND c.dead_letter_at < now() - p_dead_letter_older_than
       ORDER BY c.dead_letter_at
       LIMIT p_batch - v_completed - v_cancelled
       FOR UPDATE SKIP LOCKED)
    DELETE FROM public.job_queue AS j USING doomed WHERE j.id = doomed.id;
    GET DIAGNOSTICS v_dead = ROW_COUNT;
  END IF;

  IF v_completed + v_cancelled + v_dead > 0 THEN
    PERFORM public.log_audit_event(
      'job_queue', NULL, 'RETENTION_PURGE', NULL,
      pg_catalog.jsonb_build_object(
        'completed', v_completed, 'cancelled', v_cancelled, 'dead_letter', v_dead,
        'older_than', p_older_than::text,
        'dead_letter_older_than', p_dead_letter_older_than::text),
      'retention');
  END IF;
  RETURN v_completed + v_cancelled + v_dead;
END
$$;
COMMENT ON FUNCTION public.purge_finished_jobs(interval, integer, interval) IS
  'Deletes at most p_batch finished jobs (completed by completed_at, cancelled by updated_at older than p_older_than; dead_letter by dead_letter_at older than p_dead_letter_older_than when given) with FOR UPDATE SKIP LOCKED; returns the count. Call repeatedly until it returns less than p_batch.';

REVOKE ALL ON FUNCTION public.purge_finished_jobs(interval, integer, interval)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.purge_finished_jobs(interval, integer, interval)
  TO queue_controller, service_role;
