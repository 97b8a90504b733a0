"""The in-process cache lets go of what has expired as writes come, and keeps nothing
longer than its TTL cap: a long-lived worker holds its last minutes' users, not everyone
it ever served."""

from __future__ import annotations

from companion.adapters.memory import InMemoryCache


async def test_users_gone_for_longer_than_the_ttl_leave_nothing_behind() -> None:
    now = [0.0]
    cache = InMemoryCache(
        max_entries=10_000, default_ttl_seconds=300, max_ttl_seconds=300, monotonic=lambda: now[0]
    )
    for user in range(1000):  # a user every 2 s, as a busy worker serves them
        now[0] = user * 2.0
        await cache.set(f"profile:{user}", b"{}")
        await cache.set(f"greeting:{user}", b"{}", ttl_seconds=6 * 3600)  # capped here
        await cache.set(f"profile:{user}", b'{"name": "x"}')  # rewritten: one entry
    # The last 300 s hold 150 users' entries; nothing older stays.
    assert len(cache) <= 2 * 151
    assert await cache.get("profile:999") == b'{"name": "x"}'
    assert await cache.get("greeting:0") is None
    assert cache.stats()["expired"] >= 2 * (1000 - 151)
    assert len(cache._expiry) <= 2 * len(cache) + 64  # its bookkeeping is bounded too


async def test_without_a_cap_a_long_ttl_is_kept() -> None:
    now = [0.0]
    cache = InMemoryCache(default_ttl_seconds=300, monotonic=lambda: now[0])
    await cache.set("greeting:ada", b"{}", ttl_seconds=6 * 3600)
    now[0] = 3600.0
    await cache.set("other", b"{}")
    assert await cache.get("greeting:ada") == b"{}"


def test_a_ttl_cap_that_is_not_positive_is_refused() -> None:
    import pytest

    from companion.domain.errors import InvalidInput

    for cap in (0.0, -1.0, float("nan")):
        with pytest.raises(InvalidInput, match="cap"):
            InMemoryCache(max_ttl_seconds=cap)
