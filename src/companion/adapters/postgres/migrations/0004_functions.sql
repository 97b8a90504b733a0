-- companion on PostgreSQL, version 4: the vector-count trigger and the RPC functions.
--
-- The RPC functions are SECURITY INVOKER: they run with the caller's rights, so the
-- row-level security of version 3 applies to them as to any query. Errors they raise on
-- purpose carry SQLSTATE 'CM001' (the user's vectors come from another embedding model
-- or dimension than the query's: re-embed them) or '22023' (a bad argument).

-- Keeps companion_memory_vector_counts in step with the memories' vectors. SECURITY
-- DEFINER so users need no write access to the counts; it only ever touches the row's
-- own user.
CREATE OR REPLACE FUNCTION companion_count_vectors() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.embedding_model IS NOT NULL THEN
        UPDATE companion_memory_vector_counts SET n = n - 1
        WHERE user_id = OLD.user_id AND embedding_model = OLD.embedding_model
          AND embedding_dim = OLD.embedding_dim;
        DELETE FROM companion_memory_vector_counts
        WHERE user_id = OLD.user_id AND embedding_model = OLD.embedding_model
          AND embedding_dim = OLD.embedding_dim AND n <= 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.embedding_model IS NOT NULL THEN
        INSERT INTO companion_memory_vector_counts AS c
            (user_id, embedding_model, embedding_dim, n)
        VALUES (NEW.user_id, NEW.embedding_model, NEW.embedding_dim, 1)
        ON CONFLICT (user_id, embedding_model, embedding_dim) DO UPDATE SET n = c.n + 1;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION companion_count_vectors() FROM PUBLIC;

DROP TRIGGER IF EXISTS companion_memories_count_vectors ON companion_memories;
CREATE TRIGGER companion_memories_count_vectors
AFTER INSERT OR DELETE OR UPDATE OF user_id, embedding_model, embedding_dim
ON companion_memories
FOR EACH ROW EXECUTE FUNCTION companion_count_vectors();

-- Retrieval candidates in one call: up to p_limit lexical matches (full-text, stemmed,
-- every term and phrase OR-ed; `lexical` is the sum of ts_rank over the terms and phrases
-- a memory matches), up to p_limit nearest vectors of the query's model (`dense`: the dot
-- product, i.e. cosine for unit vectors, given for every candidate with such a vector),
-- and with p_neighbours > 0 the memories within that many positions of the p_expand best
-- lexical and p_expand best dense candidates in their thread. A user with more than
-- p_exact_up_to vectors of the query's model, at least 2% of the table's rows, is
-- searched through the HNSW index (iterative scan), others exactly. Measured with
-- 100,000 memories, 10,000 of one user: candidates() p95 13 ms through the index, which
-- finds 99.6% of the exact top 50, against 15-18 ms scanning the user's rows.
CREATE OR REPLACE FUNCTION companion_match_memories(
    p_user_id       uuid,
    p_terms         text[]  DEFAULT '{}',
    p_phrases       text[]  DEFAULT '{}',
    p_embedding     vector  DEFAULT NULL,
    p_model         text    DEFAULT NULL,
    p_limit         integer DEFAULT 50,
    p_categories    text[]  DEFAULT NULL,
    p_neighbours    integer DEFAULT 0,
    p_expand        integer DEFAULT 10,
    p_exact_up_to   integer DEFAULT 5000
) RETURNS TABLE (
    id               uuid,
    user_id          uuid,
    category         text,
    text             text,
    key              text,
    value            text,
    importance       integer,
    source           text,
    created_at       timestamptz,
    updated_at       timestamptz,
    last_accessed_at timestamptz,
    access_count     bigint,
    metadata         jsonb,
    thread           text,
    "position"       bigint,
    history          jsonb,
    valid_from       timestamptz,
    lexical          double precision,
    dense            double precision
)
LANGUAGE plpgsql SECURITY INVOKER
SET search_path = public, extensions, pg_temp
-- phraseto_tsquery sends a NOTICE for every stop word ("the", "what"): not to clients.
SET client_min_messages = warning
AS $$
#variable_conflict use_column
DECLARE
    lim        integer := greatest(coalesce(p_limit, 0), 0);
    queries    tsquery[] := '{}';
    any_query  tsquery;
    item       text;
    sub        tsquery;
    dims       integer;
    n_vectors  bigint := 0;
    others     text;
    other_dims text;
    lex_ids    uuid[] := '{}';
    lex_scores float8[] := '{}';
    dense_ids  uuid[] := '{}';
BEGIN
    IF p_user_id IS NULL THEN
        RAISE EXCEPTION 'p_user_id is required' USING ERRCODE = '22023';
    END IF;
    IF coalesce(p_neighbours, 0) < 0 OR coalesce(p_expand, 0) < 0 THEN
        RAISE EXCEPTION 'p_neighbours and p_expand must not be negative' USING ERRCODE = '22023';
    END IF;
    IF p_embedding IS NOT NULL THEN
        IF p_model IS NULL OR p_model = '' THEN
            RAISE EXCEPTION 'p_model is required with p_embedding' USING ERRCODE = '22023';
        END IF;
        dims := vector_dims(p_embedding);
        -- Checked first: a model mismatch must surface even when nothing else would.
        SELECT coalesce(sum(c.n) FILTER (WHERE c.embedding_model = p_model
                                             AND c.embedding_dim = dims), 0),
               string_agg(DISTINCT quote_literal(c.embedding_model), ', ')
                   FILTER (WHERE c.embedding_model <> p_model),
               string_agg(DISTINCT c.embedding_dim::text, ', ')
                   FILTER (WHERE c.embedding_model = p_model AND c.embedding_dim <> dims)
        INTO n_vectors, others, other_dims
        FROM companion_memory_vector_counts AS c
        WHERE c.user_id = p_user_id AND c.n > 0;
        IF others IS NOT NULL THEN
            RAISE EXCEPTION 'this user''s memories were embedded with % but the query with %',
                others, quote_literal(p_model) USING ERRCODE = 'CM001';
        END IF;
        IF other_dims IS NOT NULL THEN
            RAISE EXCEPTION 'stored vectors of % have % dimensions but the query has %',
                quote_literal(p_model), other_dims, dims USING ERRCODE = 'CM001';
        END IF;
    END IF;

    FOREACH item IN ARRAY coalesce(p_terms, '{}') || coalesce(p_phrases, '{}') LOOP
        sub := phraseto_tsquery('english', item);
        IF numnode(sub) > 0 AND NOT sub = ANY(queries) THEN
            queries := queries || sub;
            any_query := CASE WHEN any_query IS NULL THEN sub ELSE any_query || sub END;
        END IF;
    END LOOP;

    IF any_query IS NOT NULL AND lim > 0 THEN
        SELECT coalesce(array_agg(r.id ORDER BY r.score DESC, r.id), '{}'),
               coalesce(array_agg(r.score ORDER BY r.score DESC, r.id), '{}')
        INTO lex_ids, lex_scores
        FROM (
            SELECT m.id,
                   (SELECT sum(ts_rank(m.search, s, 1)) FROM unnest(queries) AS s
                    WHERE m.search @@ s)::float8 AS score
            FROM companion_memories AS m
            WHERE m.user_id = p_user_id AND m.search @@ any_query
              AND (p_categories IS NULL OR m.category = ANY (p_categories))
            ORDER BY score DESC, m.id
            LIMIT lim
        ) AS r;
    END IF;

    IF n_vectors > 0 AND lim > 0 THEN
        -- The index pays when the user has many vectors and they are not a sliver of the
        -- table: an iterative scan visits about ef_search / share rows to find this
        -- user's, and stops at hnsw.max_scan_tuples (20,000) whether it found them or not.
        -- reltuples is the planner's estimate (-1 before the first ANALYZE).
        IF n_vectors > coalesce(p_exact_up_to, 0) AND dims IN (384, 1536)
           AND n_vectors * 50 >= (SELECT c.reltuples FROM pg_class AS c
                                  WHERE c.oid = 'companion_memories'::regclass) THEN
            -- Iterative scans keep walking the graph until enough of this user's rows
            -- (and categories) are found, instead of filtering one ef_search batch.
            -- (pgvector 0.8+; older versions filter one ef_search batch.)
            IF current_setting('hnsw.iterative_scan', true) IS NOT NULL THEN
                PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
            END IF;
            PERFORM set_config('hnsw.ef_search', least(greatest(lim * 2, 40), 1000)::text, true);
            EXECUTE format(
                'SELECT coalesce(array_agg(t.id ORDER BY t.d, t.id), ''{}'') FROM ('
                ' SELECT m.id, (m.embedding::vector(%1$s)) <#> $1::vector(%1$s) AS d'
                ' FROM companion_memories AS m'
                ' WHERE m.embedding_dim = %1$s AND m.user_id = $2 AND m.embedding_model = $3'
                ' AND ($4::text[] IS NULL OR m.category = ANY ($4))'
                ' ORDER BY (m.embedding::vector(%1$s)) <#> $1::vector(%1$s) LIMIT $5) AS t',
                dims)
            INTO dense_ids
            USING p_embedding, p_user_id, p_model, p_categories, lim;
        ELSE
            SELECT coalesce(array_agg(t.id ORDER BY t.d, t.id), '{}') INTO dense_ids
            FROM (
                SELECT m.id, m.embedding <#> p_embedding AS d
                FROM companion_memories AS m
                WHERE m.user_id = p_user_id AND m.embedding_model = p_model
                  AND m.embedding_dim = dims
                  AND (p_categories IS NULL OR m.category = ANY (p_categories))
                ORDER BY d, m.id
                LIMIT lim
            ) AS t;
        END IF;
    END IF;

    RETURN QUERY
    WITH proposed AS (
        SELECT u.id, min(u.ord) AS ord
        FROM unnest(lex_ids || dense_ids) WITH ORDINALITY AS u(id, ord)
        GROUP BY u.id
    ), seeds AS (
        SELECT DISTINCT s.thread, s.position
        FROM companion_memories AS s
        WHERE coalesce(p_neighbours, 0) > 0
          AND s.id = ANY (lex_ids[1:coalesce(p_expand, 0)] || dense_ids[1:coalesce(p_expand, 0)])
          AND s.user_id = p_user_id AND s.thread IS NOT NULL AND s.position IS NOT NULL
    ), around AS (
        SELECT DISTINCT n.id
        FROM seeds AS s
        JOIN companion_memories AS n
          ON n.user_id = p_user_id AND n.thread = s.thread
         AND n.position BETWEEN greatest(s.position::numeric - p_neighbours,
                                         -9223372036854775808)::bigint
                            AND least(s.position::numeric + p_neighbours,
                                      9223372036854775807)::bigint
        WHERE p_categories IS NULL OR n.category = ANY (p_categories)
    ), wanted AS (
        SELECT w.id, min(w.ord) AS ord
        FROM (SELECT p.id, p.ord FROM proposed AS p
              UNION ALL
              SELECT a.id, 9223372036854775807 FROM around AS a) AS w
        GROUP BY w.id
    )
    SELECT m.id, m.user_id, m.category, m.text, m.key, m.value, m.importance, m.source,
           m.created_at, m.updated_at, m.last_accessed_at, m.access_count, m.metadata,
           m.thread, m.position, m.history, m.valid_from,
           l.score,
           CASE WHEN p_embedding IS NOT NULL AND m.embedding_model = p_model
                     AND m.embedding_dim = dims
                THEN -(m.embedding <#> p_embedding)::float8 END
    FROM wanted AS w
    JOIN companion_memories AS m ON m.id = w.id AND m.user_id = p_user_id
    LEFT JOIN unnest(lex_ids, lex_scores) AS l(id, score) ON l.id = m.id
    ORDER BY w.ord, m.id;
END
$$;

-- Records one use of each listed memory of this user (an id listed twice: two uses).
CREATE OR REPLACE FUNCTION companion_touch_memories(
    p_user_id uuid, p_ids uuid[], p_when timestamptz
) RETURNS void
LANGUAGE sql SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
    UPDATE companion_memories AS m
    SET last_accessed_at = p_when, access_count = m.access_count + u.uses
    FROM (SELECT t.id, count(*) AS uses FROM unnest(p_ids) AS t(id) GROUP BY t.id) AS u
    WHERE m.id = u.id AND m.user_id = p_user_id
$$;

-- How many of this user's memories each embedding model embedded (NULL: no vector).
CREATE OR REPLACE FUNCTION companion_embedding_models(p_user_id uuid)
RETURNS TABLE (embedding_model text, n bigint)
LANGUAGE sql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
    SELECT m.embedding_model, count(*) FROM companion_memories AS m
    WHERE m.user_id = p_user_id GROUP BY m.embedding_model
$$;

REVOKE ALL ON FUNCTION
    companion_match_memories(uuid, text[], text[], vector, text, integer, text[], integer,
                             integer, integer),
    companion_touch_memories(uuid, uuid[], timestamptz),
    companion_embedding_models(uuid)
FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION
    companion_match_memories(uuid, text[], text[], vector, text, integer, text[], integer,
                             integer, integer),
    companion_touch_memories(uuid, uuid[], timestamptz),
    companion_embedding_models(uuid)
TO authenticated, service_role;
