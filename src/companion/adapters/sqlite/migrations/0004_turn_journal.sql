-- The memory journal: a user's turn is written before the reply, and marked processed once
-- the memory work for it has been done. Turns left unprocessed (a crash, a kill -9, a
-- store outage) are found by this index when the next process starts.
ALTER TABLE conversation_turns ADD COLUMN processed_at INTEGER;
CREATE INDEX conversation_turns_pending ON conversation_turns (seq)
    WHERE processed_at IS NULL AND role = 'user';
