-- Issue 14, point 2 and 4: the engine redesign, upgrading a live database in place.
--
-- public.job_queue keeps only LIVE jobs (pending, processing, dead_letter) with three indexes:
-- the primary key, the claim index and a dead-letter index (plus the processing rows' start
-- time for the stale sweep, which heartbeats never touch). Finished jobs (completed, cancelled)
-- are MOVED by the very statement that finishes them (DELETE ... RETURNING into INSERT) into
-- public.job_history, partitioned by day of finished_at, which retention prunes by dropping
-- whole partitions. Idempotency keys live in public.job_idempotency_keys (one small row per
-- job), unique across live and finished jobs; their purge walks the key table's created_at
-- index, never the whole table. Readers that want every job read the view public.jobs.
--
-- In place: jobs in flight are not touched (their leases, attempts and heartbeats stay valid:
-- a worker holding a lease before this migration completes after it), every existing key is
-- copied, and finished rows are moved by public.job_queue_move_finished(p_batch) in batches —
-- here, in this transaction, when there are at most 100,000 of them; otherwise the migration
-- leaves them (they stay readable through public.jobs and are never claimed) and the operator
-- runs `SELECT public.job_queue_move_finished(10000);` until it returns 0 (docs/queue.md).

-------------------------------------------------------------------------------------------------
-- 1. History: same columns as job_queue, plus finished_at (the partition key). lease_token is
--    the lease the job finished under (NULL for a cancellation).
CREATE SCHEMA IF NOT EXISTS queuepilot_history;
REVOKE ALL ON SCHEMA queuepilot_history FROM PUBLIC, anon, authenticated, service_role;
COMMENT ON SCHEMA queuepilot_history IS
  'Day partitions of public.job_history (created and dropped by the queue functions only); no API role has USAGE.';

CREATE TABLE public.job_history (
  id               uuid        NOT NULL,
  job_type         text        NOT NULL,
  job_lane         text        NOT NULL,
  payload          jsonb       NOT NULL,
  status           text        NOT NULL,
  priority         integer     NOT NULL,
  scheduled_at     timestamptz NOT NULL,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  started_at       timestamptz,
  completed_at     timestamptz,
  heartbeat_at     timestamptz,
  dead_letter_at   timestamptz,
  attempt          integer     NOT NULL,
  max_attempts     integer     NOT NULL,
  worker_id        text,
  lease_token      uuid,
  error            jsonb,
  error_history    jsonb       NOT NULL,
  idempotency_key  text        NOT NULL,
  patient_id       uuid,
  shell_file_id    uuid,
  correlation_id   uuid        NOT NULL,
  tokens_estimated integer,
  tokens_used      integer,
  result           jsonb,
  finished_at      timestamptz NOT NULL,
  CONSTRAINT job_history_pkey PRIMARY KEY (id, finished_at),
  CONSTRAINT job_history_status_finished CHECK (status IN ('completed', 'cancelled'))
) PARTITION BY RANGE (finished_at);
COMMENT ON TABLE public.job_history IS
  'Finished jobs (completed, cancelled), moved here by the statement that finished them; one partition per UTC day of finished_at (queuepilot_history.job_history_pYYYYMMDD), dropped whole by purge_finished_jobs.';
COMMENT ON COLUMN public.job_history.lease_token IS 'the lease the job completed under (NULL when cancelled)';
-- Recent completions (queue_stats), per file and per patient (erasure, sync, reprocess).
CREATE INDEX job_history_finished_idx ON public.job_history (finished_at);
CREATE INDEX job_history_shell_file_idx ON public.job_history (shell_file_id) WHERE shell_file_id IS NOT NULL;
CREATE INDEX job_history_patient_idx ON public.job_history (patient_id) WHERE patient_id IS NOT NULL;

-- Rows of a day without a partition land here (the completing statement never fails for want
-- of a partition); job_history_ensure_partitions moves them into their day's partition.
CREATE TABLE queuepilot_history.job_history_default PARTITION OF public.job_history DEFAULT;

ALTER TABLE public.job_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE queuepilot_history.job_history_default ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.job_history, queuepilot_history.job_history_default
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT SELECT ON TABLE public.job_history TO service_role;

-- Creates the day partitions from p_from for p_days days (UTC days) that do not exist yet,
-- moving any rows of those days out of the default partition first. Called by this migration,
-- by purge_finished_jobs (the controller's and the CLI's retention call) and by
-- job_queue_move_finished; safe to call at any time, by any number of sessions.
CREATE FUNCTION public.job_history_ensure_partitions(p_from date DEFAULT (now() AT TIME ZONE 'UTC')::date,
                                                     p_days integer DEFAULT 8)
  RETURNS integer
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_day     date;
  v_name    text;
  v_lo      timestamptz;
  v_hi      timestamptz;
  v_created integer := 0;
BEGIN
  IF p_from IS NULL OR p_days IS NULL OR p_days NOT BETWEEN 1 AND 400 THEN
    RAISE EXCEPTION 'job_history_ensure_partitions: p_from is required and p_days % must be 1..400',
      coalesce(p_days::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- one creator at a time (transaction-scoped; concurrent callers wait, then find the tables)
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('queuepilot.job_history_partitions'));
  FOR i IN 0 .. p_days - 1 LOOP
    v_day  := p_from + i;
    v_name := 'job_history_p' || pg_catalog.to_char(v_day, 'YYYYMMDD');
    CONTINUE WHEN pg_catalog.to_regclass('queuepilot_history.' || v_name) IS NOT NULL;
    v_lo := v_day::timestamp AT TIME ZONE 'UTC';
    v_hi := (v_day + 1)::timestamp AT TIME ZONE 'UTC';
    EXECUTE pg_catalog.format(
      'CREATE TABLE queuepilot_history.%I (LIKE public.job_history INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_name);
    -- rows of that day that reached the default partition move with it
    EXECUTE pg_catalog.format(
      'WITH moved AS (DELETE FROM queuepilot_history.job_history_default d
                       WHERE d.finished_at >= $1 AND d.finished_at < $2 RETURNING d.*)
       INSERT INTO queuepilot_history.%I SELECT * FROM moved', v_name) USING v_lo, v_hi;
    EXECUTE pg_catalog.format(
      'ALTER TABLE public.job_history ATTACH PARTITION queuepilot_history.%I FOR VALUES FROM (%L) TO (%L)',
      v_name, v_lo, v_hi);
    EXECUTE pg_catalog.format('ALTER TABLE queuepilot_history.%I ENABLE ROW LEVEL SECURITY', v_name);
    EXECUTE pg_catalog.format(
      'REVOKE ALL ON TABLE queuepilot_history.%I FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller',
      v_name);
    v_created := v_created + 1;
  END LOOP;
  RETURN v_created;
END
$$;
COMMENT ON FUNCTION public.job_history_ensure_partitions(date, integer) IS
  'Creates the missing job_history day partitions (UTC) from p_from for p_days days, moving rows of those days out of the default partition; returns how many it created.';

-------------------------------------------------------------------------------------------------
-- 2. Idempotency keys: one row per job, live or finished, for at least the documented window
--    (docs/queue.md: as long as the job is live, and its retention age after enqueue).
CREATE TABLE public.job_idempotency_keys (
  idempotency_key text        PRIMARY KEY,
  job_id          uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE public.job_idempotency_keys IS
  'Idempotency keys of live and finished jobs (enqueue_job inserts here first); purged by created_at with the retention, never while the job is live.';
CREATE INDEX job_idempotency_keys_created_idx ON public.job_idempotency_keys (created_at);
ALTER TABLE public.job_idempotency_keys ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.job_idempotency_keys
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

INSERT INTO public.job_idempotency_keys (idempotency_key, job_id, created_at)
SELECT j.idempotency_key, j.id, j.created_at FROM public.job_queue AS j;

-------------------------------------------------------------------------------------------------
-- 3. The live table: fewer constraints (the functions, its only writers, validate every
--    argument; the table keeps the invariants the lease protocol relies on), three indexes,
--    and room on each page for heartbeats to be HOT updates (they change no indexed column).
ALTER TABLE public.job_queue
  DROP CONSTRAINT job_queue_idempotency_key_key,
  DROP CONSTRAINT job_queue_job_type_format,
  DROP CONSTRAINT job_queue_job_lane_format,
  DROP CONSTRAINT job_queue_priority_range,
  DROP CONSTRAINT job_queue_attempts_range,
  DROP CONSTRAINT job_queue_payload_bounded,
  DROP CONSTRAINT job_queue_result_bounded,
  DROP CONSTRAINT job_queue_error_history_array,
  DROP CONSTRAINT job_queue_idempotency_key_length,
  DROP CONSTRAINT job_queue_worker_id_length,
  DROP CONSTRAINT job_queue_tokens_nonnegative,
  DROP CONSTRAINT job_queue_completed_has_time,
  DROP CONSTRAINT job_queue_status_valid;
-- Only live statuses from now on; NOT VALID until the finished rows have been moved (then
-- job_queue_move_finished validates it).
ALTER TABLE public.job_queue
  ADD CONSTRAINT job_queue_live_status CHECK (status IN ('pending', 'processing', 'dead_letter')) NOT VALID;
-- kept: job_queue_processing_has_lease (the lease implies processing) and job_queue_dead_letter_has_time
ALTER TABLE public.job_queue SET (fillfactor = 80);

DROP INDEX public.job_queue_claim_lane_idx;
DROP INDEX public.job_queue_processing_heartbeat_idx;
DROP INDEX public.job_queue_completed_at_idx;
DROP INDEX public.job_queue_cancelled_idx;
DROP INDEX public.job_queue_shell_file_idx;
DROP INDEX public.job_queue_patient_idx;
-- The stale sweep and the processing count walk the processing rows (as many as are in
-- flight) through an index whose key heartbeats never change, so a heartbeat is a HOT update.
CREATE INDEX job_queue_processing_idx ON public.job_queue (started_at) WHERE status = 'processing';

COMMENT ON TABLE public.job_queue IS
  'QueuePilot live jobs (pending, processing, dead_letter). Changed only through the queue functions; finished jobs are in job_history; priority 1 is the most urgent.';

-------------------------------------------------------------------------------------------------
-- 4. Every job, live or finished, for readers (CLI, dashboards, tests). security_invoker: the
--    caller's own privileges and RLS apply (service_role reads both tables; nobody else).
CREATE VIEW public.jobs WITH (security_invoker = true) AS
  SELECT j.id, j.job_type, j.job_lane, j.payload, j.status, j.priority, j.scheduled_at, j.created_at,
         j.updated_at, j.started_at, j.completed_at, j.heartbeat_at, j.dead_letter_at, j.attempt,
         j.max_attempts, j.worker_id, j.lease_token, j.error, j.error_history, j.idempotency_key,
         j.patient_id, j.shell_file_id, j.correlation_id, j.tokens_estimated, j.tokens_used, j.result,
         CASE WHEN j.status IN ('completed', 'cancelled') THEN coalesce(j.completed_at, j.updated_at) END AS finished_at
    FROM public.job_queue AS j
  UNION ALL
  SELECT h.id, h.job_type, h.job_lane, h.payload, h.status, h.priority, h.scheduled_at, h.created_at,
         h.updated_at, h.started_at, h.completed_at, h.heartbeat_at, h.dead_letter_at, h.attempt,
         h.max_attempts, h.worker_id, h.lease_token, h.error, h.error_history, h.idempotency_key,
         h.patient_id, h.shell_file_id, h.correlation_id, h.tokens_estimated, h.tokens_used, h.result,
         h.finished_at
    FROM public.job_history AS h;
COMMENT ON VIEW public.jobs IS
  'Every job: the live ones of job_queue and the finished ones of job_history (finished_at NULL while live).';
REVOKE ALL ON TABLE public.jobs FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
GRANT SELECT ON TABLE public.jobs TO service_role;

-------------------------------------------------------------------------------------------------
-- 5. Moving finished rows (the upgrade's history, in batches). Completed rows are filed under
--    completed_at, cancelled ones under updated_at (the cancellation). Rows someone else holds
--    are skipped; returns how many it moved. When none are left it validates
--    job_queue_live_status.
CREATE FUNCTION public.job_queue_move_finished(p_batch integer DEFAULT 10000)
  RETURNS integer
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_moved integer;
  v_oldest date;
BEGIN
  IF p_batch IS NULL OR p_batch NOT BETWEEN 1 AND 100000 THEN
    RAISE EXCEPTION 'job_queue_move_finished: p_batch % is out of range 1..100000', coalesce(p_batch::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  WITH picked AS (
    SELECT c.id FROM public.job_queue AS c
     WHERE c.status IN ('completed', 'cancelled')
     LIMIT p_batch
     FOR UPDATE SKIP LOCKED
  ), moved AS (
    DELETE FROM public.job_queue AS j USING picked WHERE j.id = picked.id RETURNING j.*
  )
  INSERT INTO public.job_history
    (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, started_at,
     completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id, lease_token, error,
     error_history, idempotency_key, patient_id, shell_file_id, correlation_id, tokens_estimated,
     tokens_used, result, finished_at)
  SELECT m.id, m.job_type, m.job_lane, m.payload, m.status, m.priority, m.scheduled_at, m.created_at,
         m.updated_at, m.started_at, m.completed_at, m.heartbeat_at, m.dead_letter_at, m.attempt,
         m.max_attempts, m.worker_id, m.lease_token, m.error, m.error_history, m.idempotency_key,
         m.patient_id, m.shell_file_id, m.correlation_id, m.tokens_estimated, m.tokens_used, m.result,
         CASE WHEN m.status = 'completed' THEN coalesce(m.completed_at, m.updated_at) ELSE m.updated_at END
    FROM moved AS m;
  GET DIAGNOSTICS v_moved = ROW_COUNT;
  IF v_moved = 0 AND NOT EXISTS (SELECT 1 FROM public.job_queue AS c WHERE c.status IN ('completed', 'cancelled'))
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                  WHERE k.conrelid = 'public.job_queue'::regclass AND k.conname = 'job_queue_live_status'
                    AND NOT k.convalidated) THEN
    ALTER TABLE public.job_queue VALIDATE CONSTRAINT job_queue_live_status;
  END IF;
  RETURN v_moved;
END
$$;
COMMENT ON FUNCTION public.job_queue_move_finished(integer) IS
  'Upgrade helper: moves at most p_batch finished (completed, cancelled) rows from job_queue into job_history; call until it returns 0 (then the live-status constraint is validated).';

-- Partitions for the last week (recent history lands in its own days) and the week ahead.
SELECT public.job_history_ensure_partitions(((now() AT TIME ZONE 'UTC')::date - 7), 15);

DO $$
DECLARE
  v_finished bigint;
  v_moved integer;
BEGIN
  SELECT count(*) INTO v_finished FROM public.job_queue AS c WHERE c.status IN ('completed', 'cancelled');
  IF v_finished <= 100000 THEN
    LOOP
      v_moved := public.job_queue_move_finished(10000);
      EXIT WHEN v_moved = 0;
    END LOOP;
  ELSE
    RAISE NOTICE 'V081: % finished jobs stay in job_queue for now; move them with SELECT public.job_queue_move_finished(10000) until it returns 0', v_finished;
  END IF;
END
$$;

-------------------------------------------------------------------------------------------------
-- 6. Functions on the new shape (same signatures; CREATE OR REPLACE keeps their grants).

-- The columns of a finished row, in job_history's order (one list for every move).
-- enqueue: the key first (unique across live and finished jobs), then the live row.
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
  v_id           uuid        := coalesce(p_job_id, gen_random_uuid());
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
-- Completion moves the row: DELETE from the live table by primary key + lease, INSERT the
-- finished row (result, tokens, completion time, the finishing lease) into job_history.
CREATE OR REPLACE FUNCTION public.complete_job(p_job_id uuid, p_lease_token uuid, p_result jsonb DEFAULT NULL,
                                               p_tokens_used integer DEFAULT NULL) RETURNS boolean
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_n integer;
BEGIN
  IF p_tokens_used < 0 THEN
    RAISE EXCEPTION 'complete_job: p_tokens_used % is negative', p_tokens_used
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.pg_column_size(p_result) > 65536 THEN
    RAISE EXCEPTION 'complete_job: p_result is % bytes; at most 65536', pg_catalog.pg_column_size(p_result)
      USING ERRCODE = 'program_limit_exceeded';
  END IF;
  WITH done AS (
    DELETE FROM public.job_queue AS j
     WHERE j.id = p_job_id AND j.lease_token = p_lease_token
    RETURNING j.*
  )
  INSERT INTO public.job_history
    (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, started_at,
     completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id, lease_token, error,
     error_history, idempotency_key, patient_id, shell_file_id, correlation_id, tokens_estimated,
     tokens_used, result, finished_at)
  SELECT d.id, d.job_type, d.job_lane, d.payload, 'completed', d.priority, d.scheduled_at, d.created_at,
         now(), d.started_at, now(), d.heartbeat_at, NULL, d.attempt, d.max_attempts, d.worker_id,
         d.lease_token, d.error, d.error_history, d.idempotency_key, d.patient_id, d.shell_file_id,
         d.correlation_id, d.tokens_estimated, coalesce(p_tokens_used, d.tokens_used), p_result, now()
    FROM done AS d;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n > 0;
END
$$;

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
    DELETE FROM public.job_queue AS j
     USING input AS i
     WHERE j.id = ANY (p_job_ids) AND j.id = i.id AND j.lease_token = i.lease
    RETURNING j.*, i.result AS new_result, i.tokens AS new_tokens
  ), filed AS (
    INSERT INTO public.job_history
      (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, started_at,
       completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id, lease_token, error,
       error_history, idempotency_key, patient_id, shell_file_id, correlation_id, tokens_estimated,
       tokens_used, result, finished_at)
    SELECT d.id, d.job_type, d.job_lane, d.payload, 'completed', d.priority, d.scheduled_at, d.created_at,
           now(), d.started_at, now(), d.heartbeat_at, NULL, d.attempt, d.max_attempts, d.worker_id,
           d.lease_token, d.error, d.error_history, d.idempotency_key, d.patient_id, d.shell_file_id,
           d.correlation_id, d.tokens_estimated, coalesce(d.new_tokens, d.tokens_used), d.new_result, now()
      FROM done AS d
    RETURNING id
  )
  SELECT i.id FROM input AS i WHERE NOT EXISTS (SELECT 1 FROM filed AS f WHERE f.id = i.id);
END
$$;

-------------------------------------------------------------------------------------------------
-- Shell file status for a job's new status (V054's trigger logic, callable by the moves that
-- are a DELETE + INSERT and so fire no UPDATE trigger): only the file's own current extraction
-- job changes it. Audited by shell_files_audit with the reason set here.
CREATE FUNCTION public.job_queue_sync_shell_file(p_job_id uuid, p_job_type text, p_shell_file_id uuid,
                                                 p_correlation_id uuid, p_status text, p_error jsonb)
  RETURNS void
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_shell_file_id IS NULL OR p_job_type <> 'document_extraction'
     OR p_status NOT IN ('dead_letter', 'processing', 'pending', 'cancelled') THEN
    RETURN;  -- 'completed' is set by write_back_extraction itself
  END IF;
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'job_id', p_job_id, 'correlation_id', p_correlation_id,
    'reason', CASE p_status WHEN 'dead_letter' THEN 'job dead-lettered'
                            WHEN 'processing' THEN 'job claimed'
                            WHEN 'pending' THEN 'job back in the queue'
                            ELSE 'job cancelled' END)::text, true);
  UPDATE public.shell_files f
     SET status = CASE p_status WHEN 'dead_letter' THEN 'failed'
                                WHEN 'processing' THEN 'processing'
                                WHEN 'pending' THEN 'queued'
                                ELSE 'cancelled' END,
         processing_error = CASE WHEN p_status = 'dead_letter' THEN p_error ELSE f.processing_error END
   WHERE f.id = p_shell_file_id
     AND f.processing_job_id = p_job_id;
END
$$;

CREATE OR REPLACE FUNCTION public.sync_shell_file_with_job() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM public.job_queue_sync_shell_file(NEW.id, NEW.job_type, NEW.shell_file_id, NEW.correlation_id,
                                           NEW.status, NEW.error);
  RETURN NULL;
END
$$;

-------------------------------------------------------------------------------------------------
-- Operator transitions across the two tables: cancelling moves a live job into job_history,
-- re-opening a cancelled one moves it back; everything else stays an UPDATE of the live row.
CREATE OR REPLACE FUNCTION public.update_job_status(p_job_id uuid, p_status text, p_error jsonb DEFAULT NULL,
                                                    p_next_retry_at timestamptz DEFAULT NULL) RETURNS text
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_old     public.job_queue%ROWTYPE;
  v_new     public.job_queue%ROWTYPE;
  v_live    boolean := true;
  v_error   jsonb := public.job_queue_bounded_error(p_error);
  v_allowed boolean;
BEGIN
  IF p_status IS NULL OR p_status NOT IN ('pending', 'processing', 'completed', 'dead_letter', 'cancelled') THEN
    RAISE EXCEPTION 'update_job_status: unknown status %', coalesce(pg_catalog.quote_literal(p_status), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  SELECT * INTO v_old FROM public.job_queue AS j WHERE j.id = p_job_id FOR UPDATE;
  IF NOT FOUND THEN
    v_live := false;
    SELECT h.id, h.job_type, h.job_lane, h.payload, h.status, h.priority, h.scheduled_at, h.created_at,
           h.updated_at, h.started_at, h.completed_at, h.heartbeat_at, h.dead_letter_at, h.attempt,
           h.max_attempts, h.worker_id, h.lease_token, h.error, h.error_history, h.idempotency_key,
           h.patient_id, h.shell_file_id, h.correlation_id, h.tokens_estimated, h.tokens_used, h.result
      INTO v_old
      FROM public.job_history AS h WHERE h.id = p_job_id FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'update_job_status: job % not found', p_job_id USING ERRCODE = 'no_data_found';
    END IF;
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

  -- the row as it will be (whichever table it ends up in)
  v_new := v_old;
  v_new.status         := p_status;
  v_new.scheduled_at   := CASE WHEN p_status = 'pending' THEN coalesce(p_next_retry_at, now()) ELSE v_old.scheduled_at END;
  -- a retried job always gets at least one more attempt
  v_new.max_attempts   := CASE WHEN p_status = 'pending' THEN GREATEST(v_old.max_attempts, LEAST(v_old.attempt + 1, 100))
                               ELSE v_old.max_attempts END;
  v_new.dead_letter_at := CASE WHEN p_status = 'dead_letter' THEN now() ELSE NULL END;
  v_new.error          := coalesce(v_error, v_old.error);
  v_new.error_history  := CASE WHEN v_error IS NULL THEN v_old.error_history
                               ELSE v_old.error_history || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                                      'attempt', v_old.attempt, 'at', now(), 'source', 'operator', 'error', v_error)) END;
  v_new.lease_token    := NULL;  -- fences a processing holder
  v_new.heartbeat_at   := NULL;
  v_new.updated_at     := now();

  IF v_live AND p_status <> 'cancelled' THEN
    UPDATE public.job_queue AS j
       SET status = v_new.status, scheduled_at = v_new.scheduled_at, max_attempts = v_new.max_attempts,
           dead_letter_at = v_new.dead_letter_at, error = v_new.error, error_history = v_new.error_history,
           lease_token = NULL, heartbeat_at = NULL, updated_at = v_new.updated_at
     WHERE j.id = p_job_id;  -- the status trigger keeps the shell file in step
  ELSIF v_live THEN
    -- cancel: out of the live table
    DELETE FROM public.job_queue AS j WHERE j.id = p_job_id;
    INSERT INTO public.job_history
      (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, started_at,
       completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id, lease_token, error,
       error_history, idempotency_key, patient_id, shell_file_id, correlation_id, tokens_estimated,
       tokens_used, result, finished_at)
    VALUES (v_new.id, v_new.job_type, v_new.job_lane, v_new.payload, v_new.status, v_new.priority,
            v_new.scheduled_at, v_new.created_at, v_new.updated_at, v_new.started_at, v_new.completed_at,
            v_new.heartbeat_at, v_new.dead_letter_at, v_new.attempt, v_new.max_attempts, v_new.worker_id,
            NULL, v_new.error, v_new.error_history, v_new.idempotency_key, v_new.patient_id,
            v_new.shell_file_id, v_new.correlation_id, v_new.tokens_estimated, v_new.tokens_used,
            v_new.result, now());
    PERFORM public.job_queue_sync_shell_file(v_new.id, v_new.job_type, v_new.shell_file_id,
                                             v_new.correlation_id, v_new.status, v_new.error);
  ELSE
    -- re-open: back into the live table
    DELETE FROM public.job_history AS h WHERE h.id = p_job_id;
    INSERT INTO public.job_queue SELECT v_new.*;
    PERFORM public.job_queue_sync_shell_file(v_new.id, v_new.job_type, v_new.shell_file_id,
                                             v_new.correlation_id, v_new.status, v_new.error);
  END IF;

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

-------------------------------------------------------------------------------------------------
-- The stale sweep through the processing index (V081); keeps history partitions ahead.
CREATE OR REPLACE FUNCTION public.requeue_stale_jobs(p_heartbeat_timeout interval, p_job_types text[], p_lanes text[])
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
  -- The periodic call (controller each reconcile, workers each tick) keeps a week of history
  -- partitions ahead; the check is one catalog lookup.
  IF pg_catalog.to_regclass('queuepilot_history.job_history_p'
       || pg_catalog.to_char((now() AT TIME ZONE 'UTC')::date + 2, 'YYYYMMDD')) IS NULL THEN
    PERFORM public.job_history_ensure_partitions((now() AT TIME ZONE 'UTC')::date, 8);
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

-------------------------------------------------------------------------------------------------
-- queue_stats: live counts from job_queue, recent completions from job_history (today's and,
-- around midnight, yesterday's partition: pruned by finished_at).
CREATE OR REPLACE FUNCTION public.queue_stats(p_job_types text[] DEFAULT NULL, p_lanes text[] DEFAULT NULL,
                                              p_heartbeat_timeout interval DEFAULT '60 seconds')
  RETURNS TABLE(ready bigint, scheduled bigint, processing bigint, stale bigint, dead_letter bigint,
                oldest_ready_age_seconds double precision, avg_duration_seconds double precision,
                avg_tokens_per_job double precision, completed_recently bigint)
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
           count(*) FILTER (WHERE q.status = 'dead_letter')                                      AS dead_letter
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
         recent.avg_duration, recent.avg_tokens, recent.completed_recently
    FROM live, recent;
END
$$;

-------------------------------------------------------------------------------------------------
-- Retention: whole day partitions of job_history whose day ended more than p_older_than ago are
-- dropped (a finished row is kept between p_older_than and p_older_than + 1 day); rows of the
-- default partition, dead letters (when p_dead_letter_older_than is given) and idempotency keys
-- older than p_older_than whose job is no longer live are deleted at most p_batch each, by
-- index. Returns the number of jobs removed; one RETENTION_PURGE audit row per call that
-- removed anything. Also creates the partitions of the week ahead.
CREATE OR REPLACE FUNCTION public.purge_finished_jobs(
  p_older_than              interval,
  p_batch                   integer  DEFAULT 1000,
  p_dead_letter_older_than  interval DEFAULT NULL
) RETURNS integer
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_cutoff     timestamptz;
  v_part       record;
  v_completed  bigint := 0;
  v_cancelled  bigint := 0;
  v_dead       integer := 0;
  v_keys       integer := 0;
  v_dropped    text[] := '{}';
  v_c          bigint;
  v_x          bigint;
  v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
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
  v_cutoff := now() - p_older_than;
  PERFORM public.job_history_ensure_partitions((now() AT TIME ZONE 'UTC')::date, 8);

  -- 1. Whole days: DROP, no row-by-row delete, no dead tuples, no vacuum debt.
  FOR v_part IN
    SELECT c.oid::regclass AS part, c.relname,
           (pg_catalog.to_date(pg_catalog.substr(c.relname, 14), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' AS ends
      FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'public.job_history'::regclass
       AND c.relname ~ '^job_history_p[0-9]{8}$'
     ORDER BY c.relname
  LOOP
    CONTINUE WHEN v_part.ends > v_cutoff;
    -- Dropping a partition locks it and job_history exclusively: wait at most 200 ms (a
    -- completion's INSERT waits that long at worst), else leave the day for the next call.
    BEGIN
      PERFORM pg_catalog.set_config('lock_timeout', '200ms', true);
      EXECUTE pg_catalog.format('LOCK TABLE public.job_history, %s IN ACCESS EXCLUSIVE MODE', v_part.part);
      EXECUTE pg_catalog.format(
        'SELECT count(*) FILTER (WHERE status = ''completed''), count(*) FILTER (WHERE status = ''cancelled'') FROM %s',
        v_part.part) INTO v_c, v_x;
      EXECUTE pg_catalog.format('DROP TABLE %s', v_part.part);
      v_completed := v_completed + v_c;
      v_cancelled := v_cancelled + v_x;
      v_dropped := v_dropped || v_part.relname::text;
    EXCEPTION WHEN lock_not_available THEN
      RAISE NOTICE 'purge_finished_jobs: % is in use; left for the next call', v_part.relname;
    END;
  END LOOP;
  PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);

  -- 2. Rows that reached the default partition (maintenance was behind), row by row.
  WITH doomed AS (
    SELECT d.id, d.finished_at FROM queuepilot_history.job_history_default AS d
     WHERE d.finished_at < v_cutoff
     ORDER BY d.finished_at
     LIMIT p_batch
     FOR UPDATE SKIP LOCKED
  ), gone AS (
    DELETE FROM queuepilot_history.job_history_default AS h USING doomed
     WHERE h.id = doomed.id AND h.finished_at = doomed.finished_at
    RETURNING h.status
  )
  SELECT count(*) FILTER (WHERE gone.status = 'completed'), count(*) FILTER (WHERE gone.status = 'cancelled')
    INTO v_c, v_x FROM gone;
  v_completed := v_completed + v_c;
  v_cancelled := v_cancelled + v_x;

  -- 3. Dead letters, when asked (they usually wait for a human).
  IF p_dead_letter_older_than IS NOT NULL THEN
    WITH doomed AS (
      SELECT c.id FROM public.job_queue AS c
       WHERE c.status = 'dead_letter' AND c.dead_letter_at < now() - p_dead_letter_older_than
       ORDER BY c.dead_letter_at
       LIMIT p_batch
       FOR UPDATE SKIP LOCKED)
    DELETE FROM public.job_queue AS j USING doomed WHERE j.id = doomed.id;
    GET DIAGNOSTICS v_dead = ROW_COUNT;
  END IF;

  -- 4. Keys past the window whose job is no longer live: by the created_at index, bounded.
  WITH doomed AS (
    SELECT k.idempotency_key FROM public.job_idempotency_keys AS k
     WHERE k.created_at < v_cutoff
       AND NOT EXISTS (SELECT 1 FROM public.job_queue AS j WHERE j.id = k.job_id)
     ORDER BY k.created_at
     LIMIT p_batch
     FOR UPDATE SKIP LOCKED)
  DELETE FROM public.job_idempotency_keys AS k USING doomed WHERE k.idempotency_key = doomed.idempotency_key;
  GET DIAGNOSTICS v_keys = ROW_COUNT;

  IF v_completed + v_cancelled + v_dead + v_keys > 0 THEN
    PERFORM public.log_audit_event(
      'job_queue', NULL, 'RETENTION_PURGE', NULL,
      pg_catalog.jsonb_build_object(
        'completed', v_completed, 'cancelled', v_cancelled, 'dead_letter', v_dead,
        'idempotency_keys', v_keys, 'partitions_dropped', pg_catalog.to_jsonb(v_dropped),
        'older_than', p_older_than::text,
        'dead_letter_older_than', p_dead_letter_older_than::text),
      'retention');
  END IF;
  RETURN LEAST(v_completed + v_cancelled + v_dead, 2147483647)::integer;
END
$$;
COMMENT ON FUNCTION public.purge_finished_jobs(interval, integer, interval) IS
  'Retention: drops job_history day partitions that ended more than p_older_than ago, deletes at most p_batch default-partition rows, dead letters older than p_dead_letter_older_than (when given) and idempotency keys past the window; returns the jobs removed. Call repeatedly until it returns less than p_batch.';

-------------------------------------------------------------------------------------------------
-- Erasure (V056) and local-mode cleanup (V070) on the two tables; otherwise unchanged.
CREATE OR REPLACE FUNCTION public.erase_patient_data(p_patient_id uuid, p_reason text)
  RETURNS jsonb
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_erasure   uuid;
  v_marker    jsonb;
  v_objects   bigint;
  v_files     uuid[];
  v_jobs      uuid[];
  v_records   text[];
  v_counts    jsonb;
  v_n_events  bigint;
  v_n_texts   bigint;
  v_n_files   bigint;
  v_n_grants  bigint;
  v_n_profile bigint;
  v_n_jobs    bigint;
  v_n_audit   bigint;
  v_n_hist    bigint;
  v_keys      text[];
  v_moved     record;
BEGIN
  IF p_patient_id IS NULL THEN
    RAISE EXCEPTION 'erase_patient_data: p_patient_id is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_reason IS NULL OR pg_catalog.btrim(p_reason) = '' OR pg_catalog.length(p_reason) > 500
     OR p_reason ~ '[[:cntrl:]]' THEN
    RAISE EXCEPTION 'erase_patient_data: p_reason is required (1 to 500 characters, no control characters; a ticket reference, never patient data)'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  -- Serialise with uploads and grants of this patient.
  PERFORM 1 FROM public.user_profiles p WHERE p.id = p_patient_id FOR UPDATE;

  IF pg_catalog.to_regclass('storage.objects') IS NOT NULL THEN
    EXECUTE 'SELECT count(*) FROM storage.objects o WHERE o.name LIKE $1'
      INTO v_objects USING p_patient_id::text || '/%';
    IF v_objects > 0 THEN
      RAISE EXCEPTION 'erase_patient_data: % stored objects remain under "%/"; delete them through the Storage API first',
        v_objects, p_patient_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
  END IF;

  SELECT coalesce(pg_catalog.array_agg(f.id), '{}') INTO v_files
    FROM public.shell_files f WHERE f.patient_id = p_patient_id;
  -- (V081) the patient's jobs, live and finished
  SELECT coalesce(pg_catalog.array_agg(a.id), '{}'), coalesce(pg_catalog.array_agg(a.idempotency_key), '{}')
    INTO v_jobs, v_keys
    FROM (SELECT j.id, j.idempotency_key FROM public.job_queue j
           WHERE j.patient_id = p_patient_id OR j.shell_file_id = ANY (v_files)
          UNION ALL
          SELECT h.id, h.idempotency_key FROM public.job_history h
           WHERE h.patient_id = p_patient_id
          UNION ALL
          SELECT h.id, h.idempotency_key FROM public.job_history h
           WHERE h.shell_file_id = ANY (v_files) AND h.patient_id IS DISTINCT FROM p_patient_id) AS a;
  -- Every record id whose audit rows describe this patient's data.
  SELECT coalesce(pg_catalog.array_agg(r.id), '{}') INTO v_records
    FROM (SELECT p_patient_id::text AS id
          UNION ALL SELECT g.id::text FROM public.profile_access_permissions g WHERE g.profile_id = p_patient_id
          UNION ALL SELECT f::text FROM pg_catalog.unnest(v_files) AS f
          UNION ALL SELECT d.id::text FROM public.document_texts d WHERE d.patient_id = p_patient_id
          UNION ALL SELECT e.id::text FROM public.clinical_events e WHERE e.patient_id = p_patient_id
          UNION ALL SELECT j::text FROM pg_catalog.unnest(v_jobs) AS j) AS r;

  INSERT INTO public.patient_erasures (patient_id, reason, requested_by)
  VALUES (p_patient_id, p_reason,
          coalesce(auth.uid()::text, nullif(nullif(pg_catalog.current_setting('role', true), ''), 'none'),
                   session_user::text))
  RETURNING id INTO v_erasure;
  v_marker := pg_catalog.jsonb_build_object('redacted_by_erasure', v_erasure);
  PERFORM pg_catalog.set_config('queuepilot.audit_context', pg_catalog.jsonb_build_object(
    'reason', 'erase_patient_data ' || v_erasure::text)::text, true);

  -- Jobs: stop what is in flight (fences a worker holding it: the row leaves the live table,
  -- cancelled, into job_history), then keep ids and times only, in both tables and the keys.
  FOR v_moved IN
    WITH moved AS (
      DELETE FROM public.job_queue j
       WHERE j.id = ANY (v_jobs) AND j.status IN ('pending', 'processing')
      RETURNING j.*
    )
    INSERT INTO public.job_history
      (id, job_type, job_lane, payload, status, priority, scheduled_at, created_at, updated_at, started_at,
       completed_at, heartbeat_at, dead_letter_at, attempt, max_attempts, worker_id, lease_token, error,
       error_history, idempotency_key, patient_id, shell_file_id, correlation_id, tokens_estimated,
       tokens_used, result, finished_at)
    SELECT m.id, m.job_type, m.job_lane, m.payload, 'cancelled', m.priority, m.scheduled_at, m.created_at,
           now(), m.started_at, m.completed_at, NULL, NULL, m.attempt, m.max_attempts, m.worker_id,
           NULL, m.error, m.error_history, m.idempotency_key, m.patient_id, m.shell_file_id,
           m.correlation_id, m.tokens_estimated, m.tokens_used, m.result, now()
      FROM moved AS m
    RETURNING id, job_type, shell_file_id, correlation_id
  LOOP
    PERFORM public.job_queue_sync_shell_file(v_moved.id, v_moved.job_type, v_moved.shell_file_id,
                                             v_moved.correlation_id, 'cancelled', NULL);
  END LOOP;
  UPDATE public.job_queue j
     SET payload = pg_catalog.jsonb_build_object('erased', v_erasure),
         error = NULL, error_history = '[]'::jsonb, result = NULL,
         idempotency_key = 'erased:' || j.id::text
   WHERE j.id = ANY (v_jobs);
  GET DIAGNOSTICS v_n_jobs = ROW_COUNT;
  UPDATE public.job_history h
     SET payload = pg_catalog.jsonb_build_object('erased', v_erasure),
         error = NULL, error_history = '[]'::jsonb, result = NULL,
         idempotency_key = 'erased:' || h.id::text
   WHERE h.id = ANY (v_jobs);
  GET DIAGNOSTICS v_n_hist = ROW_COUNT;
  v_n_jobs := v_n_jobs + v_n_hist;
  UPDATE public.job_idempotency_keys k
     SET idempotency_key = 'erased:' || k.job_id::text
   WHERE k.idempotency_key = ANY (v_keys);

  -- Rows, children first (each delete is one audit row, redacted below like every other).
  DELETE FROM public.clinical_events e WHERE e.patient_id = p_patient_id;
  GET DIAGNOSTICS v_n_events = ROW_COUNT;
  DELETE FROM public.document_texts d WHERE d.patient_id = p_patient_id;
  GET DIAGNOSTICS v_n_texts = ROW_COUNT;
  DELETE FROM public.shell_files f WHERE f.patient_id = p_patient_id;
  GET DIAGNOSTICS v_n_files = ROW_COUNT;
  DELETE FROM public.profile_access_permissions g WHERE g.profile_id = p_patient_id;
  GET DIAGNOSTICS v_n_grants = ROW_COUNT;
  DELETE FROM public.user_profiles p WHERE p.id = p_patient_id;
  GET DIAGNOSTICS v_n_profile = ROW_COUNT;

  -- Audit payloads: the marker instead of the values; the facts stay.
  UPDATE public.audit_log a
     SET old_values = CASE WHEN a.old_values IS NULL THEN NULL ELSE v_marker END,
         new_values = CASE WHEN a.new_values IS NULL THEN NULL ELSE v_marker END
   WHERE (a.patient_id = p_patient_id
          OR a.correlation_id = ANY (v_files)
          OR a.job_id = ANY (v_jobs)
          OR a.record_id = ANY (v_records))
     AND (a.old_values IS NOT NULL OR a.new_values IS NOT NULL);
  GET DIAGNOSTICS v_n_audit = ROW_COUNT;

  v_counts := pg_catalog.jsonb_build_object(
    'clinical_events', v_n_events, 'document_texts', v_n_texts, 'shell_files', v_n_files,
    'profile_access_permissions', v_n_grants, 'user_profiles', v_n_profile,
    'jobs_blanked', v_n_jobs, 'audit_rows_redacted', v_n_audit);
  UPDATE public.patient_erasures e SET counts = v_counts WHERE e.id = v_erasure;
  PERFORM public.log_audit_event('user_profiles', p_patient_id::text, 'ERASE', NULL,
    v_counts || pg_catalog.jsonb_build_object('erasure_id', v_erasure), p_reason, NULL, NULL, p_patient_id);
  RETURN v_counts || pg_catalog.jsonb_build_object('erasure_id', v_erasure);
END
$$;

CREATE OR REPLACE FUNCTION public.erase_local_demo_patient(p_patient_id uuid) RETURNS jsonb
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_owner   uuid;
  v_name    text;
  v_jobs    integer;
  v_files   integer;
  v_events  integer;
  v_texts   integer;
  v_users   integer := 0;
  v_counts  jsonb;
BEGIN
  IF p_patient_id IS NULL THEN
    RAISE EXCEPTION 'erase_local_demo_patient: p_patient_id must not be NULL'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT p.account_owner_id, p.display_name INTO v_owner, v_name
    FROM public.user_profiles AS p WHERE p.id = p_patient_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF v_name IS DISTINCT FROM 'Demo patient (queuepilot local)' THEN
    RAISE EXCEPTION 'erase_local_demo_patient: profile % is not a queuepilot local demo patient', p_patient_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT 1 FROM public.jobs AS j
              WHERE j.patient_id = p_patient_id AND j.job_lane NOT LIKE 'queuepilot\_local\_%') THEN
    RAISE EXCEPTION 'erase_local_demo_patient: profile % has jobs outside the local-mode lanes', p_patient_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;

  SELECT count(*) INTO v_files FROM public.shell_files AS f WHERE f.patient_id = p_patient_id;
  SELECT count(*) INTO v_texts FROM public.document_texts AS t WHERE t.patient_id = p_patient_id;
  SELECT count(*) INTO v_events FROM public.clinical_events AS e WHERE e.patient_id = p_patient_id;
  -- (V081) live and finished jobs and their keys
  WITH gone AS (
    DELETE FROM public.job_queue AS j WHERE j.patient_id = p_patient_id RETURNING j.idempotency_key
  ), gone_history AS (
    DELETE FROM public.job_history AS h WHERE h.patient_id = p_patient_id RETURNING h.idempotency_key
  ), keys AS (
    DELETE FROM public.job_idempotency_keys AS k
     WHERE k.idempotency_key IN (SELECT g.idempotency_key FROM gone AS g
                                 UNION ALL SELECT g.idempotency_key FROM gone_history AS g)
  )
  SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM gone_history) INTO v_jobs;
  DELETE FROM public.user_profiles AS p WHERE p.id = p_patient_id;
  IF pg_catalog.to_regclass('auth.users') IS NOT NULL THEN
    EXECUTE $sql$
      DELETE FROM auth.users AS u
       WHERE u.id = $1
         AND u.email LIKE 'local-demo+%@queuepilot.invalid'
         AND NOT EXISTS (SELECT 1 FROM public.user_profiles AS p WHERE p.account_owner_id = u.id)
    $sql$ USING v_owner;
    GET DIAGNOSTICS v_users = ROW_COUNT;
  END IF;

  v_counts := pg_catalog.jsonb_build_object('jobs', v_jobs, 'shell_files', v_files, 'document_texts', v_texts,
    'clinical_events', v_events, 'auth_users', v_users);
  PERFORM public.log_audit_event('user_profiles', p_patient_id::text, 'LOCAL_DEMO_ERASED', v_counts, NULL,
    'queuepilot local cleanup', NULL, NULL, p_patient_id);
  RETURN v_counts;
END
$$;

-------------------------------------------------------------------------------------------------
-- Grants of the new objects: nobody by default, then exactly who needs them.
REVOKE ALL ON FUNCTION
  public.job_history_ensure_partitions(date, integer),
  public.job_queue_move_finished(integer),
  public.job_queue_sync_shell_file(uuid, text, uuid, uuid, text, jsonb)
FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;
-- partitions ahead: whoever runs retention (the controller, operators)
GRANT EXECUTE ON FUNCTION public.job_history_ensure_partitions(date, integer) TO queue_controller, service_role;
-- the upgrade's history move: operators
GRANT EXECUTE ON FUNCTION public.job_queue_move_finished(integer) TO service_role;
