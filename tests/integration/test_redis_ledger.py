"""Redis stays true across processes after an outage, even when the process that saw it
has exited: the keys it could not repair are on this machine's disk (real redis-server)."""

from __future__ import annotations

from pathlib import Path

from tests.servers.redis import RedisServer

from companion.adapters.memory import InMemoryCache
from companion.adapters.redis import RedisCache
from companion.adapters.resilience.dirty_ledger import DirtyLedger
from companion.adapters.resilience.resilient_cache import ResilientCache


def process(url: str, namespace: str, ledger: DirtyLedger | None) -> ResilientCache:
    """One process's cache: Redis behind the breaker, its own in-process fallback."""
    primary = RedisCache.from_url(url, namespace=namespace, socket_timeout=0.05)
    return ResilientCache(primary, InMemoryCache(), ledger=ledger)


async def test_a_write_missed_by_an_exited_process_is_repaired_by_the_next_one(
    own_redis_server: RedisServer, redis_namespace: str, tmp_path: Path
) -> None:
    url, ledger = own_redis_server.url, DirtyLedger(tmp_path / "cache-dirty-keys")
    first = process(url, redis_namespace, ledger)
    await first.set("profile:v1:ada", b"lives in Paris")
    own_redis_server.freeze()  # hung, with its data: Paris stays in Redis
    try:
        await first.set("profile:v1:ada", b"lives in Berlin")  # the store has Berlin now
    finally:
        own_redis_server.thaw()
    assert ledger.read() == {"profile:v1:ada"}
    await first.close()  # the process exits before it could repair Redis

    # Another process of this machine starts: before reading anything, it repairs.
    second = process(url, redis_namespace, ledger)
    assert await second.get("profile:v1:ada") is None  # a miss (read the store), not Paris
    assert ledger.read() == set()
    # A process on another machine (no ledger of its own) reads the repaired Redis.
    elsewhere = process(url, redis_namespace, None)
    assert await elsewhere.get("profile:v1:ada") is None
    await second.close()
    await elsewhere.close()


def test_the_ledger_keeps_other_processes_keys_when_one_repairs(tmp_path: Path) -> None:
    ledger = DirtyLedger(tmp_path / "ledger")
    ledger.add(["a", "b"])
    DirtyLedger(tmp_path / "ledger").add(["c"])  # another process, same machine
    ledger.discard(["a"])
    assert ledger.read() == {"b", "c"}
    ledger.add(["*"])
    ledger.discard(["*"])
    assert ledger.read() == set()
