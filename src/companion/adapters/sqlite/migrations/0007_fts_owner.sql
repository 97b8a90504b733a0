-- The full-text index learns whose each memory is. Before, a search matched the words in
-- every user's memories and then dropped the other users' rows one by one, so one user's
-- search cost grew with everyone's memories (and a common word cost a lookup of each
-- memory holding it). Now each row also indexes an `owner` token, 'u' and the user id's
-- 32 hex digits, and a search is `owner : "u…" AND (its words)`: FTS5 walks only that
-- user's postings, and ranks them itself, with no join. The token's own column has weight
-- 0 in bm25, so it adds nothing to a score.
--
-- The index's content is a view, so that the owner token is derived, never stored twice.
DROP TRIGGER memories_fts_insert;
DROP TRIGGER memories_fts_delete;
DROP TRIGGER memories_fts_update;
DROP TABLE memories_fts;

CREATE VIEW memories_fts_content AS
    SELECT seq, text, value, key, 'u' || replace(user_id, '-', '') AS owner FROM memories;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    text, value, key, owner,
    content = 'memories_fts_content',
    content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, text, value, key, owner)
    VALUES (new.seq, new.text, new.value, new.key, 'u' || replace(new.user_id, '-', ''));
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text, value, key, owner)
    VALUES ('delete', old.seq, old.text, old.value, old.key,
            'u' || replace(old.user_id, '-', ''));
END;

-- Only the indexed columns: touching a memory (access count, last access) must not
-- rewrite its index entries.
CREATE TRIGGER memories_fts_update AFTER UPDATE OF text, value, key, user_id ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text, value, key, owner)
    VALUES ('delete', old.seq, old.text, old.value, old.key,
            'u' || replace(old.user_id, '-', ''));
    INSERT INTO memories_fts (rowid, text, value, key, owner)
    VALUES (new.seq, new.text, new.value, new.key, 'u' || replace(new.user_id, '-', ''));
END;

INSERT INTO memories_fts (memories_fts) VALUES ('rebuild');
