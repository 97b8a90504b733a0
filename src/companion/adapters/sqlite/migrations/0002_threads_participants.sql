-- companion's embedded schema, version 2: where a memory was said, who takes part.
--
-- `thread` is the conversation (session) a memory came from and `position` its turn's
-- place in it, so retrieval can bring in the turns just before and after a match; both
-- are NULL for memories from anywhere else. ADD COLUMN only edits the table definition:
-- existing rows read the new columns as NULL / their default without being rewritten.

ALTER TABLE memories ADD COLUMN thread TEXT;
ALTER TABLE memories ADD COLUMN position INTEGER;

-- One range scan per (thread, lo, hi) window when expanding candidates to neighbours.
CREATE INDEX memories_user_thread ON memories (user_id, thread, position);

-- The names of the people in this user's conversations, a JSON list of text.
ALTER TABLE profiles ADD COLUMN participants TEXT NOT NULL DEFAULT '[]';
