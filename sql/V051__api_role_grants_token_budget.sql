-- Explicit privileges for the API roles on the token budget (issue 12, point 2).
--
-- Supabase runs `ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON
-- TABLES, FUNCTIONS, SEQUENCES TO anon, authenticated, service_role`. V020 revoked only from
-- PUBLIC (functions) and from anon/authenticated (tables), so on Supabase anon - the public
-- key in every browser - could configure, block, reserve and lift the shared OpenAI budget,
-- and service_role held every table privilege (TRUNCATE included) on both budget tables.
-- Only the worker and controller logins use the budget; no API role needs any of it.

REVOKE ALL ON TABLE public.token_budget, public.token_budget_reservation
  FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

REVOKE ALL ON FUNCTION
  public.configure_token_budget(text, bigint, integer, integer),
  public.token_budget_exists(text),
  public.reserve_tokens(text, bigint, integer, uuid, integer),
  public.settle_tokens(uuid, bigint),
  public.block_token_budget(text, bigint, text),
  public.token_budget_status(text)
FROM PUBLIC, anon, authenticated, service_role, queue_worker, queue_controller;

-- exactly V020's grants, restated so that this file is the whole truth about these functions
GRANT EXECUTE ON FUNCTION public.configure_token_budget(text, bigint, integer, integer) TO queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.token_budget_exists(text) TO queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.reserve_tokens(text, bigint, integer, uuid, integer) TO queue_worker;
GRANT EXECUTE ON FUNCTION public.settle_tokens(uuid, bigint) TO queue_worker;
GRANT EXECUTE ON FUNCTION public.block_token_budget(text, bigint, text) TO queue_worker;
GRANT EXECUTE ON FUNCTION public.token_budget_status(text) TO queue_worker, queue_controller;
