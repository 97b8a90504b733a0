"""The Cache contract, run against every adapter and against the resilient composition.

``redis`` is a RedisCache on a real redis-server (127.0.0.1); ``resilient`` puts it behind
the circuit breaker with the in-process fallback; ``resilient-outage`` is the breaker with
a Redis that cannot be reached, so the fallback answers; ``resilient-disabled`` is
REDIS_ENABLED=false. Eviction order and clock-driven expiry are the in-process cache's
own promises and are tested on it alone (Redis expires by its own clock: see
tests/integration/test_redis_cache.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.servers.redis import RedisServer, _free_port

from companion.adapters.memory import InMemoryCache
from companion.adapters.redis import RedisCache
from companion.adapters.resilience.resilient_cache import BreakerState, ResilientCache
from companion.domain.errors import InvalidInput
from companion.ports.cache import Cache

CACHES = ["memory", "redis", "resilient", "resilient-outage", "resilient-disabled"]


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture(params=CACHES)
async def cache(
    request: pytest.FixtureRequest, ticks: FakeMonotonic, redis_namespace: str
) -> AsyncIterator[Cache]:
    kind: str = request.param
    adapter: Cache
    if kind == "memory":
        adapter = InMemoryCache(max_entries=100, default_ttl_seconds=60, monotonic=ticks)
    elif kind == "resilient-disabled":
        adapter = ResilientCache(None, InMemoryCache(monotonic=ticks), monotonic=ticks)
    elif kind == "resilient-outage":
        dead = RedisCache.from_url(f"redis://127.0.0.1:{_free_port()}/0", namespace=redis_namespace)
        adapter = ResilientCache(dead, InMemoryCache(monotonic=ticks), monotonic=ticks)
        while adapter.state is BreakerState.CLOSED:  # the outage is noticed, the breaker opens
            assert await adapter.get("anything") is None
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        redis = RedisCache.from_url(server.url, namespace=redis_namespace)
        adapter = redis if kind == "redis" else ResilientCache(redis, InMemoryCache())
    yield adapter
    if kind == "resilient-outage":
        assert isinstance(adapter, ResilientCache) and adapter.state is BreakerState.OPEN
    await adapter.close()


@pytest.fixture
def local_cache(ticks: FakeMonotonic) -> InMemoryCache:
    return InMemoryCache(max_entries=3, default_ttl_seconds=60, monotonic=ticks)


async def test_set_then_get(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    await cache.set("k", b"w")
    assert await cache.get("k") == b"w"


async def test_delete_reports_what_was_there(cache: Cache) -> None:
    await cache.set("a", b"1")
    assert await cache.delete("a", "missing") == 1
    assert await cache.get("a") is None


async def test_delete_many_keys_at_once(cache: Cache) -> None:
    for key in ("x1", "x2", "x3"):
        await cache.set(key, key.encode())
    assert await cache.delete("x1", "x2", "x3", "x4") == 3
    assert [await cache.get(k) for k in ("x1", "x2", "x3")] == [None, None, None]
    assert await cache.delete() == 0


async def test_values_are_bytes_exactly(cache: Cache) -> None:
    odd = bytes(range(256)) + b"\x00\r\n"
    await cache.set("binary", odd)
    await cache.set("empty", b"")
    assert await cache.get("binary") == odd
    assert await cache.get("empty") == b""  # an empty value is a hit, not a miss


async def test_keys_are_distinct(cache: Cache) -> None:
    await cache.set("profile:1", b"one")
    await cache.set("profile:10", b"ten")
    await cache.set("profile:1 ", b"space")
    assert await cache.get("profile:1") == b"one"
    assert await cache.get("profile:10") == b"ten"
    assert await cache.get("profile:1 ") == b"space"
    assert await cache.get("profile:") is None


async def test_bad_ttl_is_rejected(cache: Cache) -> None:
    with pytest.raises(ValueError, match="TTL"):
        await cache.set("a", b"1", ttl_seconds=0)


async def test_text_values_are_rejected(cache: Cache) -> None:
    with pytest.raises(InvalidInput, match="bytes"):
        await cache.set("a", "text")  # type: ignore[arg-type]
    assert await cache.get("a") is None


async def test_entries_expire(local_cache: InMemoryCache, ticks: FakeMonotonic) -> None:
    await local_cache.set("short", b"1", ttl_seconds=5)
    await local_cache.set("default", b"2")
    ticks.now += 6
    assert await local_cache.get("short") is None
    assert await local_cache.get("default") == b"2"
    ticks.now += 60
    assert await local_cache.get("default") is None


async def test_least_recently_used_is_evicted(local_cache: InMemoryCache) -> None:
    for key in ("a", "b", "c"):
        await local_cache.set(key, key.encode())
    assert await local_cache.get("a") == b"a"  # a is now the most recently used
    await local_cache.set("d", b"d")
    assert await local_cache.get("b") is None
    assert [await local_cache.get(k) for k in ("a", "c", "d")] == [b"a", b"c", b"d"]
