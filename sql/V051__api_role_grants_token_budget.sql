-- Explicit privileges for the API roles on the token budget (issue 12, point 2).
--
-- Supabase runs `ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON
-- TABLES, FUNCTIONS, SEQUENCES TO anon, authenticated, service_role`. V020 revoked only from
-- PUBLIC (functions) and from anon/authenticated (tables), so on Supabase anon - the public
-- key in every browser - could configure, block, reserve and lift the shared OpenAI budget,
-- and service_role held every table privilege (TRUNCATE included) on both budget tables.
-- Only the worker and controller group roles use the budget (V020's EXECUTE grants to them
-- stand); no API role needs any of it.

REVOKE ALL ON TABLE public.token_budget, public.token_budget_reservation
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

REVOKE ALL ON FUNCTION
  public.configure_token_budget(text, bigint, integer, integer),
  public.token_budget_exists(text),
  public.reserve_tokens(text, bigint, integer, uuid, integer),
  public.settle_tokens(uuid, bigint),
  public.block_token_budget(text, bigint, text),
  public.token_budget_status(text)
FROM PUBLIC, anon, authenticated, service_role;
