-- companion on PostgreSQL, version 2: the tables and their indexes.
--
-- Every row belongs to one user (`user_id`, the Supabase auth user's id). Times are
-- timestamptz (microseconds, exact for Python datetimes). Lists and string maps are
-- jsonb. A memory's vector is a pgvector `vector` of any dimension, stored with the name
-- of the model that made it and its dimension, so vectors of different models are never
-- compared; HNSW indexes cover the two common dimensions (384: MiniLM, 1536: OpenAI's
-- small model) as partial expression indexes; other dimensions are searched exactly.

CREATE TABLE IF NOT EXISTS companion_profiles (
    user_id      uuid        PRIMARY KEY,
    name         text,
    display_name text,
    interests    jsonb       NOT NULL DEFAULT '[]',
    goals        jsonb       NOT NULL DEFAULT '[]',
    preferences  jsonb       NOT NULL DEFAULT '{}',
    language     text,
    notes        text,
    participants jsonb       NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    last_seen_at timestamptz
);

CREATE TABLE IF NOT EXISTS companion_memories (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL,
    category         text        NOT NULL,
    text             text        NOT NULL,
    key              text,
    value            text,
    importance       integer     NOT NULL,
    source           text        NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    last_accessed_at timestamptz,
    access_count     bigint      NOT NULL DEFAULT 0,
    metadata         jsonb       NOT NULL DEFAULT '{}',
    -- where it was said: the conversation (session) and its turn's place in it
    thread           text,
    position         bigint,
    -- earlier values, oldest first: [{"text", "value", "valid_from", "valid_to"}] with
    -- times as integer microseconds since the epoch; valid_from NULL: since created_at
    history          jsonb       NOT NULL DEFAULT '[]',
    valid_from       timestamptz,
    embedding        vector,
    embedding_model  text,
    embedding_dim    integer,
    -- what lexical search matches: the text, the short value and the slot key, stemmed
    search           tsvector GENERATED ALWAYS AS (
        to_tsvector('english'::regconfig,
                    text || ' ' || coalesce(value, '') || ' ' || coalesce(key, ''))
    ) STORED,
    CONSTRAINT companion_memories_vector_model
        CHECK ((embedding IS NULL) = (embedding_model IS NULL)),
    CONSTRAINT companion_memories_vector_dim
        CHECK ((embedding IS NULL) = (embedding_dim IS NULL))
);

CREATE INDEX IF NOT EXISTS companion_memories_user_updated
    ON companion_memories (user_id, updated_at DESC, id DESC);
CREATE UNIQUE INDEX IF NOT EXISTS companion_memories_user_key
    ON companion_memories (user_id, key) WHERE key IS NOT NULL;
CREATE INDEX IF NOT EXISTS companion_memories_user_thread
    ON companion_memories (user_id, thread, position) WHERE thread IS NOT NULL;
CREATE INDEX IF NOT EXISTS companion_memories_user_model
    ON companion_memories (user_id, embedding_model, embedding_dim);
CREATE INDEX IF NOT EXISTS companion_memories_search
    ON companion_memories USING gin (search);
CREATE INDEX IF NOT EXISTS companion_memories_embedding_384
    ON companion_memories USING hnsw ((embedding::vector(384)) vector_ip_ops)
    WHERE embedding_dim = 384;
CREATE INDEX IF NOT EXISTS companion_memories_embedding_1536
    ON companion_memories USING hnsw ((embedding::vector(1536)) vector_ip_ops)
    WHERE embedding_dim = 1536;

-- How many vectors of each (model, dimension) each user has, kept by a trigger: one
-- indexed read tells a search whether the user's vectors match the query's model, and
-- whether there are enough of them for the HNSW index to beat an exact scan.
CREATE TABLE IF NOT EXISTS companion_memory_vector_counts (
    user_id         uuid    NOT NULL,
    embedding_model text    NOT NULL,
    embedding_dim   integer NOT NULL,
    n               bigint  NOT NULL,
    PRIMARY KEY (user_id, embedding_model, embedding_dim)
);

-- The memory journal: a user's turn is written before the reply and marked processed
-- once its memory work is done; unprocessed user turns are found by the partial index.
CREATE TABLE IF NOT EXISTS companion_turns (
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           uuid        NOT NULL UNIQUE,
    user_id      uuid        NOT NULL,
    session_id   uuid        NOT NULL,
    role         text        NOT NULL,
    text         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    processed_at timestamptz
);

CREATE INDEX IF NOT EXISTS companion_turns_session ON companion_turns (user_id, session_id, seq);
CREATE INDEX IF NOT EXISTS companion_turns_user ON companion_turns (user_id, seq);
CREATE INDEX IF NOT EXISTS companion_turns_pending ON companion_turns (seq)
    WHERE processed_at IS NULL AND role = 'user';

CREATE TABLE IF NOT EXISTS companion_summaries (
    id            uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL,
    session_id    uuid        NOT NULL UNIQUE,
    summary       text        NOT NULL,
    topics        jsonb       NOT NULL DEFAULT '[]',
    open_threads  jsonb       NOT NULL DEFAULT '[]',
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz NOT NULL,
    turn_count    integer     NOT NULL,
    next_greeting text
);

CREATE INDEX IF NOT EXISTS companion_summaries_user_ended
    ON companion_summaries (user_id, ended_at DESC, id DESC);
