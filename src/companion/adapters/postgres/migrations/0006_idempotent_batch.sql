-- companion on PostgreSQL, version 6: sending a batch again changes nothing.
--
-- The write-behind layer sends a batch again when it cannot know whether the first send
-- landed (the connection dropped, or the caller gave up mid-call). Version 5 refused such
-- a repeat as a whole (its journal entries and inserted memories were already there),
-- which sent every repeat down the write-by-write path. Now a journal entry already
-- stored is kept (and gains a processed mark the repeat carries), and an insert of a
-- memory id already stored does nothing. A key another memory holds still refuses the
-- batch: that is a real conflict, not a repeat.

CREATE OR REPLACE FUNCTION companion_apply_writes(p_batch jsonb) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER
SET search_path = public, extensions, pg_temp
AS $$
BEGIN
    DELETE FROM companion_memories AS m
    USING jsonb_to_recordset(coalesce(p_batch->'memory_deletes', '[]')) AS d(user_id uuid, id uuid)
    WHERE m.id = d.id AND m.user_id = d.user_id;

    -- A vector comes with a new text; without one, the stored vector stays only if the
    -- text is unchanged (m.text is the stored value): an old text's vector must not
    -- describe a new one.
    UPDATE companion_memories AS m SET
        category = u.category, text = u.text, key = u.key, value = u.value,
        importance = u.importance, source = u.source, created_at = u.created_at,
        updated_at = u.updated_at, last_accessed_at = u.last_accessed_at,
        access_count = u.access_count, metadata = u.metadata, thread = u.thread,
        position = u.position, history = u.history, valid_from = u.valid_from,
        embedding = CASE WHEN u.embedding IS NOT NULL THEN u.embedding
                         WHEN m.text = u.text THEN m.embedding END,
        embedding_model = CASE WHEN u.embedding IS NOT NULL THEN u.embedding_model
                               WHEN m.text = u.text THEN m.embedding_model END,
        embedding_dim = CASE WHEN u.embedding IS NOT NULL THEN u.embedding_dim
                             WHEN m.text = u.text THEN m.embedding_dim END
    FROM jsonb_populate_recordset(NULL::companion_memories,
                                  coalesce(p_batch->'memory_updates', '[]')) AS u
    WHERE m.id = u.id AND m.user_id = u.user_id;

    INSERT INTO companion_memories (id, user_id, category, text, key, value, importance,
        source, created_at, updated_at, last_accessed_at, access_count, metadata, thread,
        position, history, valid_from, embedding, embedding_model, embedding_dim)
    SELECT i.id, i.user_id, i.category, i.text, i.key, i.value, i.importance, i.source,
        i.created_at, i.updated_at, i.last_accessed_at, coalesce(i.access_count, 0),
        coalesce(i.metadata, '{}'), i.thread, i.position, coalesce(i.history, '[]'),
        i.valid_from, i.embedding, i.embedding_model, i.embedding_dim
    FROM jsonb_populate_recordset(NULL::companion_memories,
                                  coalesce(p_batch->'memory_inserts', '[]')) AS i
    ON CONFLICT (id) DO NOTHING;

    -- Identity values follow the batch's order, so the journal keeps the turns' order.
    INSERT INTO companion_turns (id, user_id, session_id, role, text, created_at, processed_at)
    SELECT t.id, t.user_id, t.session_id, t.role, t.text, t.created_at, t.processed_at
    FROM jsonb_populate_recordset(NULL::companion_turns, coalesce(p_batch->'turns', '[]'))
         WITH ORDINALITY AS t
    ORDER BY t.ordinality
    ON CONFLICT (id) DO UPDATE
        SET processed_at = coalesce(companion_turns.processed_at, excluded.processed_at);

    UPDATE companion_turns AS c SET processed_at = p.processed_at
    FROM jsonb_to_recordset(coalesce(p_batch->'processed', '[]'))
         AS p(user_id uuid, id uuid, processed_at timestamptz)
    WHERE c.id = p.id AND c.user_id = p.user_id AND c.processed_at IS NULL;

    PERFORM companion_touch_memories(
        (t->>'user_id')::uuid,
        ARRAY(SELECT jsonb_array_elements_text(t->'ids'))::uuid[],
        (t->>'at')::timestamptz)
    FROM jsonb_array_elements(coalesce(p_batch->'touches', '[]')) AS t;

    INSERT INTO companion_profiles (user_id, name, display_name, interests, goals,
        preferences, language, notes, created_at, updated_at, last_seen_at, participants)
    SELECT p.user_id, p.name, p.display_name, coalesce(p.interests, '[]'),
        coalesce(p.goals, '[]'), coalesce(p.preferences, '{}'), p.language, p.notes,
        p.created_at, p.updated_at, p.last_seen_at, coalesce(p.participants, '[]')
    FROM jsonb_populate_recordset(NULL::companion_profiles,
                                  coalesce(p_batch->'profiles', '[]')) AS p
    ON CONFLICT (user_id) DO UPDATE SET name = excluded.name,
        display_name = excluded.display_name, interests = excluded.interests,
        goals = excluded.goals, preferences = excluded.preferences,
        language = excluded.language, notes = excluded.notes,
        created_at = excluded.created_at, updated_at = excluded.updated_at,
        last_seen_at = excluded.last_seen_at, participants = excluded.participants;

    -- A session id belongs to one user: another user's summary of it is not replaced.
    INSERT INTO companion_summaries AS s (id, user_id, session_id, summary, topics,
        open_threads, started_at, ended_at, turn_count, next_greeting)
    SELECT x.id, x.user_id, x.session_id, x.summary, coalesce(x.topics, '[]'),
        coalesce(x.open_threads, '[]'), x.started_at, x.ended_at, x.turn_count,
        x.next_greeting
    FROM jsonb_populate_recordset(NULL::companion_summaries,
                                  coalesce(p_batch->'summaries', '[]')) AS x
    ON CONFLICT (session_id) DO UPDATE SET id = excluded.id, summary = excluded.summary,
        topics = excluded.topics, open_threads = excluded.open_threads,
        started_at = excluded.started_at, ended_at = excluded.ended_at,
        turn_count = excluded.turn_count, next_greeting = excluded.next_greeting
    WHERE s.user_id = excluded.user_id;
END
$$;
