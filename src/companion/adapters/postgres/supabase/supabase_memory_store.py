"""SupabaseMemoryStore: memories in Supabase's PostgreSQL, through PostgREST.

The tables and functions are the PostgreSQL adapter's schema (``companion_memories``,
``companion_match_memories`` …); this store reaches them over HTTP with the
service-role key. Every request is filtered by ``user_id`` as well, even though the
service role bypasses row-level security: a bug elsewhere must not reach another user.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from postgrest import CountMethod, ReturnMethod

from companion.adapters.postgres.schema_json.codec import (
    NO_EMBEDDING,
    Row,
    embedding_fields,
    rows_of,
    text,
    timestamp,
    uuid_text,
    vector_text,
)
from companion.adapters.postgres.schema_json.rows import MEMORY_COLUMNS, memory_from_row, memory_row
from companion.adapters.postgres.supabase._paging import DEFAULT_PAGE_SIZE, check_page, fetch_pages
from companion.adapters.postgres.supabase.client import SupabaseClient
from companion.domain.errors import InvalidInput, NotFound, StoreError
from companion.domain.models import Candidate, Embedding, Memory, MemoryCategory, MemoryQuery
from companion.domain.validation import validate_memory_query
from companion.ports.memory_store import MemoryStore

MEMORIES = "companion_memories"
MATCH_MEMORIES = "companion_match_memories"
TOUCH_MEMORIES = "companion_touch_memories"
EMBEDDING_MODELS = "companion_embedding_models"
ERASE_MEMORIES = "companion_erase_memories"


class SupabaseMemoryStore(MemoryStore):
    """The MemoryStore on Supabase: full-text and pgvector search in one RPC call.

    Candidates come from ``companion_match_memories`` (``ts_rank`` over the stemmed
    search document for ``lexical``, the inner product of unit vectors for ``dense``);
    the store only encodes the query and decodes the rows.
    """

    def __init__(self, client: SupabaseClient, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        """A store over a shared client; it does not own (or close) the client.

        ``page_size`` must not exceed the project's "max rows" API setting (Supabase's
        default is 1000): an unlimited ``list`` reads page after page until a short one.
        """
        self._client = client
        self._page_size = check_page(page_size)
        self._closed = False

    async def add(self, memory: Memory, embedding: Embedding | None) -> None:
        """Insert a new memory; Conflict if its id exists or its key is taken for the user."""
        self._check_open()
        row = memory_row(memory)
        row.update(NO_EMBEDDING if embedding is None else embedding_fields(embedding))
        # The primary key and the (user_id, key) unique index answer 23505: Conflict.
        query = self._client.table(MEMORIES).insert(row, returning=ReturnMethod.minimal)
        await self._client.execute(query, what="adding a memory")

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        """Replace every field of a stored memory; NotFound if this user has no such memory.

        Without a new embedding the stored vector is kept only if the text is unchanged
        (a vector of the old text must not describe the new one). That takes a second
        request when the text changed: the first only matches a row whose stored text
        equals the new text, so keeping the vector is decided in the same statement
        that writes.
        """
        self._check_open()
        row = memory_row(memory)
        memory_id, user_id = row.pop("id"), row.pop("user_id")
        if embedding is not None:
            row.update(embedding_fields(embedding))
            if not await self._patch(row, user_id, memory_id, what="updating a memory"):
                raise NotFound(f"memory {memory_id} not found")
            return
        if await self._patch(row, user_id, memory_id, same_text=row["text"]):
            return
        row.update(NO_EMBEDDING)
        if not await self._patch(row, user_id, memory_id, what="updating a memory"):
            raise NotFound(f"memory {memory_id} not found")

    async def _patch(
        self,
        row: Row,
        user_id: str,
        memory_id: str,
        *,
        same_text: str | None = None,
        what: str = "updating a memory",
    ) -> bool:
        """PATCH one memory of this user; True if a row matched."""
        query = self._client.table(MEMORIES).update(row).eq("id", memory_id).eq("user_id", user_id)
        if same_text is not None:
            # A plain filter value is taken verbatim by PostgREST: no quoting needed.
            query = query.eq("text", same_text)
        response = await self._client.execute(query.select("id"), what=what)
        return bool(rows_of(response.data))

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        """One memory of this user, or None."""
        self._check_open()
        query = (
            self._client.table(MEMORIES)
            .select(MEMORY_COLUMNS)
            .eq("id", uuid_text(memory_id, what="memory id"))
            .eq("user_id", uuid_text(user_id, what="user id"))
        )
        return _one(await self._client.execute(query, what="reading a memory"))

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        """The memory of this user filling slot ``key``, or None."""
        self._check_open()
        query = (
            self._client.table(MEMORIES)
            .select(MEMORY_COLUMNS)
            .eq("user_id", uuid_text(user_id, what="user id"))
            .eq("key", text(key, what="memory key"))
        )
        return _one(await self._client.execute(query, what="finding a memory by key"))

    async def keys(self, user_id: UUID) -> dict[str, UUID]:
        """The slot keys of this user's memories, each with its memory's id (paged: a
        user with more keyed memories than one PostgREST answer holds gets them all)."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")

        def page(start: int, size: int) -> Any:
            return (
                self._client.table(MEMORIES)
                .select("key,id")
                .eq("user_id", uid)
                .not_.is_("key", "null")
                .order("id")  # unique, so pages neither overlap nor skip
                .limit(size)
                .offset(start)
            )

        rows = await fetch_pages(
            self._client, page, 0, None, self._page_size, what="listing memory keys"
        )
        try:
            return {row["key"]: UUID(row["id"]) for row in rows}
        except (AttributeError, KeyError, TypeError, ValueError):
            raise StoreError("Supabase answered memory keys in an unknown shape") from None

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
        uid = uuid_text(user_id, what="user id")
        wanted = None if category is None else _category(category)
        if limit is not None and (_not_int(limit) or limit < 0):
            raise InvalidInput(f"limit must be a non-negative integer or None, got {limit!r}")
        if _not_int(offset) or offset < 0:
            raise InvalidInput(f"offset must be a non-negative integer, got {offset!r}")

        def page(start: int, size: int) -> Any:
            query = self._client.table(MEMORIES).select(MEMORY_COLUMNS).eq("user_id", uid)
            if wanted is not None:
                query = query.eq("category", wanted)
            return (
                query.order("updated_at", desc=True)
                .order("id", desc=True)
                .limit(size)
                .offset(start)
            )

        rows = await fetch_pages(
            self._client, page, offset, limit, self._page_size, what="listing memories"
        )
        return [memory_from_row(row) for row in rows]

    async def count(self, user_id: UUID) -> int:
        """How many memories this user has (a HEAD request: PostgREST counts, sends none)."""
        self._check_open()
        query = (
            self._client.table(MEMORIES)
            .select("id", count=CountMethod.exact, head=True)
            .eq("user_id", uuid_text(user_id, what="user id"))
        )
        response = await self._client.execute(query, what="counting memories")
        if response.count is None:
            raise StoreError("Supabase did not say how many memories there are")
        return int(response.count)

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every memory of this user in one transaction (one RPC call)."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")
        return await self._client.erase(ERASE_MEMORIES, uid, what="erasing a user's memories")

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        """Delete one of this user's memories; True if it existed."""
        self._check_open()
        query = (
            self._client.table(MEMORIES)
            .delete()
            .eq("id", uuid_text(memory_id, what="memory id"))
            .eq("user_id", uuid_text(user_id, what="user id"))
            .select("id")
        )
        response = await self._client.execute(query, what="deleting a memory")
        return bool(rows_of(response.data))

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        """Lexical and dense proposals (and their neighbours), merged, in one RPC call.

        ``lexical`` is the summed ``ts_rank`` of the terms and phrases a memory matches;
        ``dense`` the inner product with the query vector for every candidate with a
        vector of the query's model. EmbeddingModelMismatch if the user's vectors come
        from another model (or dimension).
        """
        self._check_open()
        params = match_params(user_id, query)
        response = await self._client.execute(
            self._client.rpc(MATCH_MEMORIES, params), what="searching memories"
        )
        return candidates_from_rows(response.data)

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        """Record a use of each of these memories of this user (unknown ids are ignored)."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")
        ids = [uuid_text(memory_id, what="memory id") for memory_id in memory_ids]
        stamp = timestamp(when, what="when")
        if not ids:
            return
        params = {"p_user_id": uid, "p_ids": ids, "p_when": stamp}
        await self._client.execute(
            self._client.rpc(TOUCH_MEMORIES, params), what="recording memory use"
        )

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        """How many of this user's memories each model embedded (None: no vector)."""
        self._check_open()
        params = {"p_user_id": uuid_text(user_id, what="user id")}
        response = await self._client.execute(
            self._client.rpc(EMBEDDING_MODELS, params), what="counting embedding models"
        )
        try:
            return {row["embedding_model"]: int(row["n"]) for row in rows_of(response.data)}
        except (KeyError, TypeError, ValueError):
            raise StoreError("Supabase answered embedding models in an unknown shape") from None

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        """Replace one memory's vector (reindex); NotFound if this user has no such memory."""
        self._check_open()
        uid = uuid_text(user_id, what="user id")
        mid = uuid_text(memory_id, what="memory id")
        fields = embedding_fields(embedding)
        if not await self._patch(fields, uid, mid, what="replacing a memory's vector"):
            raise NotFound(f"memory {mid} not found")

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the client stays open."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("memory store is closed")


def match_params(user_id: object, query: object) -> dict[str, Any]:
    """The arguments of companion_match_memories for a search, checked at the boundary
    (the user id first)."""
    uid = uuid_text(user_id, what="user id")
    query = validate_memory_query(query)
    embedding = query.embedding
    return {
        "p_user_id": uid,
        "p_terms": _words(query.terms, what="search terms"),
        "p_phrases": _words(query.phrases, what="search phrases"),
        "p_embedding": None if embedding is None else vector_text(embedding),
        "p_model": None if embedding is None else text(embedding.model, what="embedding model"),
        "p_limit": max(query.limit, 0),
        "p_categories": None
        if query.categories is None
        else sorted(_category(c) for c in query.categories),
        "p_neighbours": query.neighbours,
        "p_expand": query.expand,
    }


def candidates_from_rows(data: object) -> builtins.list[Candidate]:
    """Candidates from the rows of companion_match_memories (or companion_apply_and_match)."""
    return [
        Candidate(
            memory=memory_from_row(row),
            lexical=_score(row.get("lexical")),
            dense=_score(row.get("dense")),
        )
        for row in rows_of(data)
    ]


def _words(items: object, *, what: str) -> builtins.list[str]:
    """Terms or phrases as plain text: the function builds tsqueries with
    ``phraseto_tsquery``, so operators in user text have no effect."""
    if isinstance(items, str) or not isinstance(items, tuple | builtins.list):
        raise InvalidInput(f"{what} must be a sequence of text")
    words: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput(f"{what} must be text, got {type(item).__name__}")
        # Runs of spaces folded and NUL read as a space, as the SQLite store does.
        word = " ".join(text(item.replace("\x00", " "), what=what).split())
        if word:
            words[word] = None
    return list(words)


def _category(category: object) -> str:
    try:
        return MemoryCategory(category).value  # type: ignore[arg-type]
    except ValueError:
        raise InvalidInput(f"unknown memory category {category!r}") from None


def _score(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StoreError("Supabase answered a search score that is not a number")
    return float(value)


def _one(response: Any) -> Memory | None:
    rows = rows_of(response.data)
    return memory_from_row(rows[0]) if rows else None


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)
