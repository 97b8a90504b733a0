"""The Cache contract, run against every adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from companion.adapters.memory import InMemoryCache
from companion.ports.cache import Cache


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture(params=["memory"])
async def cache(request: pytest.FixtureRequest, ticks: FakeMonotonic) -> AsyncIterator[Cache]:
    adapter = InMemoryCache(max_entries=3, default_ttl_seconds=60, monotonic=ticks)
    yield adapter
    await adapter.close()


async def test_set_then_get(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    await cache.set("k", b"w")
    assert await cache.get("k") == b"w"


async def test_entries_expire(cache: Cache, ticks: FakeMonotonic) -> None:
    await cache.set("short", b"1", ttl_seconds=5)
    await cache.set("default", b"2")
    ticks.now += 6
    assert await cache.get("short") is None
    assert await cache.get("default") == b"2"
    ticks.now += 60
    assert await cache.get("default") is None


async def test_least_recently_used_is_evicted(cache: Cache) -> None:
    for key in ("a", "b", "c"):
        await cache.set(key, key.encode())
    assert await cache.get("a") == b"a"  # a is now the most recently used
    await cache.set("d", b"d")
    assert await cache.get("b") is None
    assert [await cache.get(k) for k in ("a", "c", "d")] == [b"a", b"c", b"d"]


async def test_delete_reports_what_was_there(cache: Cache) -> None:
    await cache.set("a", b"1")
    assert await cache.delete("a", "missing") == 1
    assert await cache.get("a") is None


async def test_bad_ttl_is_rejected(cache: Cache) -> None:
    with pytest.raises(ValueError, match="TTL"):
        await cache.set("a", b"1", ttl_seconds=0)
