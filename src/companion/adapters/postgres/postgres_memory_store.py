"""PostgresMemoryStore: memories in PostgreSQL, full-text and pgvector candidates in one call."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.adapters.postgres._codec import check_embedding, check_id, check_int
from companion.adapters.postgres._memory_rows import (
    SELECT,
    memory_from_row,
    memory_params,
    search_texts,
)
from companion.adapters.postgres.database import PostgresDatabase
from companion.domain.errors import Conflict, InvalidInput, NotFound, StoreError
from companion.domain.models import Candidate, Embedding, Memory, MemoryCategory, MemoryQuery
from companion.domain.validation import require_aware
from companion.ports.memory_store import MemoryStore

_INSERT = (
    "INSERT INTO companion_memories (id, user_id, category, text, key, value, importance,"
    " source, created_at, updated_at, last_accessed_at, access_count, metadata, thread,"
    " position, history, valid_from, embedding, embedding_model, embedding_dim)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15,"
    " $16::jsonb, $17, $18::vector, $19, $20)"
)
# $18 is the new vector or NULL; without one the stored vector stays only if the text
# is unchanged (`text` on the right-hand side is the stored value): a vector of the old
# text must not describe the new one.
_UPDATE = (
    "UPDATE companion_memories SET category = $3, text = $4, key = $5, value = $6,"
    " importance = $7, source = $8, created_at = $9, updated_at = $10,"
    " last_accessed_at = $11, access_count = $12, metadata = $13::jsonb, thread = $14,"
    " position = $15, history = $16::jsonb, valid_from = $17,"
    " embedding = CASE WHEN $18::vector IS NOT NULL THEN $18::vector"
    "   WHEN text = $4 THEN embedding END,"
    " embedding_model = CASE WHEN $18::vector IS NOT NULL THEN $19::text"
    "   WHEN text = $4 THEN embedding_model END,"
    " embedding_dim = CASE WHEN $18::vector IS NOT NULL THEN $20::integer"
    "   WHEN text = $4 THEN embedding_dim END"
    " WHERE id = $1 AND user_id = $2"
)
_LIST = (
    SELECT + " WHERE user_id = $1 AND ($2::text IS NULL OR category = $2)"
    " ORDER BY updated_at DESC, id DESC LIMIT $3 OFFSET $4"
)
_MATCH = (
    "SELECT * FROM companion_match_memories($1, $2::text[], $3::text[], $4::vector, $5,"
    " $6, $7::text[], $8, $9, $10)"
)
_NO_VECTOR: tuple[None, None, None] = (None, None, None)
_KEY_TAKEN = "companion_memories_user_key"


class PostgresMemoryStore(MemoryStore):
    """The MemoryStore on PostgreSQL with pgvector (self-hosted or Supabase).

    Lexical candidates come from the generated ``tsvector`` (English stemming) and its
    GIN index, dense ones from pgvector (exact up to ``exact_search_up_to`` vectors of
    the user, through the HNSW index beyond, when the user holds at least 2% of the
    table); ``candidates`` is one call of
    ``companion_match_memories``. Every method is one statement, one round trip.
    """

    def __init__(self, db: PostgresDatabase, *, exact_search_up_to: int = 5000) -> None:
        """A store over an open pool; it does not own (or close) the pool."""
        self._db = db
        self._exact_up_to = exact_search_up_to
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory store is closed")

    async def add(self, memory: Memory, embedding: Embedding | None) -> None:
        """Insert a new memory; Conflict if its id exists or its key is taken for the user."""
        self._check_open()
        memory_id, user_id, values = memory_params(memory)
        vector = _NO_VECTOR if embedding is None else _vector_params(embedding)
        try:
            await self._db.execute(_INSERT, memory_id, user_id, *values, *vector)
        except Conflict as exc:
            raise _conflict(exc, memory_id, values[2]) from exc

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        """Replace every field of a stored memory; NotFound if this user has no such memory."""
        self._check_open()
        memory_id, user_id, values = memory_params(memory)
        vector = _NO_VECTOR if embedding is None else _vector_params(embedding)
        try:
            status = await self._db.execute(_UPDATE, memory_id, user_id, *values, *vector)
        except Conflict as exc:
            raise _conflict(exc, memory_id, values[2]) from exc
        if status.endswith(" 0"):
            raise NotFound(f"memory {memory_id} not found")

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        """One memory of this user, or None."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        mid = check_id(memory_id, what="memory id")
        row = await self._db.fetchrow(SELECT + " WHERE id = $1 AND user_id = $2", mid, uid)
        return None if row is None else memory_from_row(row, uid)

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        """The memory of this user filling slot ``key``, or None."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        if not isinstance(key, str):
            raise InvalidInput(f"memory key must be text, got {type(key).__name__}")
        if "\x00" in key:
            return None  # no stored key can hold NUL
        row = await self._db.fetchrow(SELECT + " WHERE user_id = $1 AND key = $2", uid, key)
        return None if row is None else memory_from_row(row, uid)

    async def keys(self, user_id: UUID) -> dict[str, UUID]:
        """The slot keys of this user's memories, each with its memory's id."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        rows = await self._db.fetch(
            "SELECT key, id FROM companion_memories WHERE user_id = $1 AND key IS NOT NULL", uid
        )
        return {row[0]: row[1] for row in rows}

    async def list(
        self,
        user_id: UUID,
        *,
        category: MemoryCategory | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        """This user's memories, newest first (by update time, then id)."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        wanted = None if category is None else MemoryCategory(category).value
        if limit is not None:
            check_int(limit, what="limit", low=0)
        check_int(offset, what="offset", low=0)
        rows = await self._db.fetch(_LIST, uid, wanted, limit, offset)
        return [memory_from_row(row, uid) for row in rows]

    async def count(self, user_id: UUID) -> int:
        """How many memories this user has."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        return int(
            await self._db.fetchval(
                "SELECT count(*) FROM companion_memories WHERE user_id = $1", uid
            )
        )

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every memory of this user in one transaction (migration 0009)."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        return int(await self._db.fetchval("SELECT companion_erase_memories($1)", uid))

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        """Delete one of this user's memories; True if it existed."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        mid = check_id(memory_id, what="memory id")
        status = await self._db.execute(
            "DELETE FROM companion_memories WHERE id = $1 AND user_id = $2", mid, uid
        )
        return not status.endswith(" 0")

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        """Up to ``query.limit`` lexical (full-text) and dense (pgvector) proposals, merged,
        and with ``query.neighbours`` the memories around the best of them in their thread.

        ``lexical`` is the sum of ``ts_rank`` over the terms and phrases a memory matches;
        ``dense`` the dot product of unit vectors for every candidate with a vector of the
        query's model. EmbeddingModelMismatch if the user's vectors come from another model.
        """
        self._check_open()
        args = match_args(user_id, query, self._exact_up_to)
        rows = await self._db.fetch(_MATCH, *args)
        return candidates_from_rows(rows, args[0])

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        """Record a use of each of these memories of this user (unknown ids are ignored)."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        ids = [check_id(memory_id, what="memory id") for memory_id in memory_ids]
        if not isinstance(when, datetime):
            raise InvalidInput(f"when must be a datetime, got {type(when).__name__}")
        require_aware(when, what="when")
        if ids:
            await self._db.execute("SELECT companion_touch_memories($1, $2, $3)", uid, ids, when)

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        """How many of this user's memories each model embedded (None: no vector)."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        rows = await self._db.fetch("SELECT * FROM companion_embedding_models($1)", uid)
        return {row[0]: int(row[1]) for row in rows}

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        """Replace one memory's vector (reindex); NotFound if this user has no such memory."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        mid = check_id(memory_id, what="memory id")
        vector, model, dims = _vector_params(embedding)
        status = await self._db.execute(
            "UPDATE companion_memories SET embedding = $3::vector, embedding_model = $4,"
            " embedding_dim = $5 WHERE id = $1 AND user_id = $2",
            mid,
            uid,
            vector,
            model,
            dims,
        )
        if status.endswith(" 0"):
            raise NotFound(f"memory {memory_id} not found")

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the pool stays open."""
        self._closed = True


def match_args(user_id: object, query: object, exact_up_to: int) -> tuple[Any, ...]:
    """companion_match_memories' arguments for a search, checked (the user id first)."""
    uid = check_id(user_id, what="user id")
    if not isinstance(query, MemoryQuery):
        raise InvalidInput(f"expected a MemoryQuery, got {type(query).__name__}")
    limit = check_int(query.limit, what="query limit", low=-(2**31), high=2**31 - 1)
    expand = check_int(query.expand, what="query expand", low=0, high=2**31 - 1)
    neighbours = check_int(query.neighbours, what="query neighbours", low=0, high=2**31 - 1)
    vector: Any = None
    model = None
    if query.embedding is not None:
        vector, model = check_embedding(query.embedding)
    categories = (
        None if query.categories is None else [MemoryCategory(c).value for c in query.categories]
    )
    return (
        uid,
        search_texts(query.terms, what="terms"),
        search_texts(query.phrases, what="phrases"),
        vector,
        model,
        limit,
        categories,
        neighbours,
        expand,
        exact_up_to,
    )


def candidates_from_rows(rows: Iterable[Any], user_id: UUID) -> builtins.list[Candidate]:
    """Candidates from rows of companion_match_memories (or companion_apply_and_match)."""
    return [
        Candidate(memory=memory_from_row(row, user_id), lexical=row[17], dense=row[18])
        for row in rows
    ]


def _vector_params(embedding: object) -> tuple[Any, str, int]:
    vector, model = check_embedding(embedding)
    return vector, model, int(vector.shape[0])


def _conflict(exc: Conflict, memory_id: UUID, key: object) -> Conflict:
    if _KEY_TAKEN in str(exc):
        return Conflict(f"memory key {key!r} is already used by another memory")
    return Conflict(f"memory {memory_id} already exists")
