"""ResilientCache: the breaker's states on a manual clock, and no stale value after an outage."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from companion.adapters.memory import InMemoryCache, ManualClock
from companion.adapters.resilience.resilient_cache import BreakerState, ResilientCache
from companion.domain.errors import CacheUnavailable, InvalidInput


class SharedStub(InMemoryCache):
    """A 'Redis' that keeps its entries through an outage: ``down`` makes every call fail."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0
        self.cleared = 0
        self.gate: asyncio.Event | None = None  # when set, calls wait for it

    async def _reach(self) -> None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise CacheUnavailable("Redis cache get failed (ConnectionError)")

    async def get(self, key: str) -> bytes | None:
        await self._reach()
        return await super().get(key)

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        await self._reach()
        await super().set(key, value, ttl_seconds)

    async def delete(self, *keys: str) -> int:
        await self._reach()
        return await super().delete(*keys)

    async def ping(self) -> None:
        await self._reach()

    async def clear(self) -> int:
        await self._reach()
        self.cleared += 1
        n = len(self)
        self._entries.clear()
        return n


class Kit:
    def __init__(self, *, threshold: int = 3, cooldown: float = 5.0, max_dirty: int = 100) -> None:
        self.clock = ManualClock()
        self.primary = SharedStub()
        self.fallback = InMemoryCache()
        self.cache = ResilientCache(
            self.primary,
            self.fallback,
            failure_threshold=threshold,
            cooldown_seconds=cooldown,
            max_dirty_keys=max_dirty,
            monotonic=lambda: self.clock.now().timestamp(),
        )

    def wait(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def kit() -> Kit:
    return Kit()


async def test_closed_reads_and_writes_the_primary(kit: Kit) -> None:
    await kit.cache.set("profile:1", b"ada")
    assert await kit.primary.get("profile:1") == b"ada"
    assert await kit.cache.get("profile:1") == b"ada"
    assert await kit.fallback.get("profile:1") is None
    stats = kit.cache.stats()
    assert (stats["state"], stats["hits"], stats["fallbacks"]) == ("closed", 1, 0)


async def test_failures_below_the_threshold_keep_it_closed(kit: Kit) -> None:
    kit.primary.down = True
    for _ in range(2):
        assert await kit.cache.get("k") is None  # a failure is a miss, never an error
    assert kit.cache.state is BreakerState.CLOSED
    kit.primary.down = False
    await kit.cache.get("k")
    kit.primary.down = True
    await kit.cache.get("k")
    await kit.cache.get("k")
    assert kit.cache.state is BreakerState.CLOSED  # failures must be consecutive


async def test_the_threshold_opens_it_and_then_the_primary_is_left_alone(kit: Kit) -> None:
    kit.primary.down = True
    with capture_logs() as logs:
        for _ in range(3):
            await kit.cache.get("k")
    assert kit.cache.state is BreakerState.OPEN
    assert [e["event"] for e in logs] == ["cache_breaker_opened"]
    calls = kit.primary.calls
    await kit.cache.set("k", b"v")
    assert await kit.cache.get("k") == b"v"  # served by the in-process cache
    kit.wait(4.9)
    await kit.cache.get("k")
    assert kit.primary.calls == calls  # no call pays the dead server's timeout
    assert kit.cache.stats()["fallbacks"] == 3 + 3


async def test_after_the_cool_down_one_probe_closes_it(kit: Kit) -> None:
    kit.primary.down = True
    for _ in range(3):
        await kit.cache.get("k")
    kit.primary.down = False
    kit.wait(5)
    with capture_logs() as logs:
        assert await kit.cache.get("k") is None
    assert kit.cache.state is BreakerState.CLOSED
    assert [e["event"] for e in logs] == ["cache_breaker_closed"]
    await kit.cache.set("k", b"back")
    assert await kit.primary.get("k") == b"back"
    assert kit.cache.stats()["recovered"] == 1


async def test_a_failed_probe_waits_another_cool_down(kit: Kit) -> None:
    kit.primary.down = True
    for _ in range(3):
        await kit.cache.get("k")
    kit.wait(5)
    calls = kit.primary.calls
    await kit.cache.get("k")  # the probe, which fails
    assert kit.primary.calls == calls + 1
    assert kit.cache.state is BreakerState.OPEN
    kit.wait(4)
    await kit.cache.get("k")
    assert kit.primary.calls == calls + 1
    kit.primary.down = False
    kit.wait(1)
    await kit.cache.get("k")
    assert kit.cache.state is BreakerState.CLOSED
    assert kit.cache.stats()["opened"] == 1  # one outage, however many probes


async def test_while_one_call_probes_the_others_use_the_fallback(kit: Kit) -> None:
    kit.primary.down = True
    for _ in range(3):
        await kit.cache.get("k")
    await kit.cache.set("k", b"local")
    kit.primary.down = False
    kit.wait(5)
    kit.primary.gate = asyncio.Event()
    probe = asyncio.create_task(kit.cache.get("other"))
    await asyncio.sleep(0)
    assert kit.cache.state is BreakerState.HALF_OPEN
    calls = kit.primary.calls
    assert await kit.cache.get("k") == b"local"  # not queued behind the probe
    assert kit.primary.calls == calls
    kit.primary.gate.set()
    await probe
    assert kit.cache.state is BreakerState.CLOSED


async def test_a_value_changed_during_the_outage_is_not_read_stale_after_it(kit: Kit) -> None:
    await kit.cache.set("profile:1", b"name=Ada")
    kit.primary.down = True
    for _ in range(3):
        await kit.cache.get("other")
    await kit.cache.set("profile:1", b"name=Bea")  # the primary still holds name=Ada
    await kit.cache.delete("memories:1")
    assert await kit.cache.get("profile:1") == b"name=Bea"
    assert kit.cache.stats()["dirty_keys"] == 2
    kit.primary.down = False
    kit.wait(5)
    # Recovered: the stale copy was dropped, so the caller reloads from the store.
    assert await kit.cache.get("profile:1") is None
    assert await kit.primary.get("profile:1") is None
    assert kit.cache.stats()["dirty_keys"] == 0
    assert await kit.fallback.get("profile:1") is None  # no copy left to serve later


async def test_a_failed_write_while_closed_is_repaired_before_the_key_is_read(kit: Kit) -> None:
    await kit.cache.set("profile:1", b"old")
    kit.primary.down = True
    await kit.cache.set("profile:1", b"new")  # one failure: still closed
    assert kit.cache.state is BreakerState.CLOSED
    kit.primary.down = False
    assert await kit.cache.get("profile:1") is None  # never the primary's "old"
    assert await kit.primary.get("profile:1") is None
    await kit.cache.set("profile:1", b"newer")
    assert await kit.cache.get("profile:1") == b"newer"


async def test_too_many_dirty_keys_clear_the_namespace_on_recovery() -> None:
    kit = Kit(max_dirty=5)
    await kit.cache.set("untouched", b"x")
    kit.primary.down = True
    for _ in range(3):
        await kit.cache.get("k")
    for i in range(6):
        await kit.cache.set(f"profile:{i}", b"during")
    assert kit.cache.stats()["flush_pending"] is True
    kit.primary.down = False
    kit.wait(5)
    await kit.cache.get("profile:0")
    assert kit.primary.cleared == 1
    assert await kit.primary.get("untouched") is None  # everything went, to be sure
    assert kit.cache.stats()["flush_pending"] is False


async def test_writes_while_closed_drop_the_fallbacks_copy(kit: Kit) -> None:
    kit.primary.down = True
    for _ in range(3):
        await kit.cache.get("k")
    await kit.cache.set("profile:1", b"v1")  # in the fallback
    kit.primary.down = False
    kit.wait(5)
    await kit.cache.get("k")  # recovered
    await kit.cache.set("profile:1", b"v2")
    kit.primary.down = True
    for _ in range(3):
        await kit.cache.get("k")  # a second outage
    assert await kit.cache.get("profile:1") is None  # not v1 from the first outage


async def test_fallback_entries_expire_sooner_than_shared_ones() -> None:
    clock = ManualClock()
    fallback = InMemoryCache(monotonic=lambda: clock.now().timestamp())
    primary = SharedStub()
    cache = ResilientCache(primary, fallback, fallback_ttl_seconds=30, monotonic=lambda: 0.0)
    primary.down = True
    for _ in range(3):
        await cache.get("k")
    await cache.set("greeting:1", b"g", ttl_seconds=6 * 3600)
    clock.advance(timedelta(seconds=31))
    assert await cache.get("greeting:1") is None


async def test_without_redis_entries_live_only_as_long_as_the_fallback_ttl() -> None:
    clock = ManualClock()
    cache = ResilientCache(
        None,
        InMemoryCache(monotonic=lambda: clock.now().timestamp()),
        fallback_ttl_seconds=30,
    )
    await cache.set("profile:1", b"ada", ttl_seconds=600)
    clock.advance(timedelta(seconds=29))
    assert await cache.get("profile:1") == b"ada"
    clock.advance(timedelta(seconds=2))
    assert await cache.get("profile:1") is None  # another process may have changed it


async def test_caller_errors_are_raised_and_do_not_trip_the_breaker(kit: Kit) -> None:
    for _ in range(5):
        with pytest.raises(InvalidInput):
            await kit.cache.set("k", b"v", ttl_seconds=-1)
    assert kit.cache.state is BreakerState.CLOSED
    assert kit.cache.stats()["errors"] == 0


async def test_disabled_uses_the_in_process_cache_alone() -> None:
    cache = ResilientCache(None, InMemoryCache())
    await cache.set("profile:1", b"ada")
    assert await cache.get("profile:1") == b"ada"
    assert await cache.get("profile:2") is None
    stats = cache.stats()
    assert stats["state"] == "disabled" and stats["backend"] == "memory"
    assert (stats["hits"], stats["misses"], stats["hit_rate"], stats["fallbacks"]) == (
        1,
        1,
        0.5,
        0,
    )


async def test_stats_count_by_kind_of_entry(kit: Kit) -> None:
    await kit.cache.set("profile:v1:1", b"p")
    await kit.cache.get("profile:v1:1")
    await kit.cache.get("profile:v1:2")
    await kit.cache.get("qemb:model:abc")
    await kit.cache.get("plain")
    stats = kit.cache.stats()
    assert stats["by_kind"] == {
        "other": {"hits": 0, "misses": 1, "hit_rate": 0.0},
        "profile": {"hits": 1, "misses": 1, "hit_rate": 0.5},
        "qemb": {"hits": 0, "misses": 1, "hit_rate": 0.0},
    }
    assert stats["hit_rate"] == 0.25
