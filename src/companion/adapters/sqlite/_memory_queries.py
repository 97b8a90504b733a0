"""SqliteMemoryStore's statements that leave vectors alone (run on the worker thread)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from typing import Any

from companion.adapters.sqlite._memory_rows import placeholders

# Columns in the order memory_from_row reads them (NEIGHBOURS below lists them too).
SELECT_MEMORIES = (
    "SELECT id, user_id, category, text, key, value, importance, source, created_at,"
    " updated_at, last_accessed_at, access_count, metadata, thread, position, history,"
    " valid_from FROM memories"
)
# Every row of the full-text index carries its owner's token (migration 0007), so a search
# is `owner : "u…" AND (its words)`: FTS5 walks only this user's postings and ranks them
# itself (the owner column has weight 0), and only the best `limit` are joined to their
# rows. The user_id test after the join is a second guard: a row of another user can
# never be proposed, whatever the tokenizer made of the owner token.
LEXICAL = (
    "SELECT m.id, f.score FROM ("
    " SELECT rowid AS seq, bm25(memories_fts, 1.0, 1.0, 1.0, 0.0) AS score FROM memories_fts"
    " WHERE memories_fts MATCH ? ORDER BY score LIMIT ?"
    ") AS f JOIN memories AS m ON m.seq = f.seq WHERE m.user_id = ? ORDER BY f.score"
)
# With a category filter the rows must be read to test it, so the join comes first (the
# owner token still keeps the walk to this user's matches). CROSS JOIN pins the index as
# the outer loop.
LEXICAL_IN_CATEGORIES = (
    "SELECT m.id, bm25(memories_fts, 1.0, 1.0, 1.0, 0.0) AS score"
    " FROM memories_fts CROSS JOIN memories AS m ON m.seq = memories_fts.rowid"
    " WHERE memories_fts MATCH ? AND m.user_id = ?"
)


def owner_match(user_id: str, match: str) -> str:
    """The MATCH expression for ``match`` (an :func:`fts_match` string) in this user's
    memories only: their owner token AND the words, in the columns that hold words."""
    owner = "u" + user_id.replace("-", "")
    return f'owner : "{owner}" AND {{text value key}} : ({match})'


# The windows arrive as one JSON list of [thread, lo, hi], so the statement text (and its
# cached plan) is the same whatever their number; CROSS JOIN keeps the few windows as the
# outer loop, each one range scan of the (user_id, thread, position) index.
NEIGHBOURS = (
    "SELECT m.id, m.user_id, m.category, m.text, m.key, m.value, m.importance, m.source,"
    " m.created_at, m.updated_at, m.last_accessed_at, m.access_count, m.metadata,"
    " m.thread, m.position, m.history, m.valid_from"
    " FROM json_each(?1) AS w CROSS JOIN memories AS m"
    " WHERE m.user_id = ?2 AND m.thread = w.value ->> 0"
    " AND m.position BETWEEN w.value ->> 1 AND w.value ->> 2"
    " AND (?3 IS NULL OR m.category IN (SELECT value FROM json_each(?3)))"
)


def get_memory(conn: sqlite3.Connection, user_id: str, memory_id: str) -> Any:
    """The row of one memory of this user, or None."""
    return conn.execute(
        SELECT_MEMORIES + " WHERE id = ? AND user_id = ?",
        (memory_id, user_id),
    ).fetchone()


def find_memory_by_key(conn: sqlite3.Connection, user_id: str, key: str) -> Any:
    """The row of the memory of this user filling slot ``key``, or None."""
    return conn.execute(
        SELECT_MEMORIES + " WHERE user_id = ? AND key = ?", (user_id, key)
    ).fetchone()


def memory_keys(conn: sqlite3.Connection, user_id: str) -> list[tuple[str, str]]:
    """(key, id) of each of this user's memories that fills a slot."""
    return conn.execute(
        "SELECT key, id FROM memories WHERE user_id = ? AND key IS NOT NULL", (user_id,)
    ).fetchall()


def list_memories(
    conn: sqlite3.Connection, user_id: str, category: str | None, limit: int | None, offset: int
) -> list[Any]:
    """This user's rows, newest first; a NULL category matches any."""
    return conn.execute(
        SELECT_MEMORIES + " WHERE user_id = ?1 AND (?2 IS NULL OR category = ?2)"
        " ORDER BY updated_at DESC, id DESC LIMIT ?3 OFFSET ?4",
        (user_id, category, -1 if limit is None else limit, offset),
    ).fetchall()


def count_memories(conn: sqlite3.Connection, user_id: str) -> int:
    """How many memories this user has."""
    return int(
        conn.execute("SELECT count(*) FROM memories WHERE user_id = ?", (user_id,)).fetchone()[0]
    )


def lexical(
    conn: sqlite3.Connection,
    user_id: str,
    match: str,
    categories: tuple[str, ...] | None,
    limit: int,
) -> dict[str, float]:
    """Memory id -> ``-bm25`` for the ``limit`` best FTS matches of this user."""
    expression = owner_match(user_id, match)
    if categories is None:
        rows = conn.execute(LEXICAL, (expression, limit, user_id)).fetchall()
    elif not categories:
        return {}
    else:
        rows = conn.execute(
            LEXICAL_IN_CATEGORIES
            + f" AND m.category IN ({placeholders(len(categories))}) ORDER BY score LIMIT ?",
            (expression, user_id, *categories, limit),
        ).fetchall()
    return {memory_id: -float(score) for memory_id, score in rows}


def touch_memories(conn: sqlite3.Connection, user_id: str, ids: list[str], stamp: int) -> None:
    """Record one use of each id (of this user; others are ignored)."""
    # One statement per id (not IN): an id listed twice counts as two uses.
    conn.executemany(
        "UPDATE memories SET last_accessed_at = ?, access_count = access_count + 1"
        " WHERE id = ? AND user_id = ?",
        [(stamp, memory_id, user_id) for memory_id in ids],
    )


def fetch_memories(conn: sqlite3.Connection, user_id: str, ids: list[str]) -> list[Any]:
    """The rows of these memories of this user, in one statement."""
    return conn.execute(
        # Unary + keeps the planner on the id index: the (user_id, updated_at) index would
        # walk every memory of the user to find these few.
        SELECT_MEMORIES + f" WHERE id IN ({placeholders(len(ids))}) AND +user_id = ?",
        (*ids, user_id),
    ).fetchall()


def neighbours(
    conn: sqlite3.Connection,
    user_id: str,
    windows: list[tuple[str, int, int]],
    categories: Collection[str] | None,
) -> list[Any]:
    """The rows of this user whose (thread, position) falls in one of the windows.

    ``windows`` are (thread, lo, hi) with inclusive bounds; they should not overlap, or a
    row inside two of them comes back twice.
    """
    if not windows or (categories is not None and not categories):
        return []
    wanted = None if categories is None else json.dumps(list(categories))
    return conn.execute(NEIGHBOURS, (json.dumps(windows), user_id, wanted)).fetchall()


def embedding_models(conn: sqlite3.Connection, user_id: str) -> list[Any]:
    """(model or None, count) pairs for this user's memories."""
    return conn.execute(
        "SELECT embedding_model, count(*) FROM memories WHERE user_id = ? GROUP BY embedding_model",
        (user_id,),
    ).fetchall()
