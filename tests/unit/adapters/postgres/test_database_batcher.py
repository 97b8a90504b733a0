"""DatabaseBatcher and BatchingMemoryStore: fewer queries, the same answers."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from tests.conftest import T0, make_memory

from companion.adapters.memory import InMemoryMemoryStore
from companion.adapters.postgres.database_batcher import BatchingMemoryStore, DatabaseBatcher

ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000000b")


class CountingStore(InMemoryMemoryStore):
    """The in-memory store, counting calls and able to hold a read until released."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.gate: asyncio.Event | None = None
        self.touched: list[Any] = []

    async def list(self, user_id: Any, **kwargs: Any) -> Any:
        self.calls["list"] += 1
        if self.gate is not None:
            await self.gate.wait()
        return await super().list(user_id, **kwargs)

    async def touch(self, user_id: Any, memory_ids: Any, when: Any) -> None:
        self.calls["touch"] += 1
        self.touched.append((user_id, list(memory_ids), when))
        await super().touch(user_id, memory_ids, when)


async def test_identical_concurrent_reads_share_one_query() -> None:
    inner = CountingStore()
    await inner.add(make_memory(ADA, "Lives in Lahore"), None)
    store = BatchingMemoryStore(inner)
    inner.gate = asyncio.Event()
    readers = [asyncio.create_task(store.list(ADA)) for _ in range(5)]
    other = asyncio.create_task(store.list(BOB))
    await asyncio.sleep(0)
    inner.gate.set()
    results = await asyncio.gather(*readers)
    assert [len(r) for r in results] == [1] * 5
    assert await other == []
    assert inner.calls["list"] == 2  # one for Ada's five readers, one for Bob
    stats = store.stats()
    assert stats["reads_requested"] == 6
    assert stats["reads_issued"] == 2
    assert stats["queries_saved"] == 4


async def test_a_read_after_a_write_never_joins_a_read_from_before_it() -> None:
    inner = CountingStore()
    store = BatchingMemoryStore(inner)
    inner.gate = asyncio.Event()
    before = asyncio.create_task(store.list(ADA))
    await asyncio.sleep(0)
    await store.add(make_memory(ADA, "Has a dog called Biscuit"), None)
    after = asyncio.create_task(store.list(ADA))
    await asyncio.sleep(0)
    inner.gate.set()
    await before
    assert [m.text for m in await after] == ["Has a dog called Biscuit"]
    assert inner.calls["list"] == 2


async def test_a_failed_read_fails_every_caller_and_is_not_cached() -> None:
    inner = CountingStore()
    store = BatchingMemoryStore(inner)
    inner.gate = asyncio.Event()

    async def broken(*args: Any, **kwargs: Any) -> Any:
        await inner.gate.wait()  # type: ignore[union-attr]
        raise RuntimeError("database went away")

    original = inner.list
    inner.list = broken  # type: ignore[method-assign]
    readers = [asyncio.create_task(store.list(ADA)) for _ in range(3)]
    await asyncio.sleep(0)
    inner.gate.set()
    outcomes = await asyncio.gather(*readers, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    inner.list = original  # type: ignore[method-assign]
    inner.gate = None
    assert await store.list(ADA) == []


async def test_touches_of_many_turns_are_written_in_one_query_and_read_back() -> None:
    inner = CountingStore()
    memories = [make_memory(ADA, f"fact {i}") for i in range(3)]
    for memory in memories:
        await inner.add(memory, None)
    store = BatchingMemoryStore(inner, flush_interval=60)
    when = T0 + timedelta(days=1)
    for turn in range(10):
        await store.touch(ADA, [memories[turn % 3].id], when)
    assert inner.calls["touch"] == 0
    await store.get(ADA, memories[0].id)  # a lookup does not wait for the bookkeeping
    assert inner.calls["touch"] == 0
    listed = await store.list(ADA)  # a listing (what a person reads) flushes it first
    assert inner.calls["touch"] == 1
    got = next(m for m in listed if m.id == memories[0].id)
    assert got.last_accessed_at == when
    assert got.access_count == 1
    assert store.stats()["writes_requested"] == 10
    assert store.stats()["writes_issued"] == 1


async def test_touches_are_flushed_on_a_timer_at_a_size_and_at_close() -> None:
    inner = CountingStore()
    memory = make_memory(ADA, "fact")
    await inner.add(memory, None)
    store = BatchingMemoryStore(inner, flush_interval=0.01, max_pending=2)
    await store.touch(ADA, [memory.id], T0)
    for _ in range(200):
        if inner.calls["touch"]:
            break
        await asyncio.sleep(0.01)
    assert inner.calls["touch"] == 1

    other = make_memory(ADA, "other")
    await inner.add(other, None)
    await store.touch(ADA, [memory.id, other.id], T0)  # reaches max_pending: flushed now
    assert inner.calls["touch"] == 2

    await store.touch(ADA, [other.id], T0 + timedelta(hours=1))
    await store.close()
    assert inner.calls["touch"] == 3
    assert inner.touched[-1] == (ADA, [other.id], T0 + timedelta(hours=1))


async def test_a_deleted_memory_drops_its_pending_touch() -> None:
    inner = CountingStore()
    memory = make_memory(ADA, "fact")
    await inner.add(memory, None)
    store = BatchingMemoryStore(inner, flush_interval=60)
    await store.touch(ADA, [memory.id], T0)
    assert await store.delete(ADA, memory.id) is True
    await store.flush()
    assert inner.calls["touch"] == 0


def test_stats_of_an_idle_batcher() -> None:
    assert DatabaseBatcher().stats()["saved_ratio"] is None


@pytest.mark.parametrize("n", [1, 7])
async def test_cancelling_one_waiter_does_not_cancel_the_shared_query(n: int) -> None:
    inner = CountingStore()
    await inner.add(make_memory(ADA, "fact"), None)
    store = BatchingMemoryStore(inner)
    inner.gate = asyncio.Event()
    first = asyncio.create_task(store.list(ADA))
    others = [asyncio.create_task(store.list(ADA)) for _ in range(n)]
    await asyncio.sleep(0)
    others[0].cancel()
    await asyncio.sleep(0)
    inner.gate.set()
    assert len(await first) == 1
    for task in others[1:]:
        assert len(await task) == 1
