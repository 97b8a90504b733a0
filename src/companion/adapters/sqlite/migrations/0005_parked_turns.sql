-- Poison turns are parked, not fatal: a turn whose memory work failed in a way retrying
-- cannot fix (bad data, an embedding-model mismatch, a bug) is set aside with its reason,
-- so other turns, other users and every command go on; `memories retry` and `memories
-- reindex` put it back. Parked turns leave the pending index.
ALTER TABLE conversation_turns ADD COLUMN parked_at INTEGER;
ALTER TABLE conversation_turns ADD COLUMN park_reason TEXT;
DROP INDEX conversation_turns_pending;
CREATE INDEX conversation_turns_pending ON conversation_turns (seq)
    WHERE processed_at IS NULL AND role = 'user' AND parked_at IS NULL;
CREATE INDEX conversation_turns_parked ON conversation_turns (user_id, seq)
    WHERE parked_at IS NOT NULL AND processed_at IS NULL;
