-- Supabase Storage: the private `medical-docs` bucket and who may touch which objects (issue 3).
--
-- On Supabase the `storage` schema exists and is left as it is. On plain PostgreSQL the
-- compatibility block below creates the subset of Supabase's storage schema these policies
-- need (storage.buckets, storage.objects, storage.foldername) with the same names, columns,
-- privileges and row level security, so the policies are tested exactly as they run on Supabase.

DO $compat$
BEGIN
  IF to_regnamespace('storage') IS NULL THEN
    CREATE SCHEMA storage;

    CREATE TABLE storage.buckets (
      id                 text PRIMARY KEY,
      name               text NOT NULL,
      owner              uuid,
      created_at         timestamptz DEFAULT now(),
      updated_at         timestamptz DEFAULT now(),
      public             boolean DEFAULT false,
      file_size_limit    bigint,
      allowed_mime_types text[]
    );
    CREATE UNIQUE INDEX bname ON storage.buckets (name);

    CREATE TABLE storage.objects (
      id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      bucket_id        text REFERENCES storage.buckets (id),
      name             text,
      owner            uuid,
      created_at       timestamptz DEFAULT now(),
      updated_at       timestamptz DEFAULT now(),
      last_accessed_at timestamptz DEFAULT now(),
      metadata         jsonb,
      path_tokens      text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED
    );
    CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
    CREATE INDEX name_prefix_search ON storage.objects (name text_pattern_ops);

    -- Supabase's definition: the folder segments of an object name (all but the last).
    CREATE FUNCTION storage.foldername(name text) RETURNS text[]
    LANGUAGE plpgsql
    AS $fn$
    DECLARE
      _parts text[];
    BEGIN
      SELECT string_to_array(name, '/') INTO _parts;
      RETURN _parts[1:array_length(_parts, 1) - 1];
    END
    $fn$;

    GRANT USAGE ON SCHEMA storage TO anon, authenticated, service_role;
    GRANT ALL ON storage.buckets, storage.objects TO anon, authenticated, service_role;
    GRANT EXECUTE ON FUNCTION storage.foldername(text) TO anon, authenticated, service_role;
    ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
    ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
  END IF;
END
$compat$;

-- The documents bucket is private: objects are reachable only through the policies below
-- (or the service key). An existing public bucket of that name is made private.
INSERT INTO storage.buckets (id, name, public)
VALUES ('medical-docs', 'medical-docs', false)
ON CONFLICT (id) DO UPDATE SET public = false;

-- The patient a storage object belongs to: its first folder, `<patient_id>/...`.
-- NULL for names without a folder or whose first folder is not a UUID.
CREATE FUNCTION public.storage_object_patient_id(p_name text) RETURNS uuid
LANGUAGE sql IMMUTABLE SET search_path = ''
AS $$
  SELECT CASE
           WHEN f ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN f::uuid
         END
    FROM (SELECT (storage.foldername(p_name))[1] AS f) s
$$;
REVOKE ALL ON FUNCTION public.storage_object_patient_id(text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.storage_object_patient_id(text) TO authenticated, service_role;

-- One policy per command for authenticated, all scoped to the medical-docs bucket:
-- read needs read_only, upload/overwrite needs read_write, delete needs full_access.
-- The emergency level reaches no files.
CREATE POLICY queuepilot_medical_docs_select ON storage.objects
  FOR SELECT TO authenticated
  USING (bucket_id = 'medical-docs'
         AND public.has_profile_access_level((SELECT auth.uid()),
               public.storage_object_patient_id(name), 'read_only'));
CREATE POLICY queuepilot_medical_docs_insert ON storage.objects
  FOR INSERT TO authenticated
  WITH CHECK (bucket_id = 'medical-docs'
              AND public.has_profile_access_level((SELECT auth.uid()),
                    public.storage_object_patient_id(name), 'read_write'));
CREATE POLICY queuepilot_medical_docs_update ON storage.objects
  FOR UPDATE TO authenticated
  USING (bucket_id = 'medical-docs'
         AND public.has_profile_access_level((SELECT auth.uid()),
               public.storage_object_patient_id(name), 'read_write'))
  WITH CHECK (bucket_id = 'medical-docs'
              AND public.has_profile_access_level((SELECT auth.uid()),
                    public.storage_object_patient_id(name), 'read_write'));
CREATE POLICY queuepilot_medical_docs_delete ON storage.objects
  FOR DELETE TO authenticated
  USING (bucket_id = 'medical-docs'
         AND public.has_profile_access_level((SELECT auth.uid()),
               public.storage_object_patient_id(name), 'full_access'));
