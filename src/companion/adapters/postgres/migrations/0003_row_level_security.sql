-- companion on PostgreSQL, version 3: each user reads and writes only their own rows.
--
-- Policies are for the `authenticated` role, keyed on `auth.uid()` (the `sub` claim of
-- the caller's JWT). `service_role` bypasses row-level security (BYPASSRLS, as on
-- Supabase), and so does the tables' owner, which is how the server-side adapter
-- connecting with a direct connection string sees every user. `anon` gets nothing.

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['companion_profiles', 'companion_memories', 'companion_turns',
                             'companion_summaries', 'companion_memory_vector_counts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('REVOKE ALL ON %I FROM anon', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO service_role', t);
        EXECUTE format('DROP POLICY IF EXISTS %I ON %I', t || '_own_rows', t);
    END LOOP;
END
$$;

GRANT USAGE ON SCHEMA public TO authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    companion_profiles, companion_memories, companion_turns, companion_summaries
    TO authenticated;
-- The vector counts are written by a trigger only (see version 4); users may read theirs.
GRANT SELECT ON companion_memory_vector_counts TO authenticated;
GRANT USAGE, SELECT ON SEQUENCE companion_turns_seq_seq TO authenticated, service_role;

CREATE POLICY companion_profiles_own_rows ON companion_profiles
    FOR ALL TO authenticated
    USING (user_id = (SELECT auth.uid()))
    WITH CHECK (user_id = (SELECT auth.uid()));

CREATE POLICY companion_memories_own_rows ON companion_memories
    FOR ALL TO authenticated
    USING (user_id = (SELECT auth.uid()))
    WITH CHECK (user_id = (SELECT auth.uid()));

CREATE POLICY companion_turns_own_rows ON companion_turns
    FOR ALL TO authenticated
    USING (user_id = (SELECT auth.uid()))
    WITH CHECK (user_id = (SELECT auth.uid()));

CREATE POLICY companion_summaries_own_rows ON companion_summaries
    FOR ALL TO authenticated
    USING (user_id = (SELECT auth.uid()))
    WITH CHECK (user_id = (SELECT auth.uid()));

CREATE POLICY companion_memory_vector_counts_own_rows ON companion_memory_vector_counts
    FOR SELECT TO authenticated
    USING (user_id = (SELECT auth.uid()));
