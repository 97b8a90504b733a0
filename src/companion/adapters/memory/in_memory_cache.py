"""InMemoryCache: an in-process TTL + LRU cache with a bounded number of entries."""

from __future__ import annotations

import heapq
import time
from collections import OrderedDict
from collections.abc import Callable

from companion.domain.errors import InvalidInput
from companion.ports.cache import Cache

# Expired entries a write lets go of at most (each write adds one).
_EXPIRED_PER_WRITE = 8


class InMemoryCache(Cache):
    """Least-recently-used eviction beyond ``max_entries``; entries expire after their TTL,
    at most ``max_ttl_seconds`` here, and each write lets go of a few that have expired, so
    a long-lived process holds the users of its last few minutes, not a full cache of
    everyone it ever served (a longer TTL is for a shared cache, where other processes
    read it).

    Single event loop use: every operation is synchronous under the hood, so no lock is
    needed between awaits.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        default_ttl_seconds: float = 300.0,
        max_ttl_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries <= 0:
            raise InvalidInput("cache max_entries must be positive")
        if default_ttl_seconds <= 0:
            raise InvalidInput("cache default TTL must be positive")
        if max_ttl_seconds is not None and not max_ttl_seconds > 0:
            raise InvalidInput("cache TTL cap must be positive")
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._expiry: list[tuple[float, str]] = []  # (expires, key), some stale
        self._max = max_entries
        self._ttl = default_ttl_seconds
        self._max_ttl = max_ttl_seconds
        self._now = monotonic
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        expires, value = entry
        if expires <= self._now():
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        ttl = self._ttl if ttl_seconds is None else ttl_seconds
        if ttl <= 0:
            raise InvalidInput("cache TTL must be positive")
        if not isinstance(value, bytes):
            raise InvalidInput("cache values are bytes")
        if self._max_ttl is not None:
            ttl = min(ttl, self._max_ttl)
        now = self._now()
        expires = now + ttl
        self._entries[key] = (expires, value)
        self._entries.move_to_end(key)
        heapq.heappush(self._expiry, (expires, key))
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
            self.evictions += 1
        self._drop_expired(now)

    def _drop_expired(self, now: float) -> None:
        expiry = self._expiry
        for _ in range(_EXPIRED_PER_WRITE):
            if not expiry or expiry[0][0] > now:
                break
            expires, key = heapq.heappop(expiry)
            entry = self._entries.get(key)
            if entry is not None and entry[0] == expires:  # not rewritten since
                del self._entries[key]
                self.expired += 1
        if len(expiry) > 2 * len(self._entries) + 64:  # stale marks of rewritten keys
            self._expiry = [(e, k) for k, (e, _) in self._entries.items()]
            heapq.heapify(self._expiry)

    async def delete(self, *keys: str) -> int:
        return sum(self._entries.pop(k, None) is not None for k in keys)

    def stats(self) -> dict[str, object]:
        """Counters since start: hits, misses, hit rate, entries held, evictions."""
        lookups = self.hits + self.misses
        return {
            "backend": "memory",
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": round(self.hits / lookups, 4) if lookups else None,
            "entries": len(self._entries),
            "evictions": self.evictions,
            "expired": self.expired,
        }

    async def close(self) -> None:
        self._entries.clear()
        self._expiry.clear()
