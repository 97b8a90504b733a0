"""SqliteMemoryStore: memories in SQLite, FTS5 for lexical and NumPy for dense candidates."""

from __future__ import annotations

import builtins
import sqlite3
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.adapters.sqlite._codec import (
    check_text,
    encode_embedding,
    id_text,
    query_vector,
    to_micros,
)
from companion.adapters.sqlite._memory_rows import (
    fts_match,
    memory_from_row,
    memory_params,
    placeholders,
)
from companion.adapters.sqlite._vector_index import VectorIndex
from companion.adapters.sqlite.database import SqliteDatabase
from companion.domain.errors import Conflict, InvalidInput, NotFound, StoreError
from companion.domain.models import (
    Candidate,
    Embedding,
    Memory,
    MemoryCategory,
    MemoryQuery,
    Vector,
)
from companion.ports.memory_store import MemoryStore

# One vector cache per open database, shared by every store on it, so a write through
# any of them invalidates what the others would search.
_INDEXES: weakref.WeakKeyDictionary[SqliteDatabase, VectorIndex] = weakref.WeakKeyDictionary()

_INSERT = (
    "INSERT INTO memories (id, user_id, category, text, key, value, importance, source,"
    " created_at, updated_at, last_accessed_at, access_count, metadata,"
    " embedding, embedding_model, embedding_dim)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_FIELDS = (
    "UPDATE memories SET category = ?, text = ?, key = ?, value = ?, importance = ?,"
    " source = ?, created_at = ?, updated_at = ?, last_accessed_at = ?, access_count = ?,"
    " metadata = ? WHERE id = ? AND user_id = ?"
)
_UPDATE_ALL = (
    "UPDATE memories SET category = ?, text = ?, key = ?, value = ?, importance = ?,"
    " source = ?, created_at = ?, updated_at = ?, last_accessed_at = ?, access_count = ?,"
    " metadata = ?, embedding = ?, embedding_model = ?, embedding_dim = ?"
    " WHERE id = ? AND user_id = ?"
)
_SELECT = (
    "SELECT id, user_id, category, text, key, value, importance, source, created_at,"
    " updated_at, last_accessed_at, access_count, metadata FROM memories"
)
# CROSS JOIN pins the FTS table as the outer loop: the planner might otherwise walk every
# memory of the user and probe the index once per row.
_LEXICAL = (
    "SELECT m.id, bm25(memories_fts) AS score"
    " FROM memories_fts CROSS JOIN memories AS m ON m.seq = memories_fts.rowid"
    " WHERE memories_fts MATCH ? AND m.user_id = ?"
)
_NO_VECTOR: tuple[None, None, None] = (None, None, None)


class SqliteMemoryStore(MemoryStore):
    """The MemoryStore of the embedded default: one SQLite file, searched in-process.

    Lexical candidates come from an FTS5 index (porter stemming, diacritics folded),
    dense ones from a cached per-user float32 matrix; both are merged per memory.
    """

    def __init__(self, db: SqliteDatabase) -> None:
        """A store over an open database; it does not own (or close) the database."""
        self._db = db
        self._index = _INDEXES.setdefault(db, VectorIndex())
        self._closed = False

    @property
    def vector_index(self) -> VectorIndex:
        """The in-process vector cache (exposed so tests can observe rebuilds)."""
        return self._index

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory store is closed")

    async def add(self, memory: Memory, embedding: Embedding | None) -> None:
        """Insert a new memory; Conflict if its id exists or its key is taken for the user."""
        self._check_open()
        memory_id, user_id, values = memory_params(memory)
        vector = _NO_VECTOR if embedding is None else encode_embedding(embedding)
        await self._db.write(self._add_memory, memory_id, user_id, values, vector)

    def _add_memory(
        self,
        conn: sqlite3.Connection,
        memory_id: str,
        user_id: str,
        values: tuple[Any, ...],
        vector: tuple[Any, ...],
    ) -> None:
        if conn.execute("SELECT 1 FROM memories WHERE id = ?", (memory_id,)).fetchone():
            raise Conflict(f"memory {memory_id} already exists")
        _check_key_free(conn, user_id, memory_id, values[2])
        conn.execute(_INSERT, (memory_id, user_id, *values, *vector))
        self._index.invalidate(user_id)

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        """Replace every field of a stored memory; NotFound if this user has no such memory.

        Without a new embedding the stored vector is kept only if the text is unchanged:
        a vector of the old text must not describe the new one.
        """
        self._check_open()
        memory_id, user_id, values = memory_params(memory)
        vector = None if embedding is None else encode_embedding(embedding)
        await self._db.write(self._update_memory, memory_id, user_id, values, vector)

    def _update_memory(
        self,
        conn: sqlite3.Connection,
        memory_id: str,
        user_id: str,
        values: tuple[Any, ...],
        vector: tuple[Any, ...] | None,
    ) -> None:
        row = conn.execute(
            "SELECT text FROM memories WHERE id = ? AND user_id = ?", (memory_id, user_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"memory {memory_id} not found")
        _check_key_free(conn, user_id, memory_id, values[2])
        if vector is None and row[0] != values[1]:
            vector = _NO_VECTOR
        if vector is None:
            conn.execute(_UPDATE_FIELDS, (*values, memory_id, user_id))
        else:
            conn.execute(_UPDATE_ALL, (*values, *vector, memory_id, user_id))
        self._index.invalidate(user_id)

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        """One memory of this user, or None."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        mid = id_text(memory_id, what="memory id")
        row = await self._db.run(_get_memory, uid, mid)
        return None if row is None else memory_from_row(row, user_id)

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        """The memory of this user filling slot ``key``, or None."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        row = await self._db.run(_find_memory_by_key, uid, check_text(key, what="memory key"))
        return None if row is None else memory_from_row(row, user_id)

    async def list(
        self,
        user_id: UUID,
        *,
        category: MemoryCategory | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Memory]:
        """This user's memories, newest first (by update time, then id)."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        wanted = None if category is None else MemoryCategory(category).value
        if limit is not None and (_not_int(limit) or limit < 0):
            raise InvalidInput(f"limit must be a non-negative integer or None, got {limit!r}")
        if _not_int(offset) or offset < 0:
            raise InvalidInput(f"offset must be a non-negative integer, got {offset!r}")
        rows = await self._db.run(_list_memories, uid, wanted, limit, offset)
        return [memory_from_row(row, user_id) for row in rows]

    async def count(self, user_id: UUID) -> int:
        """How many memories this user has."""
        self._check_open()
        return await self._db.run(_count_memories, id_text(user_id, what="user id"))

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        """Delete one of this user's memories; True if it existed."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        mid = id_text(memory_id, what="memory id")
        return await self._db.write(self._delete_memory, uid, mid)

    def _delete_memory(self, conn: sqlite3.Connection, user_id: str, memory_id: str) -> bool:
        cursor = conn.execute(
            "DELETE FROM memories WHERE id = ? AND user_id = ?", (memory_id, user_id)
        )
        if cursor.rowcount:
            self._index.invalidate(user_id)
        return cursor.rowcount > 0

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        """Up to ``query.limit`` lexical (FTS5, bm25) and dense (cosine) proposals, merged.

        ``lexical`` is ``-bm25`` (higher is better); ``dense`` the dot product of unit
        vectors. EmbeddingModelMismatch if the user's vectors come from another model.
        """
        self._check_open()
        uid = id_text(user_id, what="user id")
        if not isinstance(query, MemoryQuery):
            raise InvalidInput(f"expected a MemoryQuery, got {type(query).__name__}")
        if _not_int(query.limit):
            raise InvalidInput(f"query limit must be an integer, got {query.limit!r}")
        match = fts_match(query.terms)
        categories = (
            None
            if query.categories is None
            else tuple(MemoryCategory(c).value for c in query.categories)
        )
        dense_query = None
        if query.embedding is not None:
            dense_query = (query.embedding.model, query_vector(query.embedding))
        found = await self._db.run(self._search, uid, match, dense_query, categories, query.limit)
        return [
            Candidate(memory=memory_from_row(row, user_id), lexical=lexical, dense=dense)
            for row, lexical, dense in found
        ]

    def _search(
        self,
        conn: sqlite3.Connection,
        user_id: str,
        match: str | None,
        dense_query: tuple[str, Vector] | None,
        categories: tuple[str, ...] | None,
        limit: int,
    ) -> builtins.list[tuple[tuple[Any, ...], float | None, float | None]]:
        if limit <= 0:
            return []
        dense: dict[str, float] = {}
        if dense_query is not None:
            # Dense first: a model mismatch must surface even when lexical finds nothing.
            model, vector = dense_query
            wanted = None if categories is None else [MemoryCategory(c) for c in categories]
            dense = dict(self._index.search(conn, user_id, model, vector, limit, wanted))
        lexical = {} if match is None else _lexical(conn, user_id, match, categories, limit)
        ids = list(dict.fromkeys([*lexical, *dense]))
        if not ids:
            return []
        rows = conn.execute(
            # Unary + keeps the planner on the id index: the (user_id, updated_at) index
            # would walk every memory of the user to find these few.
            _SELECT + f" WHERE id IN ({placeholders(len(ids))}) AND +user_id = ?",
            (*ids, user_id),
        ).fetchall()
        # A memory deleted between the searches and this read is simply not proposed.
        return [(row, lexical.get(row[0]), dense.get(row[0])) for row in rows]

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        """Record a use of each of these memories of this user (unknown ids are ignored)."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        ids = [id_text(memory_id, what="memory id") for memory_id in memory_ids]
        stamp = to_micros(when, what="when")
        if ids:
            await self._db.write(_touch_memories, uid, ids, stamp)

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        """How many of this user's memories each model embedded (None: no vector)."""
        self._check_open()
        rows = await self._db.run(_embedding_models, id_text(user_id, what="user id"))
        return {model: int(count) for model, count in rows}

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        """Replace one memory's vector (reindex); NotFound if this user has no such memory."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        mid = id_text(memory_id, what="memory id")
        vector = encode_embedding(embedding)
        await self._db.write(self._set_embedding, uid, mid, vector)

    def _set_embedding(
        self, conn: sqlite3.Connection, user_id: str, memory_id: str, vector: tuple[Any, ...]
    ) -> None:
        cursor = conn.execute(
            "UPDATE memories SET embedding = ?, embedding_model = ?, embedding_dim = ?"
            " WHERE id = ? AND user_id = ?",
            (*vector, memory_id, user_id),
        )
        if cursor.rowcount == 0:
            raise NotFound(f"memory {memory_id} not found")
        self._index.invalidate(user_id)

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the database stays open."""
        self._closed = True


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def _check_key_free(conn: sqlite3.Connection, user_id: str, memory_id: str, key: object) -> None:
    if key is None:
        return
    taken = conn.execute(
        "SELECT 1 FROM memories WHERE user_id = ? AND key = ? AND id != ?",
        (user_id, key, memory_id),
    ).fetchone()
    if taken:
        raise Conflict(f"memory key {key!r} is already used by another memory")


def _get_memory(conn: sqlite3.Connection, user_id: str, memory_id: str) -> Any:
    return conn.execute(
        _SELECT + " WHERE id = ? AND user_id = ?",
        (memory_id, user_id),
    ).fetchone()


def _find_memory_by_key(conn: sqlite3.Connection, user_id: str, key: str) -> Any:
    return conn.execute(_SELECT + " WHERE user_id = ? AND key = ?", (user_id, key)).fetchone()


def _list_memories(
    conn: sqlite3.Connection, user_id: str, category: str | None, limit: int | None, offset: int
) -> list[Any]:
    # NULL category means "any": one statement serves both cases.
    return conn.execute(
        _SELECT + " WHERE user_id = ?1 AND (?2 IS NULL OR category = ?2)"
        " ORDER BY updated_at DESC, id DESC LIMIT ?3 OFFSET ?4",
        (user_id, category, -1 if limit is None else limit, offset),
    ).fetchall()


def _count_memories(conn: sqlite3.Connection, user_id: str) -> int:
    return int(
        conn.execute("SELECT count(*) FROM memories WHERE user_id = ?", (user_id,)).fetchone()[0]
    )


def _lexical(
    conn: sqlite3.Connection,
    user_id: str,
    match: str,
    categories: tuple[str, ...] | None,
    limit: int,
) -> dict[str, float]:
    category_filter = ""
    params: tuple[Any, ...] = (match, user_id)
    if categories is not None:
        if not categories:
            return {}
        category_filter = f" AND m.category IN ({placeholders(len(categories))})"
        params = (*params, *categories)
    rows = conn.execute(
        _LEXICAL + category_filter + " ORDER BY score LIMIT ?", (*params, limit)
    ).fetchall()
    return {memory_id: -float(score) for memory_id, score in rows}


def _touch_memories(conn: sqlite3.Connection, user_id: str, ids: list[str], stamp: int) -> None:
    # One statement per id (not IN): an id listed twice counts as two uses.
    conn.executemany(
        "UPDATE memories SET last_accessed_at = ?, access_count = access_count + 1"
        " WHERE id = ? AND user_id = ?",
        [(stamp, memory_id, user_id) for memory_id in ids],
    )


def _embedding_models(conn: sqlite3.Connection, user_id: str) -> list[Any]:
    return conn.execute(
        "SELECT embedding_model, count(*) FROM memories WHERE user_id = ? GROUP BY embedding_model",
        (user_id,),
    ).fetchall()
