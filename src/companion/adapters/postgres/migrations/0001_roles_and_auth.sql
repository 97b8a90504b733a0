-- companion on PostgreSQL, version 1: what Supabase provides, made to exist everywhere.
--
-- On Supabase the roles `anon`, `authenticated` and `service_role`, the `auth` schema and
-- `auth.uid()` already exist and are left untouched. On a plain PostgreSQL they are
-- created here, with `auth.uid()` reading the JWT claims exactly as Supabase's does, so
-- the same row-level security policies apply to both. pgvector must be available
-- (`CREATE EXTENSION vector` needs it installed on the server).

-- Where Supabase keeps extensions (schema `extensions`, on its search_path) if it exists,
-- else the default schema; an installed pgvector is left where it is.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'extensions') THEN
            CREATE EXTENSION vector WITH SCHEMA extensions;
        ELSE
            CREATE EXTENSION vector;
        END IF;
    END IF;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS auth;

DO $$
BEGIN
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS uuid
        LANGUAGE sql STABLE
        AS $fn$
            SELECT coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
            )::uuid
        $fn$;
        GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
        GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
    END IF;
END
$$;
