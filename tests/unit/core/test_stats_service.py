"""StatsService: what `stats` and the agent's stats tools report."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from tests.conftest import make_memory

from companion.adapters.memory import HashingEmbedder, InMemoryCache, InMemoryMemoryStore
from companion.core import StatsService
from companion.domain.models import MemoryCategory

ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000000b")


class Counting:
    def __init__(self, **counters: object) -> None:
        self.counters = counters

    def stats(self) -> Mapping[str, object]:
        return self.counters


async def test_memory_figures_are_per_user_by_category_and_model() -> None:
    store = InMemoryMemoryStore()
    embedder = HashingEmbedder(32)
    for text, category in [
        ("Lives in Lahore", MemoryCategory.FACT),
        ("Likes chai", MemoryCategory.PREFERENCE),
        ("Has a cat", MemoryCategory.FACT),
    ]:
        memory = make_memory(ADA, text, category=category)
        (vector,) = await embedder.embed([text])
        await store.add(memory, vector)
    await store.add(make_memory(BOB, "Bob's only memory"), None)

    report = await StatsService(store).memory(ADA)

    assert report["total"] == 3
    assert report["by_category"] == {"fact": 2, "preference": 1}
    assert report["embedding_models"] == {embedder.model: 3}
    assert (await StatsService(store).memory(BOB))["embedding_models"] == {"none": 1}


async def test_unconfigured_backends_say_so_instead_of_reporting_zeros() -> None:
    stats = StatsService(InMemoryMemoryStore())
    assert await stats.connection_pool() == {"configured": False}
    assert await stats.database_batching() == {"configured": False}
    assert await stats.cache() == {"configured": False}


async def test_sources_are_reported_as_they_count() -> None:
    cache = InMemoryCache()
    await cache.set("k", b"v")
    await cache.get("k")
    await cache.get("k")
    await cache.get("absent")
    stats = StatsService(
        InMemoryMemoryStore(),
        pools={"postgres": Counting(size=4, idle=3)},
        cache=cache,
        batching=Counting(requested=10, issued=4),
    )
    report = await stats.all(ADA)
    assert report["cache"] == {
        "configured": True,
        "backend": "memory",
        "hits": 2,
        "misses": 1,
        "hit_rate": 0.6667,
        "entries": 1,
        "evictions": 0,
        "expired": 0,
    }
    assert report["connection_pool"] == {"postgres": {"configured": True, "size": 4, "idle": 3}}
    assert report["database_batching"] == {"configured": True, "requested": 10, "issued": 4}
    assert report["memory"] == {
        "user_id": str(ADA),
        "total": 0,
        "by_category": {},
        "turns_kept": 0,
        "embedding_models": {},
    }
