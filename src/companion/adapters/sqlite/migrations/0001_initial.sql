-- companion's embedded schema, version 1.
--
-- Times are INTEGER microseconds since the Unix epoch (UTC): exact round trips, cheap
-- ordering. Ids are canonical lower-case UUID strings. JSON columns hold lists or
-- string-to-string objects. Vectors are float32 little-endian BLOBs with their model
-- name and dimension alongside, so vectors of different models are never compared.

-- `seq` is an explicit INTEGER PRIMARY KEY (a rowid alias) rather than relying on the
-- implicit rowid: VACUUM may renumber implicit rowids, which would silently detach the
-- external-content FTS index below from its rows.
CREATE TABLE memories (
    seq              INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    user_id          TEXT    NOT NULL,
    category         TEXT    NOT NULL,
    text             TEXT    NOT NULL,
    key              TEXT,
    value            TEXT,
    importance       INTEGER NOT NULL,
    source           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_accessed_at INTEGER,
    access_count     INTEGER NOT NULL DEFAULT 0,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    embedding        BLOB,
    embedding_model  TEXT,
    embedding_dim    INTEGER,
    CHECK ((embedding IS NULL) = (embedding_model IS NULL)),
    CHECK ((embedding IS NULL) = (embedding_dim IS NULL))
);

CREATE INDEX memories_user_updated ON memories (user_id, updated_at);
CREATE UNIQUE INDEX memories_user_key ON memories (user_id, key) WHERE key IS NOT NULL;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
    text, value, key,
    content = 'memories',
    content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, text, value, key)
    VALUES (new.seq, new.text, new.value, new.key);
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text, value, key)
    VALUES ('delete', old.seq, old.text, old.value, old.key);
END;

-- Only the indexed columns: touching a memory (access count, last access) must not
-- rewrite its index entries.
CREATE TRIGGER memories_fts_update AFTER UPDATE OF text, value, key ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, text, value, key)
    VALUES ('delete', old.seq, old.text, old.value, old.key);
    INSERT INTO memories_fts (rowid, text, value, key)
    VALUES (new.seq, new.text, new.value, new.key);
END;

-- A per-user counter bumped by every write that changes which vectors a user has (or
-- their categories). Any connection, in any process, can tell from it whether its
-- in-process vector cache for that user is still current, without rebuilding the cache
-- whenever an unrelated row (another user's memory, a conversation turn) changes.
CREATE TABLE memory_vector_versions (
    user_id TEXT    PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER memories_vv_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memory_vector_versions (user_id, version) VALUES (new.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER memories_vv_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memory_vector_versions (user_id, version) VALUES (old.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER memories_vv_update
AFTER UPDATE OF user_id, category, embedding, embedding_model, embedding_dim ON memories
BEGIN
    INSERT INTO memory_vector_versions (user_id, version) VALUES (old.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
    INSERT INTO memory_vector_versions (user_id, version) VALUES (new.user_id, 1)
    ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
END;

CREATE TABLE profiles (
    user_id      TEXT    PRIMARY KEY,
    name         TEXT,
    display_name TEXT,
    interests    TEXT    NOT NULL DEFAULT '[]',
    goals        TEXT    NOT NULL DEFAULT '[]',
    preferences  TEXT    NOT NULL DEFAULT '{}',
    language     TEXT,
    notes        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_seen_at INTEGER
);

CREATE TABLE conversation_turns (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX conversation_turns_session ON conversation_turns (user_id, session_id, seq);
CREATE INDEX conversation_turns_user ON conversation_turns (user_id, seq);

CREATE TABLE conversation_summaries (
    id            TEXT    PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    session_id    TEXT    NOT NULL UNIQUE,
    summary       TEXT    NOT NULL,
    topics        TEXT    NOT NULL DEFAULT '[]',
    open_threads  TEXT    NOT NULL DEFAULT '[]',
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER NOT NULL,
    turn_count    INTEGER NOT NULL,
    next_greeting TEXT
);

CREATE INDEX conversation_summaries_user_ended ON conversation_summaries (user_id, ended_at);
