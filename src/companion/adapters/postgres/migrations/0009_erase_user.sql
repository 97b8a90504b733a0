-- companion on PostgreSQL, version 9: erasing a user.
--
-- Each function deletes, in one transaction, every row one store holds of a user and
-- returns how many there were. SECURITY INVOKER: row-level security applies, so an
-- authenticated user can erase only themselves; the service role erases anyone.
-- companion_memory_vector_counts follows the memories by its trigger (version 4), which
-- deletes a count that falls to zero.
CREATE OR REPLACE FUNCTION companion_erase_memories(p_user_id uuid) RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
    erased bigint;
BEGIN
    DELETE FROM companion_memories WHERE user_id = p_user_id;
    GET DIAGNOSTICS erased = ROW_COUNT;
    RETURN erased;
END
$$;

-- The journal (parked turns included), the summaries and the memory-work lease.
CREATE OR REPLACE FUNCTION companion_erase_conversations(p_user_id uuid) RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
DECLARE
    turns bigint;
    summaries bigint;
    claims bigint;
BEGIN
    DELETE FROM companion_turns WHERE user_id = p_user_id;
    GET DIAGNOSTICS turns = ROW_COUNT;
    DELETE FROM companion_summaries WHERE user_id = p_user_id;
    GET DIAGNOSTICS summaries = ROW_COUNT;
    DELETE FROM companion_memory_claims WHERE user_id = p_user_id;
    GET DIAGNOSTICS claims = ROW_COUNT;
    RETURN turns + summaries + claims;
END
$$;

REVOKE ALL ON FUNCTION companion_erase_memories(uuid), companion_erase_conversations(uuid)
FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION companion_erase_memories(uuid), companion_erase_conversations(uuid)
TO authenticated, service_role;
