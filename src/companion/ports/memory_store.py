"""The MemoryStore port: durable long-term memories of each user, with their vectors."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from companion.domain.models import (
    Candidate,
    Embedding,
    Memory,
    MemoryCategory,
    MemoryQuery,
)


class MemoryStore(Protocol):
    """Stores memories per user and proposes retrieval candidates.

    Every method is scoped by ``user_id``: a memory of one user is never returned,
    changed or deleted through another user's id. Embeddings are stored with their
    model's name; a search whose query embedding comes from another model than the
    user's stored vectors raises :class:`~companion.domain.errors.EmbeddingModelMismatch`.
    Failures of the backend raise :class:`~companion.domain.errors.StoreError`.
    """

    async def add(self, memory: Memory, embedding: Embedding | None) -> None:
        """Insert a new memory (its id must be new)."""
        ...

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        """Replace a stored memory's fields (and vector, when given); NotFound if absent."""
        ...

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        """One memory of this user, or None."""
        ...

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        """The memory of this user filling slot ``key``, or None."""
        ...

    async def keys(self, user_id: UUID) -> dict[str, UUID]:
        """The slot keys of this user's memories, each with the id of the memory filling it
        (memories without a key are not listed)."""
        ...

    async def list(
        self,
        user_id: UUID,
        *,
        category: MemoryCategory | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        """This user's memories, newest first (by update time, then id)."""
        ...

    async def count(self, user_id: UUID) -> int:
        """How many memories this user has."""
        ...

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every memory of this user, with their vectors, history and index
        entries, and whatever the store keeps about them (counts, cache); how many
        memories there were. Idempotent; other users are untouched."""
        ...

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        """Delete one memory; True if it existed."""
        ...

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        """Propose up to ``query.limit`` memories by lexical match and up to as many by
        vector similarity (merged: one Candidate per memory, carrying both signals)."""
        ...

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        """Record that these memories were used (last-accessed time, access count)."""
        ...

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        """How many of this user's memories each embedding model embedded (None: none)."""
        ...

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        """Replace one memory's vector (used by reindex); NotFound if absent."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
