-- Token and request budget shared by every worker replica (issue 4).
--
-- One row per budget (e.g. 'openai'); each model call first reserves its estimated tokens, then
-- settles them with the real usage. The window slides: a reservation counts against the budget
-- from the moment it is made until window_seconds after it was settled (or, if never settled,
-- window_seconds + p_max_call_seconds after it was made). Because every call's tokens are sent
-- between its reservation and its settlement, the tokens of the calls that reach the provider in
-- ANY window_seconds-long interval were all counted at once at the latest reservation among them,
-- so they never exceed tokens_per_window as long as estimates are upper bounds of real usage.
-- blocked_until lets a 429 or exhausted rate-limit headers stop every replica until a reset.

CREATE TABLE public.token_budget (
  name                text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
  tokens_per_window   bigint  NOT NULL CHECK (tokens_per_window > 0),
  requests_per_window integer NOT NULL CHECK (requests_per_window > 0),
  window_seconds      integer NOT NULL DEFAULT 60 CHECK (window_seconds BETWEEN 1 AND 3600),
  blocked_until       timestamptz,
  blocked_reason      text,
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.token_budget_reservation (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  budget_name  text NOT NULL REFERENCES public.token_budget(name) ON DELETE CASCADE,
  tokens       bigint  NOT NULL CHECK (tokens >= 0),
  requests     integer NOT NULL CHECK (requests >= 0),
  reserved_at  timestamptz NOT NULL,
  settled_at   timestamptz,
  active_until timestamptz NOT NULL,
  job_id       uuid
);
CREATE INDEX token_budget_reservation_active ON public.token_budget_reservation (budget_name, active_until);

-- Only the functions below touch these tables.
ALTER TABLE public.token_budget ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.token_budget_reservation ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.token_budget, public.token_budget_reservation FROM PUBLIC;
REVOKE ALL ON public.token_budget, public.token_budget_reservation FROM anon, authenticated, queue_worker, queue_controller;

CREATE FUNCTION public.configure_token_budget(
    p_budget text, p_tokens_per_window bigint, p_requests_per_window integer, p_window_seconds integer DEFAULT 60)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
BEGIN
  INSERT INTO public.token_budget (name, tokens_per_window, requests_per_window, window_seconds)
  VALUES (p_budget, p_tokens_per_window, p_requests_per_window, p_window_seconds)
  ON CONFLICT (name) DO UPDATE
     SET tokens_per_window = EXCLUDED.tokens_per_window,
         requests_per_window = EXCLUDED.requests_per_window,
         window_seconds = EXCLUDED.window_seconds,
         updated_at = now();
END $$;

CREATE FUNCTION public.token_budget_exists(p_budget text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT EXISTS (SELECT 1 FROM public.token_budget WHERE name = p_budget);
$$;

CREATE FUNCTION public.reserve_tokens(
    p_budget text, p_tokens bigint, p_requests integer DEFAULT 1, p_job_id uuid DEFAULT NULL,
    p_max_call_seconds integer DEFAULT 120)
RETURNS TABLE (granted boolean, reservation_id uuid, retry_after_ms bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  b        public.token_budget;
  v_now    timestamptz;
  v_tokens bigint;
  v_reqs   bigint;
  v_id     uuid;
  v_free   timestamptz;
BEGIN
  IF p_tokens IS NULL OR p_tokens < 0 OR p_requests IS NULL OR p_requests < 0
     OR p_max_call_seconds IS NULL OR p_max_call_seconds < 0 THEN
    RAISE EXCEPTION 'reserve_tokens: tokens, requests and max call seconds must be >= 0'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- one budget row lock serialises every replica's reservations
  SELECT * INTO b FROM public.token_budget WHERE name = p_budget FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'token budget "%" does not exist (configure_token_budget)', p_budget
      USING ERRCODE = 'no_data_found';
  END IF;
  IF p_tokens > b.tokens_per_window OR p_requests > b.requests_per_window THEN
    RAISE EXCEPTION 'a call of % tokens / % requests can never fit budget "%" (% tokens / % requests per % s)',
      p_tokens, p_requests, p_budget, b.tokens_per_window, b.requests_per_window, b.window_seconds
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  v_now := clock_timestamp(); -- after the lock wait, not the transaction start
  DELETE FROM public.token_budget_reservation r WHERE r.budget_name = p_budget AND r.active_until <= v_now;
  IF b.blocked_until IS NOT NULL AND b.blocked_until > v_now THEN
    RETURN QUERY SELECT false, NULL::uuid,
      greatest(1, ceil(extract(epoch FROM b.blocked_until - v_now) * 1000))::bigint;
    RETURN;
  END IF;
  SELECT coalesce(sum(r.tokens), 0), coalesce(sum(r.requests), 0) INTO v_tokens, v_reqs
    FROM public.token_budget_reservation r WHERE r.budget_name = p_budget;
  IF v_tokens + p_tokens <= b.tokens_per_window AND v_reqs + p_requests <= b.requests_per_window THEN
    INSERT INTO public.token_budget_reservation (budget_name, tokens, requests, reserved_at, active_until, job_id)
    VALUES (p_budget, p_tokens, p_requests, v_now,
            v_now + make_interval(secs => b.window_seconds + p_max_call_seconds), p_job_id)
    RETURNING id INTO v_id;
    RETURN QUERY SELECT true, v_id, 0::bigint;
    RETURN;
  END IF;
  -- The earliest moment enough reservations may leave the window. An unsettled call usually
  -- settles within moments, so it is counted as leaving one window after now (a hint only: if
  -- it is still running then, the caller is simply told to wait again).
  SELECT min(s.free_at) INTO v_free
    FROM (SELECT f.free_at,
                 sum(f.tokens) OVER w AS freed_tokens,
                 sum(f.requests) OVER w AS freed_requests
            FROM (SELECT CASE WHEN r.settled_at IS NULL
                              THEN least(r.active_until, v_now + make_interval(secs => b.window_seconds))
                              ELSE r.active_until END AS free_at,
                         r.tokens, r.requests, r.id
                    FROM public.token_budget_reservation r
                   WHERE r.budget_name = p_budget) f
          WINDOW w AS (ORDER BY f.free_at, f.id)) s
   WHERE s.freed_tokens >= v_tokens + p_tokens - b.tokens_per_window
     AND s.freed_requests >= v_reqs + p_requests - b.requests_per_window;
  RETURN QUERY SELECT false, NULL::uuid,
    greatest(1, ceil(extract(epoch FROM coalesce(v_free, v_now + make_interval(secs => b.window_seconds)) - v_now) * 1000))::bigint;
END $$;

CREATE FUNCTION public.settle_tokens(p_reservation uuid, p_tokens_used bigint)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_now timestamptz := clock_timestamp();
  v_n   integer;
BEGIN
  IF p_tokens_used IS NULL OR p_tokens_used < 0 THEN
    RAISE EXCEPTION 'settle_tokens: tokens used must be >= 0' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE public.token_budget_reservation r
     SET tokens = p_tokens_used,
         settled_at = v_now,
         active_until = v_now + make_interval(secs => b.window_seconds)
    FROM public.token_budget b
   WHERE r.id = p_reservation AND r.settled_at IS NULL AND b.name = r.budget_name;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n = 1;
END $$;

CREATE FUNCTION public.block_token_budget(p_budget text, p_block_ms bigint, p_reason text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  v_until timestamptz;
BEGIN
  IF p_block_ms IS NULL OR p_block_ms < 0 OR p_block_ms > 3600000 THEN
    RAISE EXCEPTION 'block_token_budget: block must be between 0 and 3600000 ms' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE public.token_budget b
     SET blocked_until = greatest(coalesce(b.blocked_until, '-infinity'::timestamptz),
                                  clock_timestamp() + make_interval(secs => p_block_ms / 1000.0)),
         blocked_reason = left(p_reason, 200),
         updated_at = now()
   WHERE b.name = p_budget
  RETURNING b.blocked_until INTO v_until;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'token budget "%" does not exist', p_budget USING ERRCODE = 'no_data_found';
  END IF;
  RETURN v_until;
END $$;

-- What the controller and dashboards read: usage in the current window.
CREATE FUNCTION public.token_budget_status(p_budget text)
RETURNS TABLE (tokens_per_window bigint, requests_per_window integer, window_seconds integer,
               tokens_in_window bigint, requests_in_window bigint, in_flight bigint, blocked_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT b.tokens_per_window, b.requests_per_window, b.window_seconds,
         coalesce(sum(r.tokens), 0)::bigint, coalesce(sum(r.requests), 0)::bigint,
         count(r.id) FILTER (WHERE r.settled_at IS NULL),
         CASE WHEN b.blocked_until > clock_timestamp() THEN b.blocked_until END
    FROM public.token_budget b
    LEFT JOIN public.token_budget_reservation r
           ON r.budget_name = b.name AND r.active_until > clock_timestamp()
   WHERE b.name = p_budget
   GROUP BY b.name;
$$;

REVOKE ALL ON FUNCTION public.configure_token_budget(text, bigint, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.token_budget_exists(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.reserve_tokens(text, bigint, integer, uuid, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.settle_tokens(uuid, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.block_token_budget(text, bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.token_budget_status(text) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION public.configure_token_budget(text, bigint, integer, integer) TO queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.token_budget_exists(text) TO queue_worker, queue_controller;
GRANT EXECUTE ON FUNCTION public.reserve_tokens(text, bigint, integer, uuid, integer) TO queue_worker;
GRANT EXECUTE ON FUNCTION public.settle_tokens(uuid, bigint) TO queue_worker;
GRANT EXECUTE ON FUNCTION public.block_token_budget(text, bigint, text) TO queue_worker;
GRANT EXECUTE ON FUNCTION public.token_budget_status(text) TO queue_worker, queue_controller;
