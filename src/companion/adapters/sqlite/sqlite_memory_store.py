"""SqliteMemoryStore: memories in SQLite, FTS5 for lexical and NumPy for dense candidates."""

from __future__ import annotations

import builtins
import contextlib
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, TypeVarTuple
from uuid import UUID

from companion.adapters.sqlite import _memory_queries as queries
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
    neighbour_windows,
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
from companion.domain.validation import validate_memory_query
from companion.ports.memory_store import MemoryStore

# One vector cache per open database, shared by every store on it, so a write through
# any of them invalidates what the others would search.
_INDEXES: weakref.WeakKeyDictionary[SqliteDatabase, VectorIndex] = weakref.WeakKeyDictionary()

_INSERT = (
    "INSERT INTO memories (id, user_id, category, text, key, value, importance, source,"
    " created_at, updated_at, last_accessed_at, access_count, metadata,"
    " thread, position, history, valid_from, embedding, embedding_model, embedding_dim)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_FIELDS = (
    "UPDATE memories SET category = ?, text = ?, key = ?, value = ?, importance = ?,"
    " source = ?, created_at = ?, updated_at = ?, last_accessed_at = ?, access_count = ?,"
    " metadata = ?, thread = ?, position = ?, history = ?, valid_from = ?"
    " WHERE id = ? AND user_id = ?"
)
_UPDATE_ALL = (
    "UPDATE memories SET category = ?, text = ?, key = ?, value = ?, importance = ?,"
    " source = ?, created_at = ?, updated_at = ?, last_accessed_at = ?, access_count = ?,"
    " metadata = ?, thread = ?, position = ?, history = ?, valid_from = ?,"
    " embedding = ?, embedding_model = ?,"
    " embedding_dim = ?"
    " WHERE id = ? AND user_id = ?"
)
T = TypeVar("T")
Ts = TypeVarTuple("Ts")
_NO_VECTOR: tuple[None, None, None] = (None, None, None)


@dataclass(frozen=True, slots=True)
class _Search:
    """One candidates() call, checked and encoded for the worker thread."""

    match: str | None
    dense: tuple[str, Vector] | None
    categories: tuple[str, ...] | None
    limit: int
    neighbours: int
    expand: int


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
        await self._write(user_id, self._add_memory, memory_id, user_id, values, vector)

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
        edit = self._index.edit(conn, user_id)
        conn.execute(_INSERT, (memory_id, user_id, *values, *vector))
        if vector[0] is not None:
            edit.put(memory_id, values[0], vector[1], vector[0])
        edit.apply(conn)

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        """Replace every field of a stored memory; NotFound if this user has no such memory.

        Without a new embedding the stored vector is kept only if the text is unchanged:
        a vector of the old text must not describe the new one.
        """
        self._check_open()
        memory_id, user_id, values = memory_params(memory)
        vector = None if embedding is None else encode_embedding(embedding)
        await self._write(user_id, self._update_memory, memory_id, user_id, values, vector)

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
        edit = self._index.edit(conn, user_id)
        if vector is None and row[0] != values[1]:
            vector = _NO_VECTOR
        if vector is None:
            conn.execute(_UPDATE_FIELDS, (*values, memory_id, user_id))
            edit.recategorize(memory_id, values[0])
        else:
            conn.execute(_UPDATE_ALL, (*values, *vector, memory_id, user_id))
            if vector[0] is None:
                edit.remove(memory_id)
            else:
                edit.put(memory_id, values[0], vector[1], vector[0])
        edit.apply(conn)

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        """One memory of this user, or None."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        mid = id_text(memory_id, what="memory id")
        row = await self._db.run(queries.get_memory, uid, mid)
        return None if row is None else memory_from_row(row, user_id)

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        """The memory of this user filling slot ``key``, or None."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        row = await self._db.run(
            queries.find_memory_by_key, uid, check_text(key, what="memory key")
        )
        return None if row is None else memory_from_row(row, user_id)

    async def keys(self, user_id: UUID) -> dict[str, UUID]:
        """The slot keys of this user's memories, each with its memory's id."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        rows = await self._db.run(queries.memory_keys, uid)
        return {key: UUID(memory_id) for key, memory_id in rows}

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
        rows = await self._db.run(queries.list_memories, uid, wanted, limit, offset)
        return [memory_from_row(row, user_id) for row in rows]

    async def count(self, user_id: UUID) -> int:
        """How many memories this user has."""
        self._check_open()
        return await self._db.run(queries.count_memories, id_text(user_id, what="user id"))

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every memory of this user (their index entries go with them, by trigger)
        and their vector version, in one transaction; the erasure epoch moves, so no
        process's cached vectors of this user are current afterwards."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        try:
            return await self._db.write(_erase_user, uid)
        finally:
            with contextlib.suppress(StoreError):
                await self._db.run(self._forget, uid)

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        """Delete one of this user's memories; True if it existed."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        mid = id_text(memory_id, what="memory id")
        return await self._write(uid, self._delete_memory, uid, mid)

    def _delete_memory(self, conn: sqlite3.Connection, user_id: str, memory_id: str) -> bool:
        edit = self._index.edit(conn, user_id)
        cursor = conn.execute(
            "DELETE FROM memories WHERE id = ? AND user_id = ?", (memory_id, user_id)
        )
        edit.remove(memory_id)
        edit.apply(conn)
        return cursor.rowcount > 0

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        """Up to ``query.limit`` lexical (FTS5, bm25) and dense (cosine) proposals, merged,
        and with ``query.neighbours`` the turns around each of them in its thread.

        ``lexical`` is ``-bm25`` (higher is better) for what the lexical search proposed;
        ``dense`` the dot product of unit vectors for every candidate with a vector.
        EmbeddingModelMismatch if the user's vectors come from another model.
        """
        self._check_open()
        uid = id_text(user_id, what="user id")
        query = validate_memory_query(query)
        search = _Search(
            match=fts_match(query.terms, query.phrases),
            dense=None
            if query.embedding is None
            else (query.embedding.model, query_vector(query.embedding)),
            categories=None
            if query.categories is None
            else tuple(MemoryCategory(c).value for c in query.categories),
            limit=query.limit,
            neighbours=query.neighbours,
            expand=query.expand,
        )
        found = await self._db.run(self._search, uid, search)
        return [
            Candidate(memory=memory_from_row(row, user_id), lexical=lexical, dense=dense)
            for row, lexical, dense in found
        ]

    def _search(
        self, conn: sqlite3.Connection, user_id: str, search: _Search
    ) -> builtins.list[tuple[tuple[Any, ...], float | None, float | None]]:
        categories = search.categories
        dense: dict[str, float] = {}
        if search.dense is not None:
            # Dense first: a model mismatch must surface even when nothing else would.
            model, vector = search.dense
            wanted = None if categories is None else [MemoryCategory(c) for c in categories]
            dense = dict(self._index.search(conn, user_id, model, vector, search.limit, wanted))
        lexical: dict[str, float] = {}
        if search.match is not None and search.limit > 0:  # LIMIT -1 would mean "no limit"
            lexical = queries.lexical(conn, user_id, search.match, categories, search.limit)
        ids = list(dict.fromkeys([*lexical, *dense]))
        if not ids:
            return []
        # A memory deleted between the searches and this read is simply not proposed.
        rows = queries.fetch_memories(conn, user_id, ids)
        if search.neighbours > 0 and search.expand > 0:
            seen = {row[0] for row in rows}
            seeds = {*_best(lexical, search.expand), *_best(dense, search.expand)}
            windows = neighbour_windows((row for row in rows if row[0] in seeds), search.neighbours)
            more = queries.neighbours(conn, user_id, windows, categories)
            rows.extend(row for row in more if row[0] not in seen)
        if search.dense is not None and len(dense) < len(rows):
            model, vector = search.dense
            unscored = [row[0] for row in rows if row[0] not in dense]
            dense.update(self._index.similarities(conn, user_id, model, vector, unscored))
        return [(row, lexical.get(row[0]), dense.get(row[0])) for row in rows]

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        """Record a use of each of these memories of this user (unknown ids are ignored)."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        ids = [id_text(memory_id, what="memory id") for memory_id in memory_ids]
        stamp = to_micros(when, what="when")
        if ids:
            await self._db.write(queries.touch_memories, uid, ids, stamp)

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        """How many of this user's memories each model embedded (None: no vector)."""
        self._check_open()
        rows = await self._db.run(queries.embedding_models, id_text(user_id, what="user id"))
        return {model: int(count) for model, count in rows}

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        """Replace one memory's vector (reindex); NotFound if this user has no such memory."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        mid = id_text(memory_id, what="memory id")
        vector = encode_embedding(embedding)
        await self._write(uid, self._set_embedding, uid, mid, vector)

    def _set_embedding(
        self, conn: sqlite3.Connection, user_id: str, memory_id: str, vector: tuple[Any, ...]
    ) -> None:
        row = conn.execute(
            "SELECT category FROM memories WHERE id = ? AND user_id = ?", (memory_id, user_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"memory {memory_id} not found")
        edit = self._index.edit(conn, user_id)
        conn.execute(
            "UPDATE memories SET embedding = ?, embedding_model = ?, embedding_dim = ?"
            " WHERE id = ? AND user_id = ?",
            (*vector, memory_id, user_id),
        )
        edit.put(memory_id, row[0], vector[1], vector[0])
        edit.apply(conn)

    async def _write(
        self, user_id: str, fn: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts
    ) -> T:
        """Run a write transaction that may edit ``user_id``'s cached vectors.

        The edit is applied just before COMMIT; should the commit itself fail, the cached
        vectors would describe a write that never happened, so they are dropped.
        """
        try:
            return await self._db.write(fn, *args)
        except StoreError:
            with contextlib.suppress(StoreError):
                await self._db.run(self._forget, user_id)
            raise

    def _forget(self, conn: sqlite3.Connection, user_id: str) -> None:
        self._index.invalidate(user_id)

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the database stays open."""
        self._closed = True


def _erase_user(conn: sqlite3.Connection, user_id: str) -> int:
    erased = conn.execute("DELETE FROM memories WHERE user_id = ?", (user_id,)).rowcount
    conn.execute("DELETE FROM memory_vector_versions WHERE user_id = ?", (user_id,))
    conn.execute("UPDATE memory_vector_epoch SET epoch = epoch + 1 WHERE id = 0")
    # A deleted row's words stay in the full-text index's older segments, marked deleted,
    # until segments merge: merge them all now, so none of the user's words is left.
    conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
    return erased


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


def _best(scores: dict[str, float], n: int) -> builtins.list[str]:
    """The ids of the ``n`` highest scores (ties by id, so the choice is stable)."""
    return sorted(scores, key=lambda i: (-scores[i], i))[:n]
