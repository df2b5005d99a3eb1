-- Issue 15 (scaling): queue_stats also reports what the queue knows of the ready jobs' size.
--
-- Jobs may carry tokens_estimated from their enqueuer (enqueue_job / enqueue_jobs
-- p_tokens_estimated), but until now nothing the controller may read returned it: queue_stats'
-- only token figure is the mean tokens_used of the jobs finished in the last 5 minutes, so on a
-- cold queue the scaler's budget cap fell back to its cold-start guess (25,000 tokens per job)
-- until a worker's first reservation was visible, a pod start-up after the first burst landed
-- (docs/benchmarks.md §7.1.5). Three aggregate columns over the ready jobs (pending and due), in
-- the same scan of job_queue as the counts:
--   ready_estimated            the ready jobs that carry a tokens_estimated;
--   ready_tokens_estimated     the sum of those estimates (NULL when none does);
--   max_ready_tokens_estimated the largest of them (NULL when none does).
-- Aggregates only, like every other column: queue_controller still sees no job, payload or id.
--
-- The return type changes, so DROP + CREATE (CREATE OR REPLACE cannot); the body is V081's with
-- the three columns added, the attributes (STABLE, SECURITY DEFINER, search_path pg_catalog,
-- pg_temp — V050) and V004's comment are set again, and so are V005's grants (a dropped function
-- loses them). Nothing else in the schema depends on queue_stats (no view or function calls it).

DROP FUNCTION public.queue_stats(text[], text[], interval);

CREATE FUNCTION public.queue_stats(p_job_types text[] DEFAULT NULL, p_lanes text[] DEFAULT NULL,
                                   p_heartbeat_timeout interval DEFAULT '60 seconds')
  RETURNS TABLE(ready bigint, scheduled bigint, processing bigint, stale bigint, dead_letter bigint,
                oldest_ready_age_seconds double precision, avg_duration_seconds double precision,
                avg_tokens_per_job double precision, completed_recently bigint,
                ready_estimated bigint, ready_tokens_estimated bigint, max_ready_tokens_estimated bigint)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  v_timeout interval := coalesce(p_heartbeat_timeout, '60 seconds'::interval);
BEGIN
  RETURN QUERY
  WITH live AS (
    SELECT count(*) FILTER (WHERE q.status = 'pending' AND q.scheduled_at <= now())             AS ready,
           count(*) FILTER (WHERE q.status = 'pending' AND q.scheduled_at > now())              AS scheduled,
           min(q.scheduled_at) FILTER (WHERE q.status = 'pending' AND q.scheduled_at <= now())  AS oldest_ready,
           count(*) FILTER (WHERE q.status = 'processing')                                       AS processing,
           count(*) FILTER (WHERE q.status = 'processing' AND q.heartbeat_at < now() - v_timeout) AS stale,
           count(*) FILTER (WHERE q.status = 'dead_letter')                                      AS dead_letter,
           count(*) FILTER (WHERE q.status = 'pending' AND q.scheduled_at <= now()
                              AND q.tokens_estimated IS NOT NULL)                                AS ready_estimated,
           sum(q.tokens_estimated) FILTER (WHERE q.status = 'pending' AND q.scheduled_at <= now())::bigint
                                                                                                 AS ready_tokens_estimated,
           max(q.tokens_estimated) FILTER (WHERE q.status = 'pending' AND q.scheduled_at <= now())::bigint
                                                                                                 AS max_ready_tokens_estimated
      FROM public.job_queue AS q
     WHERE (p_job_types IS NULL OR q.job_type = ANY (p_job_types))
       AND (p_lanes IS NULL OR q.job_lane = ANY (p_lanes))
  ), recent AS (
    SELECT count(*)                                                            AS completed_recently,
           avg(EXTRACT(EPOCH FROM (h.completed_at - h.started_at)))::double precision AS avg_duration,
           avg(h.tokens_used)::double precision                                AS avg_tokens
      FROM public.job_history AS h
     WHERE h.finished_at >= now() - '5 minutes'::interval
       AND h.status = 'completed'
       AND (p_job_types IS NULL OR h.job_type = ANY (p_job_types))
       AND (p_lanes IS NULL OR h.job_lane = ANY (p_lanes))
  )
  SELECT live.ready, live.scheduled, live.processing, live.stale, live.dead_letter,
         coalesce(EXTRACT(EPOCH FROM (now() - live.oldest_ready))::double precision, 0.0),
         recent.avg_duration, recent.avg_tokens, recent.completed_recently,
         live.ready_estimated, live.ready_tokens_estimated, live.max_ready_tokens_estimated
    FROM live, recent;
END
$$;

COMMENT ON FUNCTION public.queue_stats(text[], text[], interval) IS
  'Queue snapshot for scaling: ready, scheduled (pending, not yet due), processing, stale (heartbeat older than p_heartbeat_timeout), dead_letter, oldest ready age (0 when none); average duration and tokens per job and the count of jobs completed in the last 5 minutes (averages NULL when none); the ready jobs that carry a tokens_estimated, the sum and the largest of those estimates (NULL when none does).';

REVOKE ALL ON FUNCTION public.queue_stats(text[], text[], interval)
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.queue_stats(text[], text[], interval) TO queue_controller, service_role;
