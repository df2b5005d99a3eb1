-- The job queue table. Rows are changed only through the SECURITY DEFINER functions of V004;
-- no application role has table privileges (see V005).
--
-- Priority: 1 is the most urgent, 10 the least; claims take the lowest number first.
-- Attempts: `attempt` counts claims that spent an attempt (claim_next_job adds one,
-- release_job gives it back); a job is dead-lettered when it fails with attempt >= max_attempts.

CREATE TABLE public.job_queue (
  id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  job_type         text        NOT NULL,
  job_lane         text        NOT NULL DEFAULT 'default',
  payload          jsonb       NOT NULL DEFAULT '{}'::jsonb,
  status           text        NOT NULL DEFAULT 'pending',
  priority         integer     NOT NULL DEFAULT 5,
  scheduled_at     timestamptz NOT NULL DEFAULT now(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  completed_at     timestamptz,
  heartbeat_at     timestamptz,
  dead_letter_at   timestamptz,
  attempt          integer     NOT NULL DEFAULT 0,
  max_attempts     integer     NOT NULL DEFAULT 5,
  worker_id        text,
  lease_token      uuid,
  error            jsonb,
  error_history    jsonb       NOT NULL DEFAULT '[]'::jsonb,
  idempotency_key  text        NOT NULL,
  patient_id       uuid,
  shell_file_id    uuid,
  correlation_id   uuid        NOT NULL DEFAULT gen_random_uuid(),
  tokens_estimated integer,
  tokens_used      integer,
  result           jsonb,

  CONSTRAINT job_queue_idempotency_key_key UNIQUE (idempotency_key),
  CONSTRAINT job_queue_job_type_format CHECK (job_type ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  CONSTRAINT job_queue_job_lane_format CHECK (job_lane ~ '^[a-z][a-z0-9_.-]{0,62}$'),
  CONSTRAINT job_queue_status_valid
    CHECK (status IN ('pending', 'processing', 'completed', 'dead_letter', 'cancelled')),
  CONSTRAINT job_queue_priority_range CHECK (priority BETWEEN 1 AND 10),
  CONSTRAINT job_queue_attempts_range
    CHECK (attempt >= 0 AND max_attempts BETWEEN 1 AND 100),
  -- references only (bucket, path, ids): never file bytes
  CONSTRAINT job_queue_payload_bounded
    CHECK (jsonb_typeof(payload) = 'object' AND pg_column_size(payload) <= 16384),
  CONSTRAINT job_queue_result_bounded CHECK (result IS NULL OR pg_column_size(result) <= 65536),
  CONSTRAINT job_queue_error_history_array CHECK (jsonb_typeof(error_history) = 'array'),
  CONSTRAINT job_queue_idempotency_key_length CHECK (length(idempotency_key) BETWEEN 1 AND 400),
  CONSTRAINT job_queue_worker_id_length CHECK (worker_id IS NULL OR length(worker_id) BETWEEN 1 AND 200),
  CONSTRAINT job_queue_tokens_nonnegative
    CHECK ((tokens_estimated IS NULL OR tokens_estimated >= 0) AND (tokens_used IS NULL OR tokens_used >= 0)),
  -- a processing job always has a holder, a lease and a heartbeat; nothing else has a lease
  CONSTRAINT job_queue_processing_has_lease
    CHECK ((status = 'processing') = (lease_token IS NOT NULL)
           AND (status <> 'processing' OR (worker_id IS NOT NULL AND heartbeat_at IS NOT NULL AND started_at IS NOT NULL))),
  CONSTRAINT job_queue_completed_has_time CHECK (status <> 'completed' OR completed_at IS NOT NULL),
  CONSTRAINT job_queue_dead_letter_has_time CHECK (status <> 'dead_letter' OR dead_letter_at IS NOT NULL)
);

COMMENT ON TABLE public.job_queue IS
  'QueuePilot work queue. Changed only through the queue functions; priority 1 is the most urgent.';
COMMENT ON COLUMN public.job_queue.priority IS '1 (most urgent) .. 10 (least urgent); claims take the lowest first';
COMMENT ON COLUMN public.job_queue.lease_token IS 'fencing token: a new value on every claim, NULL unless processing';
COMMENT ON COLUMN public.job_queue.error_history IS 'every error of every attempt, oldest first';
COMMENT ON COLUMN public.job_queue.payload IS 'references only (storage bucket/path, ids), at most 16 kB; never file bytes';

-- The claim: an ordered index scan over pending rows only, however many finished rows exist.
CREATE INDEX job_queue_claim_idx
  ON public.job_queue (priority, scheduled_at, created_at)
  WHERE status = 'pending';
-- Claims restricted to lanes (e.g. only the 'ai' lane) and per-lane statistics.
CREATE INDEX job_queue_claim_lane_idx
  ON public.job_queue (job_lane, priority, scheduled_at, created_at)
  WHERE status = 'pending';
-- Stale-heartbeat detection and the processing count.
CREATE INDEX job_queue_processing_heartbeat_idx
  ON public.job_queue (heartbeat_at)
  WHERE status = 'processing';
-- Dead-letter count and inspection.
CREATE INDEX job_queue_dead_letter_idx
  ON public.job_queue (dead_letter_at)
  WHERE status = 'dead_letter';
-- Recent completions (durations and tokens per job for queue_stats).
CREATE INDEX job_queue_completed_at_idx
  ON public.job_queue (completed_at)
  WHERE status = 'completed';
-- Lookups by the file and the patient a job belongs to.
CREATE INDEX job_queue_shell_file_idx ON public.job_queue (shell_file_id) WHERE shell_file_id IS NOT NULL;
CREATE INDEX job_queue_patient_idx ON public.job_queue (patient_id) WHERE patient_id IS NOT NULL;

-- Invisible to anon and authenticated: RLS on, no policy for them, and no privileges.
-- (Supabase grants table privileges to anon/authenticated/service_role by default; revoke them.)
ALTER TABLE public.job_queue ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.job_queue FROM PUBLIC, anon, authenticated, service_role;
-- service_role may read (dashboards, support); every change goes through the functions.
GRANT SELECT ON TABLE public.job_queue TO service_role;
