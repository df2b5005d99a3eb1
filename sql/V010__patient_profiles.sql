-- Patient profiles and delegated access (issue 3).
--
-- A profile is a patient record (the account holder themself, a child, a dependent) owned by
-- one auth user. Other users reach a profile only through profile_access_permissions, with a
-- typed level. Levels compare by enum order, never as text:
--   emergency < read_only < read_write < full_access < owner
-- 'owner' is never stored in profile_access_permissions: it is what the account owner has.

CREATE TYPE public.profile_access_level AS ENUM
  ('emergency', 'read_only', 'read_write', 'full_access', 'owner');

CREATE TABLE public.user_profiles (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_owner_id uuid NOT NULL,
  profile_type     text NOT NULL DEFAULT 'self'
                   CHECK (profile_type IN ('self', 'child', 'dependent')),
  display_name     text NOT NULL CHECK (length(btrim(display_name)) > 0),
  date_of_birth    date,
  archived         boolean NOT NULL DEFAULT false,
  archived_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (archived = (archived_at IS NOT NULL))
);
CREATE INDEX user_profiles_account_owner_idx ON public.user_profiles (account_owner_id);

CREATE TABLE public.profile_access_permissions (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  profile_id   uuid NOT NULL REFERENCES public.user_profiles (id) ON DELETE CASCADE,
  user_id      uuid NOT NULL,
  access_level public.profile_access_level NOT NULL,
  granted_by   uuid,
  starts_at    timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT profile_access_permissions_profile_user_key UNIQUE (profile_id, user_id),
  CONSTRAINT profile_access_permissions_not_owner CHECK (access_level <> 'owner'),
  CONSTRAINT profile_access_permissions_window CHECK (expires_at IS NULL OR expires_at > starts_at)
);
-- has_profile_access_level looks a grant up by (user_id, profile_id); the UNIQUE index above
-- leads with profile_id, so the delegate lookup gets its own index.
CREATE INDEX profile_access_permissions_user_profile_idx
  ON public.profile_access_permissions (user_id, profile_id);

-- On Supabase the profile owner and delegates are auth.users; plain PostgreSQL has no such
-- table, so the foreign keys are added only where it exists.
DO $$
BEGIN
  IF to_regclass('auth.users') IS NOT NULL THEN
    ALTER TABLE public.user_profiles
      ADD CONSTRAINT user_profiles_account_owner_fkey
      FOREIGN KEY (account_owner_id) REFERENCES auth.users (id) ON DELETE CASCADE;
    ALTER TABLE public.profile_access_permissions
      ADD CONSTRAINT profile_access_permissions_user_fkey
      FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE;
  END IF;
END $$;

-- The effective access level of p_user_id on p_profile_id, NULL when none:
-- owner of a non-archived profile → 'owner'; a delegate → their level while the grant has
-- started, has not expired and is not revoked; archived profiles give nothing to anybody.
CREATE FUNCTION public.profile_access_level_of(p_user_id uuid, p_profile_id uuid)
RETURNS public.profile_access_level
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
AS $$
  SELECT CASE
           WHEN p.account_owner_id = p_user_id THEN 'owner'::public.profile_access_level
           ELSE (SELECT g.access_level
                   FROM public.profile_access_permissions g
                  WHERE g.user_id = p_user_id
                    AND g.profile_id = p.id
                    AND g.revoked_at IS NULL
                    AND g.starts_at <= now()
                    AND (g.expires_at IS NULL OR g.expires_at > now()))
         END
    FROM public.user_profiles p
   WHERE p.id = p_profile_id
     AND NOT p.archived
     AND p_user_id IS NOT NULL
$$;

-- A caller may only ask about themself: everything here is called with auth.uid() by the
-- policies and register_shell_file. Asking about another user (probing who may see whom) is
-- answered with false unless the request carries the service_role claim.
CREATE FUNCTION public.has_profile_access_level(p_user_id uuid, p_profile_id uuid,
                                                p_required public.profile_access_level)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
AS $$
  SELECT coalesce(
           (p_user_id = auth.uid() OR auth.role() = 'service_role')
           AND public.profile_access_level_of(p_user_id, p_profile_id) >= p_required,
           false)
$$;

-- Any live access at all, emergency included.
CREATE FUNCTION public.has_profile_access(p_user_id uuid, p_profile_id uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
AS $$
  SELECT public.has_profile_access_level(p_user_id, p_profile_id, 'emergency')
$$;

REVOKE ALL ON FUNCTION public.profile_access_level_of(uuid, uuid) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION public.has_profile_access_level(uuid, uuid, public.profile_access_level) FROM PUBLIC, anon, authenticated, service_role;
REVOKE ALL ON FUNCTION public.has_profile_access(uuid, uuid) FROM PUBLIC, anon, authenticated, service_role;
-- Policies run as the requesting role, so authenticated must be able to call the checks.
GRANT EXECUTE ON FUNCTION public.has_profile_access_level(uuid, uuid, public.profile_access_level)
  TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.has_profile_access(uuid, uuid) TO authenticated, service_role;

CREATE FUNCTION public.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql SET search_path = ''
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION public.touch_updated_at() FROM PUBLIC, anon, authenticated, service_role;

CREATE TRIGGER user_profiles_touch BEFORE UPDATE ON public.user_profiles
  FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();
CREATE TRIGGER profile_access_permissions_touch BEFORE UPDATE ON public.profile_access_permissions
  FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

-- Privileges: Supabase's default privileges grant ALL on new public tables to anon,
-- authenticated and service_role; start from nothing and grant exactly what is meant.
REVOKE ALL ON public.user_profiles, public.profile_access_permissions FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT ON public.user_profiles TO authenticated;
GRANT UPDATE (profile_type, display_name, date_of_birth, archived, archived_at) ON public.user_profiles TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.profile_access_permissions TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.user_profiles, public.profile_access_permissions TO service_role;

ALTER TABLE public.user_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.profile_access_permissions ENABLE ROW LEVEL SECURITY;

-- user_profiles: the account owner sees their profiles (archived ones too, to restore them);
-- delegates see the profile while their grant is live. Owners create, edit and archive their
-- own profiles; nobody deletes through the API (archive instead).
CREATE POLICY user_profiles_select ON public.user_profiles
  FOR SELECT TO authenticated
  USING (account_owner_id = (SELECT auth.uid())
         OR public.has_profile_access((SELECT auth.uid()), id));
CREATE POLICY user_profiles_insert ON public.user_profiles
  FOR INSERT TO authenticated
  WITH CHECK (account_owner_id = (SELECT auth.uid()));
CREATE POLICY user_profiles_update ON public.user_profiles
  FOR UPDATE TO authenticated
  USING (account_owner_id = (SELECT auth.uid()))
  WITH CHECK (account_owner_id = (SELECT auth.uid()));

-- profile_access_permissions: the owner manages the grants of their live profiles; a
-- delegate sees their own grants (but cannot change them).
CREATE POLICY profile_access_permissions_select ON public.profile_access_permissions
  FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid())
         OR public.has_profile_access_level((SELECT auth.uid()), profile_id, 'owner'));
CREATE POLICY profile_access_permissions_insert ON public.profile_access_permissions
  FOR INSERT TO authenticated
  WITH CHECK (public.has_profile_access_level((SELECT auth.uid()), profile_id, 'owner'));
CREATE POLICY profile_access_permissions_update ON public.profile_access_permissions
  FOR UPDATE TO authenticated
  USING (public.has_profile_access_level((SELECT auth.uid()), profile_id, 'owner'))
  WITH CHECK (public.has_profile_access_level((SELECT auth.uid()), profile_id, 'owner'));
CREATE POLICY profile_access_permissions_delete ON public.profile_access_permissions
  FOR DELETE TO authenticated
  USING (public.has_profile_access_level((SELECT auth.uid()), profile_id, 'owner'));
