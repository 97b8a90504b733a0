"""The WriteBatchStore port: many deferred writes, and optionally a search, in one call.

A networked database costs a round trip per statement. The write-behind layer
(``companion.adapters.postgres.write_behind``) keeps the writes a conversation makes off the reply's
path, folds them into a :class:`WriteBatch` (one final state per memory, profile and
summary), and hands the batch to a store that applies it as one transaction in one
round trip; the search a turn needs anyway can ride along, so a turn costs one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from companion.domain.models import (
    Candidate,
    ConversationSummary,
    ConversationTurn,
    Embedding,
    Memory,
    MemoryQuery,
    UserProfile,
)


@dataclass(frozen=True, slots=True)
class MemoryWrite:
    """A memory's new state, and its new vector (None: keep the stored one if the text is
    unchanged, else none)."""

    memory: Memory
    embedding: Embedding | None


@dataclass(frozen=True, slots=True)
class TurnWrite:
    """A journal entry to append, already marked processed when its memory work is done."""

    turn: ConversationTurn
    processed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Touch:
    """Memories of one user used at one time (last-accessed time, use count)."""

    user_id: UUID
    memory_ids: tuple[UUID, ...]
    when: datetime


@dataclass(slots=True)
class WriteBatch:
    """Writes applied together, in this order: memory deletes, updates, inserts; turns,
    processed marks; touches; profiles; summaries; claims on users' memory work given up.

    The order lets one batch hold a slot's removal and its new memory (a key freed by a
    delete or an update is free for an insert). An update or processed mark whose row is
    gone is skipped (a delete elsewhere won); an insert whose id or key is taken fails the
    whole batch, which is then applied by the caller piece by piece.
    """

    memory_deletes: list[tuple[UUID, UUID]] = field(default_factory=list)  # (user, memory)
    memory_updates: list[MemoryWrite] = field(default_factory=list)
    memory_inserts: list[MemoryWrite] = field(default_factory=list)
    turns: list[TurnWrite] = field(default_factory=list)
    processed: list[tuple[UUID, UUID, datetime]] = field(default_factory=list)  # user, turn
    touches: list[Touch] = field(default_factory=list)
    profiles: list[UserProfile] = field(default_factory=list)
    summaries: list[ConversationSummary] = field(default_factory=list)
    claim_releases: list[tuple[UUID, str]] = field(default_factory=list)  # user, owner

    def __len__(self) -> int:
        return (
            len(self.memory_deletes)
            + len(self.memory_updates)
            + len(self.memory_inserts)
            + len(self.turns)
            + len(self.processed)
            + len(self.touches)
            + len(self.profiles)
            + len(self.summaries)
            + len(self.claim_releases)
        )


class WriteBatchStore(Protocol):
    """Applies a :class:`WriteBatch` atomically in one call to the backend.

    Failures raise :class:`~companion.domain.errors.StoreError` (or its subclasses:
    ``Conflict`` for a taken id or key) and leave nothing of the batch applied.
    """

    def check(self, batch: WriteBatch) -> None:
        """Raise InvalidInput for anything in the batch the backend could not store
        (checked when a write is deferred, so the error reaches whoever made it)."""
        ...

    async def apply(self, batch: WriteBatch) -> None:
        """Apply every write of the batch, or none."""
        ...

    async def apply_then_candidates(
        self, batch: WriteBatch, user_id: UUID, query: MemoryQuery
    ) -> list[Candidate]:
        """Apply the batch, then answer ``MemoryStore.candidates(user_id, query)``
        as it stands after the batch, in the same call."""
        ...

    @property
    def calls(self) -> int:
        """Calls made to the backend so far (each one round trip)."""
        ...


__all__ = [
    "MemoryWrite",
    "Touch",
    "TurnWrite",
    "WriteBatch",
    "WriteBatchStore",
]
