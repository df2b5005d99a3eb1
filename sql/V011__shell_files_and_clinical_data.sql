-- Uploaded documents ("shell files") and the clinical rows the worker extracts from them
-- (issue 3). Every clinical row carries patient_id, shell_file_id and job_id.

-- Upload limits, one row, edited by operators (service_role) only.
CREATE TABLE public.upload_settings (
  id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
  storage_bucket     text    NOT NULL DEFAULT 'medical-docs',
  max_size_bytes     bigint  NOT NULL DEFAULT 52428800 CHECK (max_size_bytes > 0),
  allowed_mime_types text[]  NOT NULL DEFAULT ARRAY[
                       'application/pdf', 'image/jpeg', 'image/png', 'image/heic',
                       'image/tiff', 'image/webp', 'text/plain'],
  updated_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE public.upload_settings IS
  'register_shell_file limits: the documents bucket, the largest accepted file (bytes) and the accepted MIME types.';
INSERT INTO public.upload_settings DEFAULT VALUES;

CREATE TABLE public.shell_files (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  patient_id        uuid NOT NULL REFERENCES public.user_profiles (id) ON DELETE CASCADE,
  storage_bucket    text NOT NULL,
  storage_path      text NOT NULL,
  filename          text NOT NULL,
  mime_type         text NOT NULL,
  size_bytes        bigint NOT NULL CHECK (size_bytes > 0),
  status            text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'processing', 'completed', 'failed', 'cancelled')),
  processing_error  jsonb,
  processing_job_id uuid,
  idempotency_key   text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
  uploaded_by       uuid,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  processed_at      timestamptz
);
CREATE UNIQUE INDEX shell_files_idempotency_key_key ON public.shell_files (idempotency_key);
CREATE INDEX shell_files_patient_idx ON public.shell_files (patient_id, created_at DESC);
CREATE INDEX shell_files_processing_job_idx ON public.shell_files (processing_job_id);

-- Extracted text of one shell file (replaced as a whole on re-processing).
CREATE TABLE public.document_texts (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  patient_id    uuid NOT NULL REFERENCES public.user_profiles (id) ON DELETE CASCADE,
  shell_file_id uuid NOT NULL REFERENCES public.shell_files (id) ON DELETE CASCADE,
  job_id        uuid NOT NULL,
  text          text NOT NULL,
  page_count    int  CHECK (page_count IS NULL OR page_count >= 0),
  processor     text NOT NULL,
  model         text,
  tokens_used   int  CHECK (tokens_used IS NULL OR tokens_used >= 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX document_texts_shell_file_key ON public.document_texts (shell_file_id);
CREATE INDEX document_texts_patient_idx ON public.document_texts (patient_id);
CREATE INDEX document_texts_job_idx ON public.document_texts (job_id);

CREATE TABLE public.clinical_events (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  patient_id    uuid NOT NULL REFERENCES public.user_profiles (id) ON DELETE CASCADE,
  shell_file_id uuid NOT NULL REFERENCES public.shell_files (id) ON DELETE CASCADE,
  job_id        uuid NOT NULL,
  ordinal       int  NOT NULL CHECK (ordinal >= 0),
  event_type    text NOT NULL
                CHECK (event_type IN ('medication', 'condition', 'allergy', 'observation', 'procedure')),
  name          text NOT NULL CHECK (length(btrim(name)) > 0),
  code          text,
  code_system   text,
  value         text,
  unit          text,
  event_date    date,
  confidence    numeric(4, 3) CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 1),
  source_page   int  CHECK (source_page IS NULL OR source_page >= 1),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT clinical_events_shell_file_ordinal_key UNIQUE (shell_file_id, ordinal)
);
CREATE INDEX clinical_events_patient_type_idx ON public.clinical_events (patient_id, event_type);
CREATE INDEX clinical_events_job_idx ON public.clinical_events (job_id);

CREATE TRIGGER shell_files_touch BEFORE UPDATE ON public.shell_files
  FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

REVOKE ALL ON public.upload_settings, public.shell_files, public.document_texts, public.clinical_events
  FROM PUBLIC, anon, authenticated, service_role;
-- Users read; shell files are created only through register_shell_file and clinical rows
-- only through write_back_extraction (both SECURITY DEFINER), so no write privileges.
GRANT SELECT ON public.shell_files, public.document_texts, public.clinical_events TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.shell_files, public.document_texts, public.clinical_events
  TO service_role;
GRANT SELECT, UPDATE ON public.upload_settings TO service_role;

ALTER TABLE public.upload_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.shell_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.document_texts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.clinical_events ENABLE ROW LEVEL SECURITY;

-- upload_settings: no policy for anon/authenticated (deny); service_role bypasses RLS.

-- Files and document text need read_only or better: the emergency level sees neither.
CREATE POLICY shell_files_select ON public.shell_files
  FOR SELECT TO authenticated
  USING (public.has_profile_access_level((SELECT auth.uid()), patient_id, 'read_only'));
CREATE POLICY document_texts_select ON public.document_texts
  FOR SELECT TO authenticated
  USING (public.has_profile_access_level((SELECT auth.uid()), patient_id, 'read_only'));

-- Clinical events: read_only or better sees all of them; the emergency level sees only what
-- a first responder needs — allergies, medications and conditions.
CREATE POLICY clinical_events_select ON public.clinical_events
  FOR SELECT TO authenticated
  USING (public.has_profile_access_level((SELECT auth.uid()), patient_id,
           CASE WHEN event_type IN ('allergy', 'medication', 'condition')
                THEN 'emergency'::public.profile_access_level
                ELSE 'read_only'::public.profile_access_level END));
