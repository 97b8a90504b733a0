"""InMemoryMemoryStore: a MemoryStore holding real state in a dict (tests and fallback)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import numpy as np

from companion.domain.errors import (
    Conflict,
    EmbeddingModelMismatch,
    InvalidInput,
    NotFound,
    StoreError,
)
from companion.domain.lexical import bm25, index_terms
from companion.domain.models import (
    Candidate,
    Embedding,
    Memory,
    MemoryCategory,
    MemoryQuery,
    MemoryRevision,
)
from companion.domain.validation import require_aware, validate_memory_query
from companion.ports.memory_store import MemoryStore

_REINDEX_HINT = "run `companion-agent memories reindex` to re-embed with the current model"


class InMemoryMemoryStore(MemoryStore):
    """Memories in process memory: same contract as the durable stores, lost on exit."""

    def __init__(self) -> None:
        self._memories: dict[UUID, dict[UUID, Memory]] = {}
        self._vectors: dict[UUID, Embedding] = {}
        # Index terms per memory, kept with the memory so a search does not re-tokenise all.
        self._terms: dict[UUID, builtins.list[str]] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    def _user(self, user_id: UUID) -> dict[UUID, Memory]:
        if self._closed:
            raise StoreError("memory store is closed")
        return self._memories.setdefault(user_id, {})

    def _check_key(self, memory: Memory) -> None:
        if memory.key is None:
            return
        for other in self._user(memory.user_id).values():
            if other.key == memory.key and other.id != memory.id:
                raise Conflict(f"memory key {memory.key!r} is already used by another memory")

    @staticmethod
    def _check_fields(memory: Memory) -> None:
        require_aware(memory.created_at, what="created_at")
        require_aware(memory.updated_at, what="updated_at")
        if memory.last_accessed_at is not None:
            require_aware(memory.last_accessed_at, what="last_accessed_at")
        # The durable stores can only keep text and integers here; fail as they do.
        if memory.thread is not None and not isinstance(memory.thread, str):
            raise InvalidInput(f"memory thread must be text, got {type(memory.thread).__name__}")
        position = memory.position
        if position is not None and (isinstance(position, bool) or not isinstance(position, int)):
            raise InvalidInput(f"position must be an integer or None, got {position!r}")
        if memory.valid_from is not None:
            require_aware(memory.valid_from, what="valid_from")
        if not isinstance(memory.history, tuple):
            raise InvalidInput("memory history must be a tuple of MemoryRevision values")
        for revision in memory.history:
            if not isinstance(revision, MemoryRevision):
                raise InvalidInput("memory history must hold MemoryRevision values only")
            require_aware(revision.valid_from, what="history valid_from")
            require_aware(revision.valid_to, what="history valid_to")

    async def add(self, memory: Memory, embedding: Embedding | None) -> None:
        async with self._lock:
            self._check_fields(memory)
            memories = self._user(memory.user_id)
            if any(memory.id in per_user for per_user in self._memories.values()):
                raise Conflict(f"memory {memory.id} already exists")
            self._check_key(memory)
            memories[memory.id] = memory
            self._terms[memory.id] = _index_terms(memory)
            if embedding is not None:
                self._vectors[memory.id] = embedding

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        async with self._lock:
            self._check_fields(memory)
            memories = self._user(memory.user_id)
            old = memories.get(memory.id)
            if old is None:
                raise NotFound(f"memory {memory.id} not found")
            self._check_key(memory)
            memories[memory.id] = memory
            self._terms[memory.id] = _index_terms(memory)
            if embedding is not None:
                self._vectors[memory.id] = embedding
            elif old.text != memory.text:
                # A vector of the old text would describe something else now.
                self._vectors.pop(memory.id, None)

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        return self._user(user_id).get(memory_id)

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        return next((m for m in self._user(user_id).values() if m.key == key), None)

    async def keys(self, user_id: UUID) -> dict[str, UUID]:
        return {m.key: m.id for m in self._user(user_id).values() if m.key is not None}

    async def list(
        self,
        user_id: UUID,
        *,
        category: MemoryCategory | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit must be a non-negative integer or None, got {limit!r}")
        if offset < 0:
            raise InvalidInput(f"offset must be a non-negative integer, got {offset!r}")
        items = [
            m for m in self._user(user_id).values() if category is None or m.category is category
        ]
        items.sort(key=lambda m: (m.updated_at, str(m.id)), reverse=True)
        end = None if limit is None else offset + limit
        return items[offset:end]

    async def count(self, user_id: UUID) -> int:
        return len(self._user(user_id))

    async def erase_user(self, user_id: UUID) -> int:
        async with self._lock:
            gone = self._user(user_id)
            for memory_id in gone:
                self._vectors.pop(memory_id, None)
                self._terms.pop(memory_id, None)
            del self._memories[user_id]
            return len(gone)

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        async with self._lock:
            removed = self._user(user_id).pop(memory_id, None)
            if removed is not None:
                self._vectors.pop(memory_id, None)
                self._terms.pop(memory_id, None)
            return removed is not None

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        query = validate_memory_query(query)
        limit = max(query.limit, 0)
        pool = {
            m.id: m
            for m in self._user(user_id).values()
            if query.categories is None or m.category in query.categories
        }
        lexical: dict[UUID, float] = {}
        if query.terms or query.phrases:
            docs = {str(i): self._terms[i] for i in pool}
            scores = bm25(query.terms, docs, phrases=query.phrases)
            best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
            lexical = {UUID(doc_id): score for doc_id, score in best}
        sims: dict[UUID, float] = {}
        if query.embedding is not None:
            sims = self._similarities(user_id, pool.values(), query.embedding)
        dense = sorted(sims, key=lambda i: -sims[i])[:limit]
        proposed = list(dict.fromkeys([*lexical, *dense]))
        if query.neighbours > 0 and query.expand > 0:
            seeds = dict.fromkeys([*_best(lexical, query.expand), *dense[: query.expand]])
            more = _neighbours([pool[i] for i in seeds], pool, query.neighbours)
            already = set(proposed)
            proposed.extend(i for i in dict.fromkeys(more) if i not in already)
        return [
            Candidate(memory=pool[i], lexical=lexical.get(i), dense=sims.get(i)) for i in proposed
        ]

    def _similarities(
        self, user_id: UUID, pool: Iterable[Memory], query: Embedding
    ) -> dict[UUID, float]:
        """Cosine similarity to ``query`` of every memory of ``pool`` that has a vector."""
        for memory in self._user(user_id).values():
            stored = self._vectors.get(memory.id)
            if stored is not None and (
                stored.model != query.model or stored.dimensions != query.dimensions
            ):
                raise EmbeddingModelMismatch(
                    f"stored vectors come from {stored.model!r} but the query from "
                    f"{query.model!r}; {_REINDEX_HINT}"
                )
        with_vectors = [m.id for m in pool if m.id in self._vectors]
        if not with_vectors:
            return {}
        matrix = np.stack([self._vectors[i].vector for i in with_vectors])
        sims = matrix @ query.vector.astype(np.float32)
        return dict(zip(with_vectors, sims.tolist(), strict=True))

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        require_aware(when, what="when")
        async with self._lock:
            memories = self._user(user_id)
            for memory_id in memory_ids:
                old = memories.get(memory_id)
                if old is not None:
                    memories[memory_id] = replace(
                        old, last_accessed_at=when, access_count=old.access_count + 1
                    )

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        counts: dict[str | None, int] = {}
        for memory_id in self._user(user_id):
            stored = self._vectors.get(memory_id)
            model = None if stored is None else stored.model
            counts[model] = counts.get(model, 0) + 1
        return counts

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        async with self._lock:
            if memory_id not in self._user(user_id):
                raise NotFound(f"memory {memory_id} not found")
            self._vectors[memory_id] = embedding

    async def close(self) -> None:
        self._closed = True


def _index_terms(memory: Memory) -> builtins.list[str]:
    return index_terms(f"{memory.text} {memory.value or ''} {memory.key or ''}")


def _neighbours(
    proposed: Iterable[Memory], pool: Mapping[UUID, Memory], reach: int
) -> builtins.list[UUID]:
    """The memories of ``pool`` within ``reach`` positions of a proposed one's, in its thread."""
    around: dict[str, builtins.list[int]] = {}
    seen: set[UUID] = set()
    for memory in proposed:
        seen.add(memory.id)
        if memory.thread is not None and memory.position is not None:
            around.setdefault(memory.thread, []).append(memory.position)
    return [
        m.id
        for m in pool.values()
        if m.id not in seen
        and m.thread in around
        and m.position is not None
        and any(abs(m.position - p) <= reach for p in around[m.thread])
    ]


def _best(scores: dict[UUID, float], n: int) -> builtins.list[UUID]:
    """The ids of the ``n`` highest scores (ties by id, so the choice is stable)."""
    return sorted(scores, key=lambda i: (-scores[i], str(i)))[:n]
