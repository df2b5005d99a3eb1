-- Append-only audit trail: every operator job transition, every dead-lettering, every stale
-- requeue and (issue-3) every clinical write has a row. Rows are added only by
-- log_audit_event; a trigger rejects UPDATE, DELETE and TRUNCATE for everyone, owner included.

CREATE TABLE public.audit_log (
  id             bigserial   PRIMARY KEY,
  occurred_at    timestamptz NOT NULL DEFAULT now(),
  table_name     text        NOT NULL,
  record_id      text,
  operation      text        NOT NULL,
  old_values     jsonb,
  new_values     jsonb,
  reason         text,
  actor          text        NOT NULL,  -- auth.uid() when a JWT is present, else the database role
  db_user        text        NOT NULL,  -- the session's login role
  job_id         uuid,
  correlation_id uuid,
  patient_id     uuid,
  CONSTRAINT audit_log_operation_nonempty CHECK (length(operation) BETWEEN 1 AND 64),
  CONSTRAINT audit_log_table_name_nonempty CHECK (length(table_name) BETWEEN 1 AND 128)
);

COMMENT ON TABLE public.audit_log IS 'Append-only audit trail; write with log_audit_event, never UPDATE/DELETE.';

CREATE INDEX audit_log_job_idx ON public.audit_log (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX audit_log_patient_idx ON public.audit_log (patient_id, occurred_at) WHERE patient_id IS NOT NULL;
CREATE INDEX audit_log_correlation_idx ON public.audit_log (correlation_id) WHERE correlation_id IS NOT NULL;

CREATE FUNCTION public.audit_log_reject_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = ''
AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION public.audit_log_reject_change() FROM PUBLIC;

CREATE TRIGGER audit_log_no_update_delete
  BEFORE UPDATE OR DELETE ON public.audit_log
  FOR EACH ROW EXECUTE FUNCTION public.audit_log_reject_change();
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON public.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION public.audit_log_reject_change();

ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON TABLE public.audit_log FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON SEQUENCE public.audit_log_id_seq FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE public.audit_log TO service_role;

-- The one way to add an audit row. The actor is the JWT subject when the call carries one
-- (Supabase requests), else the caller's role: inside this SECURITY DEFINER function
-- current_user is the owner, so the caller's role is read from the `role` setting (SET ROLE)
-- and session_user.
CREATE FUNCTION public.log_audit_event(
  p_table_name     text,
  p_record_id      text,
  p_operation      text,
  p_old_values     jsonb,
  p_new_values     jsonb,
  p_reason         text,
  p_job_id         uuid DEFAULT NULL,
  p_correlation_id uuid DEFAULT NULL,
  p_patient_id     uuid DEFAULT NULL
) RETURNS bigint
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = ''
AS $$
DECLARE
  v_id bigint;
  v_actor text;
BEGIN
  IF p_table_name IS NULL OR p_table_name = '' THEN
    RAISE EXCEPTION 'log_audit_event: p_table_name is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_operation IS NULL OR p_operation = '' THEN
    RAISE EXCEPTION 'log_audit_event: p_operation is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_actor := coalesce(
    auth.uid()::text,
    nullif(nullif(pg_catalog.current_setting('role', true), ''), 'none'),
    session_user::text);
  INSERT INTO public.audit_log (table_name, record_id, operation, old_values, new_values, reason,
                                actor, db_user, job_id, correlation_id, patient_id)
  VALUES (p_table_name, p_record_id, p_operation, p_old_values, p_new_values, p_reason,
          v_actor, session_user::text, p_job_id, p_correlation_id, p_patient_id)
  RETURNING id INTO v_id;
  RETURN v_id;
END
$$;
REVOKE ALL ON FUNCTION public.log_audit_event(text, text, text, jsonb, jsonb, text, uuid, uuid, uuid)
  FROM PUBLIC, anon, authenticated;
