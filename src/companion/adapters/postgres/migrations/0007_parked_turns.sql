-- companion on PostgreSQL, version 7: poison turns are parked, not fatal.
--
-- A turn whose memory work failed in a way retrying cannot fix (bad data, an
-- embedding-model mismatch, a bug) is set aside with its reason, so other turns, other
-- users and every command go on; `memories retry` and `memories reindex` put it back.
-- Parked turns leave the pending index. Row-level security already covers the columns.
ALTER TABLE companion_turns ADD COLUMN IF NOT EXISTS parked_at timestamptz;
ALTER TABLE companion_turns ADD COLUMN IF NOT EXISTS park_reason text;

DROP INDEX IF EXISTS companion_turns_pending;
CREATE INDEX IF NOT EXISTS companion_turns_pending ON companion_turns (seq)
    WHERE processed_at IS NULL AND role = 'user' AND parked_at IS NULL;
CREATE INDEX IF NOT EXISTS companion_turns_parked ON companion_turns (user_id, seq)
    WHERE parked_at IS NOT NULL AND processed_at IS NULL;
