-- Flyway's history table lives in public. On Supabase, default privileges would give anon,
-- authenticated and service_role ALL on it (readable and writable through the Data API);
-- no API role needs it, so it gets no privileges at all.
-- Row level security cannot be switched on here: ALTER TABLE needs an exclusive lock on the
-- table Flyway holds locked while it runs this very migration. Without privileges the API
-- roles cannot reach it either way (AccessMatrixTest proves it).
DO $$
BEGIN
  IF to_regclass('public.queuepilot_schema_history') IS NOT NULL THEN
    REVOKE ALL ON public.queuepilot_schema_history FROM PUBLIC, anon, authenticated, service_role;
  END IF;
END
$$;
