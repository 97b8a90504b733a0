"""DatabaseBatcher: fewer round trips to the store, with the same answers.

Two techniques, both counted (``stats()``: requested vs. issued, and the difference saved):

- **Coalesced reads.** Identical reads that are in flight at the same time (the same
  method and arguments, e.g. two tools and the retrieval of one turn all reading the
  user's memories) share one query, DataLoader-style. A read never joins one that started
  before a write of the same user, so nobody reads around their own write.
- **Batched writes.** Access bookkeeping (``touch``: last-used time and use count, written
  after every retrieval) is deferred and flushed in one query per user, every
  ``flush_interval`` seconds, when ``max_pending`` memories wait, before a listing of
  that user's memories (what a person reads), and at ``close``. Other reads may show
  access counts up to a flush interval old: they feed only the recency term of ranking.
  Memory writes themselves are never deferred.

``BatchingMemoryStore`` applies both to any :class:`MemoryStore`.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import structlog

from companion.domain.models import Candidate, Embedding, Memory, MemoryCategory, MemoryQuery
from companion.ports.memory_store import MemoryStore
from companion.ports.stats_source import StatsSource

log = structlog.get_logger(__name__)

T = TypeVar("T")


class DatabaseBatcher:
    """Singleflight reads keyed by (kind, arguments) and per-user write generations."""

    def __init__(self) -> None:
        self._in_flight: dict[Hashable, tuple[int, asyncio.Future[Any]]] = {}
        # Only users with a read in flight have a generation (a write with none in
        # flight has nothing to keep apart), so neither grows with users served.
        self._generation: dict[UUID, int] = {}
        self._reading: dict[UUID, int] = {}
        self.reads_requested = 0
        self.reads_issued = 0
        self.writes_requested = 0
        self.writes_issued = 0

    def wrote(self, user_id: UUID) -> None:
        """A write of this user happened: later reads must not join earlier ones."""
        if user_id in self._reading:
            self._generation[user_id] = self._generation.get(user_id, 0) + 1

    async def read(self, user_id: UUID, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        """``fetch()``'s result, shared with identical reads already in flight."""
        self.reads_requested += 1
        generation = self._generation.get(user_id, 0)
        running = self._in_flight.get(key)
        if running is not None and running[0] == generation:
            # Shielded: one caller's cancellation must not cancel the others' query.
            result: T = await asyncio.shield(running[1])
            return result
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = (generation, future)
        self._reading[user_id] = self._reading.get(user_id, 0) + 1
        self.reads_issued += 1
        try:
            value = await fetch()
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                # Mark retrieved, so an exception nobody else awaited is not logged.
                future.exception()
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._in_flight.get(key, (None, None))[1] is future:
                del self._in_flight[key]
            left = self._reading[user_id] - 1
            if left:
                self._reading[user_id] = left
            else:
                del self._reading[user_id]
                self._generation.pop(user_id, None)

    def stats(self) -> dict[str, object]:
        """Queries requested by callers vs. issued to the store."""
        requested = self.reads_requested + self.writes_requested
        issued = self.reads_issued + self.writes_issued
        return {
            "reads_requested": self.reads_requested,
            "reads_issued": self.reads_issued,
            "writes_requested": self.writes_requested,
            "writes_issued": self.writes_issued,
            "queries_saved": requested - issued,
            "saved_ratio": round((requested - issued) / requested, 4) if requested else None,
        }


class BatchingMemoryStore(MemoryStore, StatsSource):
    """A MemoryStore that coalesces identical concurrent reads and batches ``touch``."""

    def __init__(
        self,
        store: MemoryStore,
        batcher: DatabaseBatcher | None = None,
        *,
        flush_interval: float = 1.0,
        max_pending: int = 500,
    ) -> None:
        self._store = store
        self.batcher = batcher or DatabaseBatcher()
        self._flush_interval = flush_interval
        self._max_pending = max_pending
        self._pending: dict[UUID, dict[UUID, datetime]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def stats(self) -> dict[str, object]:
        return {**self.batcher.stats(), "touches_pending": self._pending_count()}

    # -- writes: pass through, and invalidate in-flight reads -----------------------------

    async def add(self, memory: Memory, embedding: Embedding | None) -> None:
        await self._write(memory.user_id, lambda: self._store.add(memory, embedding))

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        await self._write(memory.user_id, lambda: self._store.update(memory, embedding))

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        self._drop_pending(user_id, memory_id)
        return await self._write(user_id, lambda: self._store.delete(user_id, memory_id))

    async def erase_user(self, user_id: UUID) -> int:
        self._pending.pop(user_id, None)  # touches of memories that are about to go
        return await self._write(user_id, lambda: self._store.erase_user(user_id))

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        await self._write(user_id, lambda: self._store.set_embedding(user_id, memory_id, embedding))

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        if not memory_ids:
            return
        self.batcher.writes_requested += 1
        pending = self._pending.setdefault(user_id, {})
        for memory_id in memory_ids:
            previous = pending.get(memory_id)
            pending[memory_id] = when if previous is None else max(previous, when)
        if self._pending_count() >= self._max_pending:
            await self.flush()
        elif self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later())

    # -- reads: coalesced ------------------------------------------------------------------

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        return await self.batcher.read(
            user_id, ("get", user_id, memory_id), lambda: self._store.get(user_id, memory_id)
        )

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        return await self.batcher.read(
            user_id, ("key", user_id, key), lambda: self._store.find_by_key(user_id, key)
        )

    async def keys(self, user_id: UUID) -> dict[str, UUID]:
        return await self.batcher.read(
            user_id, ("keys", user_id), lambda: self._store.keys(user_id)
        )

    async def list(
        self,
        user_id: UUID,
        *,
        category: MemoryCategory | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        await self._flush_user(user_id)
        return await self.batcher.read(
            user_id,
            ("list", user_id, category, limit, offset),
            lambda: self._store.list(user_id, category=category, limit=limit, offset=offset),
        )

    async def count(self, user_id: UUID) -> int:
        return await self.batcher.read(
            user_id, ("count", user_id), lambda: self._store.count(user_id)
        )

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        # Access counts feed only the recency term of ranking; a second of lag there does
        # not change what is found, so pending touches are not flushed first.
        vector = None if query.embedding is None else query.embedding.vector.tobytes()
        key = ("candidates", user_id, query, vector)
        return await self.batcher.read(user_id, key, lambda: self._store.candidates(user_id, query))

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        return await self.batcher.read(
            user_id, ("models", user_id), lambda: self._store.embedding_models(user_id)
        )

    async def close(self) -> None:
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
        await self.flush()
        await self._store.close()

    # -- the write buffer ------------------------------------------------------------------

    async def flush(self) -> None:
        """Write every pending touch now (one query per user)."""
        for user_id in builtins.list(self._pending):
            await self._flush_user(user_id)

    async def _flush_user(self, user_id: UUID) -> None:
        if user_id not in self._pending:
            return
        async with self._lock:
            pending = self._pending.pop(user_id, None)
            if not pending:
                return
            by_time: dict[datetime, builtins.list[UUID]] = {}
            for memory_id, when in pending.items():
                by_time.setdefault(when, []).append(memory_id)
            # Touches of one flush almost always share one time (one turn); when they do
            # not, each time is one query.
            for when, ids in by_time.items():
                self.batcher.writes_issued += 1
                try:
                    await self._store.touch(user_id, ids, when)
                except Exception:
                    # Access statistics are a ranking hint, not user data: losing one
                    # batch must not fail the turn that triggered the flush.
                    log.warning("touch_batch_failed", n=len(ids), exc_info=True)

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._flush_interval)
        await self.flush()

    def _pending_count(self) -> int:
        return sum(len(ids) for ids in self._pending.values())

    def _drop_pending(self, user_id: UUID, memory_id: UUID) -> None:
        pending = self._pending.get(user_id)
        if pending is not None:
            pending.pop(memory_id, None)

    async def _write(self, user_id: UUID, write: Callable[[], Awaitable[T]]) -> T:
        self.batcher.writes_requested += 1
        self.batcher.writes_issued += 1
        self.batcher.wrote(user_id)
        try:
            return await write()
        finally:
            # Reads that started during the write must not be joined by later ones either.
            self.batcher.wrote(user_id)
