-- companion's embedded schema, version 3: what a memory held before, and since when.
--
-- `history` is a JSON list of the memory's earlier values, oldest first, each
-- {"text", "value", "valid_from", "valid_to"} with times in integer microseconds since
-- the epoch like every other time column; `valid_from` is when the current value became
-- true (NULL: since created_at). Existing rows read '[]' and NULL without being rewritten.

ALTER TABLE memories ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
ALTER TABLE memories ADD COLUMN valid_from INTEGER;
