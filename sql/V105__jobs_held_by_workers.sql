-- Jobs each worker holds now, for the controller's pod-deletion cost (issue 15, point 2).
-- The controller marks every worker pod with controller.kubernetes.io/pod-deletion-cost = the
-- number of jobs it holds (worker_id is the pod name), so that on scale-down the ReplicaSet
-- controller deletes idle pods first and busy ones finish. queue_controller has no table
-- privileges (V005), so it reads the counts through this definer function: it returns worker
-- names and counts only, never a job's payload, ids or patient references.
--
-- A job counts as held while it is processing under that worker with a heartbeat younger than
-- p_heartbeat_timeout; a job with an older heartbeat is stale (requeue_stale_jobs takes it back),
-- so its pod is not protected by it. Every asked-for name is answered, 0 when it holds nothing.
CREATE FUNCTION public.jobs_held_by_workers(p_worker_ids text[],
                                            p_heartbeat_timeout interval DEFAULT '60 seconds')
  RETURNS TABLE(worker_id text, jobs bigint)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  IF p_worker_ids IS NULL THEN
    RAISE EXCEPTION 'jobs_held_by_workers: p_worker_ids must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- One Deployment's pods; a bound keeps a careless caller from sending a huge array.
  IF pg_catalog.cardinality(p_worker_ids) > 5000 THEN
    RAISE EXCEPTION 'jobs_held_by_workers: at most 5000 worker ids per call, got %',
      pg_catalog.cardinality(p_worker_ids) USING ERRCODE = '22023';
  END IF;
  IF p_heartbeat_timeout IS NULL OR p_heartbeat_timeout <= '0 seconds'::pg_catalog.interval THEN
    RAISE EXCEPTION 'jobs_held_by_workers: p_heartbeat_timeout must be positive, got %', p_heartbeat_timeout
      USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
  SELECT w.id, pg_catalog.count(q.id)
    FROM (SELECT DISTINCT u.id FROM pg_catalog.unnest(p_worker_ids) AS u(id) WHERE u.id IS NOT NULL) AS w
    LEFT JOIN public.job_queue AS q
      ON q.worker_id = w.id
     AND q.status = 'processing'
     AND q.heartbeat_at >= pg_catalog.now() - p_heartbeat_timeout
   GROUP BY w.id
   ORDER BY w.id;
END
$$;
COMMENT ON FUNCTION public.jobs_held_by_workers(text[], interval) IS
  'Per asked-for worker id: the number of processing jobs it holds with a heartbeat younger than p_heartbeat_timeout (0 when none). Names and counts only; used for the controller''s pod-deletion cost.';

REVOKE ALL ON FUNCTION public.jobs_held_by_workers(text[], interval)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.jobs_held_by_workers(text[], interval)
  TO queue_controller, service_role;
