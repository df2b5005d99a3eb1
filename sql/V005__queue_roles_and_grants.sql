-- Group roles for the two processes (deployments log in as LOGIN members of these) and the
-- EXECUTE grants of the queue contract. Neither group role has table privileges or bypasses RLS:
-- they act only through the functions.
DO $$
DECLARE
  v_role text;
BEGIN
  FOREACH v_role IN ARRAY ARRAY['queue_worker', 'queue_controller'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
      BEGIN
        EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', v_role);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a concurrent migration of another database
      END;
    END IF;
  END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO queue_worker, queue_controller;
REVOKE ALL ON TABLE public.job_queue, public.audit_log FROM queue_worker, queue_controller;

-- Nobody executes anything by default (Supabase also grants EXECUTE on new functions in public
-- to anon/authenticated/service_role through default privileges: revoke those too).
REVOKE ALL ON FUNCTION
  public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer),
  public.claim_next_job(text, text[], text[], integer),
  public.heartbeat_job(uuid, uuid),
  public.complete_job(uuid, uuid, jsonb, integer),
  public.fail_job(uuid, uuid, jsonb, boolean),
  public.release_job(uuid, uuid, interval),
  public.update_job_status(uuid, text, jsonb, timestamptz),
  public.retry_job(uuid, timestamptz),
  public.dead_letter_job(uuid, jsonb),
  public.cancel_job(uuid),
  public.requeue_stale_jobs(interval),
  public.queue_stats(text[], text[], interval),
  public.log_audit_event(text, text, text, jsonb, jsonb, text, uuid, uuid, uuid),
  public.job_queue_bounded_error(jsonb),
  public.job_queue_backoff(integer),
  public.audit_log_reject_change()
FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-- worker: the claim / heartbeat / write-back loop, enqueueing follow-up work, and requeueing
-- stale jobs (so a deployment without the controller still recovers).
GRANT EXECUTE ON FUNCTION
  public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer),
  public.claim_next_job(text, text[], text[], integer),
  public.heartbeat_job(uuid, uuid),
  public.complete_job(uuid, uuid, jsonb, integer),
  public.fail_job(uuid, uuid, jsonb, boolean),
  public.release_job(uuid, uuid, interval),
  public.requeue_stale_jobs(interval)
TO queue_worker;

-- controller: observe and requeue, nothing else.
GRANT EXECUTE ON FUNCTION
  public.queue_stats(text[], text[], interval),
  public.requeue_stale_jobs(interval)
TO queue_controller;

-- service_role (Supabase backend / operators): the whole contract.
GRANT EXECUTE ON FUNCTION
  public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer),
  public.claim_next_job(text, text[], text[], integer),
  public.heartbeat_job(uuid, uuid),
  public.complete_job(uuid, uuid, jsonb, integer),
  public.fail_job(uuid, uuid, jsonb, boolean),
  public.release_job(uuid, uuid, interval),
  public.update_job_status(uuid, text, jsonb, timestamptz),
  public.retry_job(uuid, timestamptz),
  public.dead_letter_job(uuid, jsonb),
  public.cancel_job(uuid),
  public.requeue_stale_jobs(interval),
  public.queue_stats(text[], text[], interval),
  public.log_audit_event(text, text, text, jsonb, jsonb, text, uuid, uuid, uuid)
TO service_role;
