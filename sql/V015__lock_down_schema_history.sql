-- Flyway's history table lives in public. On Supabase, default privileges would give anon,
-- authenticated and service_role ALL on it (readable and writable through the Data API);
-- no API role needs it, so it gets no privileges and row level security (issue 3: RLS on
-- every table). Flyway itself writes as the table owner, which RLS does not restrict.
DO $$
BEGIN
  IF to_regclass('public.queuepilot_schema_history') IS NOT NULL THEN
    REVOKE ALL ON public.queuepilot_schema_history FROM PUBLIC, anon, authenticated, service_role;
    ALTER TABLE public.queuepilot_schema_history ENABLE ROW LEVEL SECURITY;
  END IF;
END
$$;
