-- companion on PostgreSQL, version 8: the journal is a work queue across processes.
--
-- Every process (LiveKit job processes on several machines, `chat`, library users)
-- works the turns it journals and sweeps up abandoned ones. One claimant at a time holds
-- a lease on a user's memory work: it works the user's pending turns in the order they
-- were said, renews the lease while it works and gives it up when done. A lease that ran
-- out (its process was killed, its machine lost) is taken over. The database's clock
-- decides, so machines whose clocks differ agree on who holds a lease.
CREATE TABLE IF NOT EXISTS companion_memory_claims (
    user_id uuid PRIMARY KEY,
    owner text NOT NULL CHECK (char_length(owner) BETWEEN 1 AND 200),
    lease_until timestamptz NOT NULL
);

ALTER TABLE companion_memory_claims ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON companion_memory_claims FROM anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON companion_memory_claims TO service_role, authenticated;
DROP POLICY IF EXISTS companion_memory_claims_own_rows ON companion_memory_claims;
CREATE POLICY companion_memory_claims_own_rows ON companion_memory_claims
    FOR ALL TO authenticated
    USING (user_id = (SELECT auth.uid()))
    WITH CHECK (user_id = (SELECT auth.uid()));

-- Take or renew the lease for p_owner: NULL when another owner's lease still runs,
-- else the user's pending turns, oldest first, as a JSON array. p_take_over names an
-- owner known to be gone (its process died): its lease is taken over at once. Concurrent
-- claims of one user queue on the row's lock and see each other's result: one wins.
CREATE OR REPLACE FUNCTION companion_claim_memory_work(
    p_user_id uuid, p_owner text, p_lease_seconds double precision, p_limit integer,
    p_take_over text DEFAULT NULL
) RETURNS jsonb
LANGUAGE plpgsql SECURITY INVOKER
SET search_path = public, extensions, pg_temp
AS $$
DECLARE
    won boolean;
BEGIN
    IF p_lease_seconds IS NULL OR NOT (p_lease_seconds > 0 AND p_lease_seconds <= 86400) THEN
        RAISE EXCEPTION 'lease seconds must be in (0, 86400]' USING ERRCODE = '22023';
    END IF;
    INSERT INTO companion_memory_claims AS c (user_id, owner, lease_until)
    VALUES (p_user_id, p_owner, clock_timestamp() + make_interval(secs => p_lease_seconds))
    ON CONFLICT (user_id) DO UPDATE
        SET owner = excluded.owner, lease_until = excluded.lease_until
        WHERE c.owner = excluded.owner OR c.lease_until <= clock_timestamp()
              OR c.owner = p_take_over
    RETURNING true INTO won;
    IF won IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'id', t.id, 'user_id', p_user_id, 'session_id', t.session_id, 'role', t.role,
                   'text', t.text, 'created_at', t.created_at) ORDER BY t.seq)
        FROM (SELECT seq, id, session_id, role, text, created_at FROM companion_turns
              WHERE user_id = p_user_id AND processed_at IS NULL AND role = 'user'
                AND parked_at IS NULL
              ORDER BY seq LIMIT greatest(p_limit, 0)) AS t
    ), '[]'::jsonb);
END
$$;

REVOKE ALL ON FUNCTION
    companion_claim_memory_work(uuid, text, double precision, integer, text)
FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION
    companion_claim_memory_work(uuid, text, double precision, integer, text)
TO authenticated, service_role;

-- A batch also gives claims up (a session's end sends one): the writes of version 6,
-- then the releases, in the same statement.
ALTER FUNCTION companion_apply_writes(jsonb) RENAME TO companion_apply_row_writes;

CREATE OR REPLACE FUNCTION companion_apply_writes(p_batch jsonb) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER
SET search_path = public, extensions, pg_temp
AS $$
BEGIN
    PERFORM companion_apply_row_writes(p_batch);
    DELETE FROM companion_memory_claims AS c
    USING jsonb_to_recordset(coalesce(p_batch->'claim_releases', '[]'))
          AS r(user_id uuid, owner text)
    WHERE c.user_id = r.user_id AND c.owner = r.owner;
END
$$;

REVOKE ALL ON FUNCTION companion_apply_writes(jsonb) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION companion_apply_writes(jsonb) TO authenticated, service_role;
