-- The job-queue contract. Every function is SECURITY DEFINER with an empty search_path and
-- schema-qualified bodies (pg_catalog is always searched, so now(), gen_random_uuid() and
-- friends resolve safely); EXECUTE is granted per role in V005.
--
-- Transitions (who: W = worker functions, O = operator functions, S = requeue_stale_jobs):
--   pending     -> processing   W claim_next_job (attempt + 1, new lease_token)
--   processing  -> completed    W complete_job (lease-guarded)
--   processing  -> pending      W fail_job (retryable, attempts left; backoff) / W release_job
--                               (attempt given back) / S stale heartbeat / O update_job_status
--   processing  -> dead_letter  W fail_job (not retryable or attempts spent) / S (attempts spent) / O
--   processing  -> cancelled    O
--   pending     -> pending      O (reschedule)         pending -> cancelled | dead_letter   O
--   dead_letter -> pending      O (retry)              dead_letter -> cancelled            O
--   cancelled   -> pending      O (re-open)            completed: terminal
-- Leaving `processing` always clears lease_token, which fences the previous holder.

-- Errors are stored as given when small; larger ones are replaced by a bounded summary so a
-- huge stack trace can neither fail the write nor bloat the row.
CREATE FUNCTION public.job_queue_bounded_error(p_error jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE
  SET search_path = ''
AS $$
  SELECT CASE
    WHEN p_error IS NULL THEN NULL
    WHEN pg_catalog.pg_column_size(p_error) <= 4096 THEN p_error
    ELSE pg_catalog.jsonb_build_object(
           'truncated', true,
           'original_size_bytes', pg_catalog.pg_column_size(p_error),
           'excerpt', pg_catalog.left(p_error::text, 2000))
  END
$$;
REVOKE ALL ON FUNCTION public.job_queue_bounded_error(jsonb) FROM PUBLIC;

-- Backoff after the failure of attempt n (n >= 1):
--   delay = least(900 s, 5 s * 2^n) * (1 + 0.25 * random())
-- i.e. 10 s, 20 s, 40 s, ... capped at 15 min, plus up to 25 % jitter so that jobs which failed
-- together do not return together.
CREATE FUNCTION public.job_queue_backoff(p_attempt integer) RETURNS interval
  LANGUAGE sql VOLATILE
  SET search_path = ''
AS $$
  SELECT pg_catalog.make_interval(
    secs => LEAST(900.0, 5.0 * pg_catalog.power(2.0, GREATEST(p_attempt, 0)::double precision))
            * (1.0 + 0.25 * pg_catalog.random()))
$$;
REVOKE ALL ON FUNCTION public.job_queue_backoff(integer) FROM PUBLIC;

-------------------------------------------------------------------------------------------------
CREATE FUNCTION public.enqueue_job(
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
  p_tokens_estimated integer     DEFAULT NULL
) RETURNS uuid
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
DECLARE
  v_id           uuid;
  v_lane         text        := coalesce(p_job_lane, 'default');
  v_priority     integer     := coalesce(p_priority, 5);
  v_scheduled_at timestamptz := coalesce(p_scheduled_at, now());
  v_max_attempts integer     := coalesce(p_max_attempts, 5);
  v_payload      jsonb       := coalesce(p_payload, '{}'::jsonb);
BEGIN
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

  INSERT INTO public.job_queue AS j
    (job_type, job_lane, payload, priority, scheduled_at, max_attempts, idempotency_key,
     patient_id, shell_file_id, correlation_id, tokens_estimated)
  VALUES
    (p_job_type, v_lane, v_payload, v_priority, v_scheduled_at, v_max_attempts, p_idempotency_key,
     p_patient_id, p_shell_file_id, coalesce(p_correlation_id, gen_random_uuid()), p_tokens_estimated)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING j.id INTO v_id;

  IF v_id IS NULL THEN
    -- Already enqueued (possibly by a concurrent call that has just committed): the existing job.
    SELECT j.id INTO v_id FROM public.job_queue j WHERE j.idempotency_key = p_idempotency_key;
    IF v_id IS NULL THEN
      RAISE EXCEPTION 'enqueue_job: idempotency key % conflicted but no job holds it', p_idempotency_key
        USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN v_id;
  END IF;

  -- Wake listeners only for work that is ready now (delivered at commit).
  IF v_scheduled_at <= now() THEN
    PERFORM pg_catalog.pg_notify('queuepilot_jobs', p_job_type);
  END IF;
  RETURN v_id;
END
$$;
COMMENT ON FUNCTION public.enqueue_job(text, jsonb, text, text, integer, timestamptz, integer, uuid, uuid, uuid, integer) IS
  'Adds a job (idempotent on p_idempotency_key: a repeated call returns the existing job id unchanged). NULL optional arguments take the defaults. NOTIFY queuepilot_jobs (payload job_type) when ready now.';

-------------------------------------------------------------------------------------------------
CREATE FUNCTION public.claim_next_job(
  p_worker_id text,
  p_job_types text[]  DEFAULT NULL,
  p_lanes     text[]  DEFAULT NULL,
  p_batch     integer DEFAULT 1
) RETURNS TABLE(id uuid, job_type text, job_lane text, payload jsonb, lease_token uuid,
                attempt integer, max_attempts integer, patient_id uuid, shell_file_id uuid,
                correlation_id uuid, tokens_estimated integer, created_at timestamptz)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
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
  RETURN QUERY
  UPDATE public.job_queue AS j
     SET status       = 'processing',
         lease_token  = gen_random_uuid(),
         attempt      = j.attempt + 1,
         worker_id    = p_worker_id,
         started_at   = now(),
         heartbeat_at = now(),
         updated_at   = now()
    FROM (SELECT c.id
            FROM public.job_queue AS c
           WHERE c.status = 'pending'
             AND c.scheduled_at <= now()
             AND (p_job_types IS NULL OR c.job_type = ANY (p_job_types))
             AND (p_lanes IS NULL OR c.job_lane = ANY (p_lanes))
           ORDER BY c.priority, c.scheduled_at, c.created_at
           LIMIT p_batch
           FOR UPDATE SKIP LOCKED) AS picked
   WHERE j.id = picked.id
  RETURNING j.id, j.job_type, j.job_lane, j.payload, j.lease_token, j.attempt, j.max_attempts,
            j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated, j.created_at;
END
$$;
COMMENT ON FUNCTION public.claim_next_job(text, text[], text[], integer) IS
  'Claims up to p_batch ready jobs (priority 1 first, then oldest scheduled) in one statement with FOR UPDATE SKIP LOCKED; each gets a new lease_token and spends an attempt. NULL filters mean all.';

-------------------------------------------------------------------------------------------------
CREATE FUNCTION public.heartbeat_job(p_job_id uuid, p_lease_token uuid) RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
BEGIN
  UPDATE public.job_queue AS j
     SET heartbeat_at = now(), updated_at = now()
   WHERE j.id = p_job_id AND j.lease_token = p_lease_token AND j.status = 'processing';
  RETURN FOUND;
END
$$;
COMMENT ON FUNCTION public.heartbeat_job(uuid, uuid) IS
  'Renews the lease; false when the lease was lost (the worker must stop and must not write back).';

-------------------------------------------------------------------------------------------------
CREATE FUNCTION public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb DEFAULT NULL,
                                    p_tokens_used integer DEFAULT NULL) RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
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
   WHERE j.id = p_job_id AND j.lease_token = p_lease_token AND j.status = 'processing';
  RETURN FOUND;
END
$$;
COMMENT ON FUNCTION public.complete_job(uuid, uuid, jsonb, integer) IS
  'Marks the job completed; false (and nothing changed) when the lease was lost.';

-------------------------------------------------------------------------------------------------
CREATE FUNCTION public.fail_job(p_job_id uuid, p_lease_token uuid, p_error jsonb,
                                p_retryable boolean DEFAULT true) RETURNS text
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
DECLARE
  v_error  jsonb := public.job_queue_bounded_error(coalesce(p_error, '{"message": "no error given"}'::jsonb));
  v_status text;
  v_row    public.job_queue%ROWTYPE;
BEGIN
  -- One statement: attempt history, error, backoff and the new status move together.
  UPDATE public.job_queue AS j
     SET status         = CASE WHEN NOT coalesce(p_retryable, true) OR j.attempt >= j.max_attempts
                               THEN 'dead_letter' ELSE 'pending' END,
         scheduled_at   = CASE WHEN NOT coalesce(p_retryable, true) OR j.attempt >= j.max_attempts
                               THEN j.scheduled_at ELSE now() + public.job_queue_backoff(j.attempt) END,
         dead_letter_at = CASE WHEN NOT coalesce(p_retryable, true) OR j.attempt >= j.max_attempts
                               THEN now() ELSE NULL END,
         error          = v_error,
         error_history  = j.error_history || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                            'attempt', j.attempt, 'at', now(), 'worker_id', j.worker_id,
                            'retryable', coalesce(p_retryable, true), 'error', v_error)),
         lease_token    = NULL,
         heartbeat_at   = NULL,
         updated_at     = now()
   WHERE j.id = p_job_id AND j.lease_token = p_lease_token AND j.status = 'processing'
  RETURNING j.* INTO v_row;

  IF NOT FOUND THEN
    RETURN NULL;  -- lease lost: nothing changed
  END IF;
  v_status := v_row.status;
  IF v_status = 'dead_letter' THEN
    PERFORM public.log_audit_event(
      'job_queue', v_row.id::text, 'dead_letter',
      pg_catalog.jsonb_build_object('status', 'processing', 'attempt', v_row.attempt, 'worker_id', v_row.worker_id),
      pg_catalog.jsonb_build_object('status', 'dead_letter', 'error', v_error),
      CASE WHEN coalesce(p_retryable, true) THEN 'attempts spent' ELSE 'permanent error' END,
      v_row.id, v_row.correlation_id, v_row.patient_id);
  END IF;
  RETURN v_status;
END
$$;
COMMENT ON FUNCTION public.fail_job(uuid, uuid, jsonb, boolean) IS
  'Records a failed attempt: back to pending with exponential backoff and jitter, or dead_letter when not retryable or attempts are spent. Returns the new status, NULL when the lease was lost.';

-------------------------------------------------------------------------------------------------
CREATE FUNCTION public.release_job(p_job_id uuid, p_lease_token uuid,
                                   p_delay interval DEFAULT '0 seconds') RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
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
   WHERE j.id = p_job_id AND j.lease_token = p_lease_token AND j.status = 'processing';
  RETURN FOUND;
END
$$;
COMMENT ON FUNCTION public.release_job(uuid, uuid, interval) IS
  'Returns a claimed job to pending after p_delay without spending an attempt (backpressure, shutdown); false when the lease was lost.';

-------------------------------------------------------------------------------------------------
-- The one validated transition for operators and tools. Returns the new status.
CREATE FUNCTION public.update_job_status(p_job_id uuid, p_status text, p_error jsonb DEFAULT NULL,
                                         p_next_retry_at timestamptz DEFAULT NULL) RETURNS text
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
DECLARE
  v_old   public.job_queue%ROWTYPE;
  v_new   public.job_queue%ROWTYPE;
  v_error jsonb := public.job_queue_bounded_error(p_error);
  v_allowed boolean;
BEGIN
  IF p_status IS NULL OR p_status NOT IN ('pending', 'processing', 'completed', 'dead_letter', 'cancelled') THEN
    RAISE EXCEPTION 'update_job_status: unknown status %', coalesce(pg_catalog.quote_literal(p_status), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  SELECT * INTO v_old FROM public.job_queue AS j WHERE j.id = p_job_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'update_job_status: job % not found', p_job_id USING ERRCODE = 'no_data_found';
  END IF;

  v_allowed := CASE v_old.status
    WHEN 'pending'     THEN p_status IN ('pending', 'dead_letter', 'cancelled')
    WHEN 'processing'  THEN p_status IN ('pending', 'dead_letter', 'cancelled')
    WHEN 'dead_letter' THEN p_status IN ('pending', 'cancelled')
    WHEN 'cancelled'   THEN p_status IN ('pending')
    ELSE false  -- completed is terminal; processing and completed are reached only under a lease
  END;
  IF NOT v_allowed THEN
    RAISE EXCEPTION 'illegal job status transition for job %: % -> %', p_job_id, v_old.status, p_status
      USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'allowed: pending -> pending|dead_letter|cancelled, processing -> pending|dead_letter|cancelled, dead_letter -> pending|cancelled, cancelled -> pending; completed is terminal';
  END IF;

  UPDATE public.job_queue AS j
     SET status         = p_status,
         scheduled_at   = CASE WHEN p_status = 'pending' THEN coalesce(p_next_retry_at, now()) ELSE j.scheduled_at END,
         -- a retried job always gets at least one more attempt
         max_attempts   = CASE WHEN p_status = 'pending' THEN GREATEST(j.max_attempts, LEAST(j.attempt + 1, 100))
                               ELSE j.max_attempts END,
         dead_letter_at = CASE WHEN p_status = 'dead_letter' THEN now() ELSE NULL END,
         error          = coalesce(v_error, j.error),
         error_history  = CASE WHEN v_error IS NULL THEN j.error_history
                               ELSE j.error_history || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                                      'attempt', j.attempt, 'at', now(), 'source', 'operator', 'error', v_error)) END,
         lease_token    = NULL,  -- fences a processing holder
         heartbeat_at   = NULL,
         updated_at     = now()
   WHERE j.id = p_job_id
  RETURNING j.* INTO v_new;

  PERFORM public.log_audit_event(
    'job_queue', p_job_id::text, 'status:' || v_old.status || '->' || p_status,
    pg_catalog.jsonb_build_object('status', v_old.status, 'scheduled_at', v_old.scheduled_at,
                                  'attempt', v_old.attempt, 'max_attempts', v_old.max_attempts,
                                  'worker_id', v_old.worker_id),
    pg_catalog.jsonb_build_object('status', v_new.status, 'scheduled_at', v_new.scheduled_at,
                                  'max_attempts', v_new.max_attempts, 'error', v_error),
    'operator transition', p_job_id, v_old.correlation_id, v_old.patient_id);
  RETURN v_new.status;
END
$$;
COMMENT ON FUNCTION public.update_job_status(uuid, text, jsonb, timestamptz) IS
  'Operator transition, validated (illegal ones raise SQLSTATE 55000 naming from and to) and audited. pending: scheduled at p_next_retry_at (default now) with at least one attempt left. Returns the new status.';

CREATE FUNCTION public.retry_job(p_job_id uuid, p_next_time timestamptz DEFAULT now()) RETURNS void
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
BEGIN
  PERFORM public.update_job_status(p_job_id, 'pending', NULL, coalesce(p_next_time, now()));
END
$$;
COMMENT ON FUNCTION public.retry_job(uuid, timestamptz) IS 'update_job_status(id, ''pending'', NULL, p_next_time).';

CREATE FUNCTION public.dead_letter_job(p_job_id uuid, p_error jsonb) RETURNS void
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
BEGIN
  PERFORM public.update_job_status(p_job_id, 'dead_letter',
                                   coalesce(p_error, '{"message": "dead-lettered by operator"}'::jsonb), NULL);
END
$$;
COMMENT ON FUNCTION public.dead_letter_job(uuid, jsonb) IS 'update_job_status(id, ''dead_letter'', p_error).';

CREATE FUNCTION public.cancel_job(p_job_id uuid) RETURNS void
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
BEGIN
  PERFORM public.update_job_status(p_job_id, 'cancelled', NULL, NULL);
END
$$;
COMMENT ON FUNCTION public.cancel_job(uuid) IS 'update_job_status(id, ''cancelled'').';

-------------------------------------------------------------------------------------------------
-- A worker whose heartbeat is older than p_heartbeat_timeout is presumed dead (this is not the
-- job's maximum runtime, which the worker enforces on itself while heartbeating). Its jobs go
-- back to pending (the crash spent the attempt) or to dead_letter when attempts are spent; the
-- lease is cleared so the old holder's writes are refused. One audit row per job.
CREATE FUNCTION public.requeue_stale_jobs(p_heartbeat_timeout interval)
  RETURNS TABLE(job_id uuid, new_status text, worker_id text)
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
#variable_conflict use_column
DECLARE
  r record;
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
      FROM (SELECT s.id
              FROM public.job_queue AS s
             WHERE s.status = 'processing'
               AND s.heartbeat_at < now() - p_heartbeat_timeout
             FOR UPDATE SKIP LOCKED) AS stale
     WHERE j.id = stale.id
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
COMMENT ON FUNCTION public.requeue_stale_jobs(interval) IS
  'Requeues (or dead-letters when attempts are spent) processing jobs whose heartbeat is older than p_heartbeat_timeout; fences their holders; one audit row each.';

-------------------------------------------------------------------------------------------------
-- Recent window for durations, tokens per job and completed_recently: the last 5 minutes.
CREATE FUNCTION public.queue_stats(p_job_types text[] DEFAULT NULL, p_lanes text[] DEFAULT NULL,
                                   p_heartbeat_timeout interval DEFAULT '60 seconds')
  RETURNS TABLE(ready bigint, scheduled bigint, processing bigint, stale bigint, dead_letter bigint,
                oldest_ready_age_seconds double precision, avg_duration_seconds double precision,
                avg_tokens_per_job double precision, completed_recently bigint)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = ''
AS $$
#variable_conflict use_column
DECLARE
  v_timeout interval := coalesce(p_heartbeat_timeout, '60 seconds'::interval);
BEGIN
  RETURN QUERY
  WITH pending AS (
    SELECT count(*) FILTER (WHERE q.scheduled_at <= now())                  AS ready,
           count(*) FILTER (WHERE q.scheduled_at > now())                   AS scheduled,
           min(q.scheduled_at) FILTER (WHERE q.scheduled_at <= now())       AS oldest_ready
      FROM public.job_queue AS q
     WHERE q.status = 'pending'
       AND (p_job_types IS NULL OR q.job_type = ANY (p_job_types))
       AND (p_lanes IS NULL OR q.job_lane = ANY (p_lanes))
  ), running AS (
    SELECT count(*)                                                          AS processing,
           count(*) FILTER (WHERE q.heartbeat_at < now() - v_timeout)        AS stale
      FROM public.job_queue AS q
     WHERE q.status = 'processing'
       AND (p_job_types IS NULL OR q.job_type = ANY (p_job_types))
       AND (p_lanes IS NULL OR q.job_lane = ANY (p_lanes))
  ), dead AS (
    SELECT count(*) AS dead_letter
      FROM public.job_queue AS q
     WHERE q.status = 'dead_letter'
       AND (p_job_types IS NULL OR q.job_type = ANY (p_job_types))
       AND (p_lanes IS NULL OR q.job_lane = ANY (p_lanes))
  ), recent AS (
    SELECT count(*)                                                            AS completed_recently,
           avg(EXTRACT(EPOCH FROM (q.completed_at - q.started_at)))::double precision AS avg_duration,
           avg(q.tokens_used)::double precision                                AS avg_tokens
      FROM public.job_queue AS q
     WHERE q.status = 'completed'
       AND q.completed_at >= now() - '5 minutes'::interval
       AND (p_job_types IS NULL OR q.job_type = ANY (p_job_types))
       AND (p_lanes IS NULL OR q.job_lane = ANY (p_lanes))
  )
  SELECT pending.ready, pending.scheduled, running.processing, running.stale, dead.dead_letter,
         coalesce(EXTRACT(EPOCH FROM (now() - pending.oldest_ready))::double precision, 0.0),
         recent.avg_duration, recent.avg_tokens, recent.completed_recently
    FROM pending, running, dead, recent;
END
$$;
COMMENT ON FUNCTION public.queue_stats(text[], text[], interval) IS
  'Queue snapshot for scaling: ready, scheduled (pending, not yet due), processing, stale (heartbeat older than p_heartbeat_timeout), dead_letter, oldest ready age (0 when none); average duration and tokens per job and the count of jobs completed in the last 5 minutes (averages NULL when none).';
