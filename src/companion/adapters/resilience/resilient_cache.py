"""ResilientCache: the shared (Redis) cache behind a circuit breaker; in-process in an outage.

Lives in the app layer, like FallbackChatModel, because it joins two adapters and
adapter packages are independent; both arrive as Cache ports.

Breaker: **closed** (use the primary) → after ``failure_threshold`` consecutive failures,
**open** (use only the fallback; the primary costs nothing) → after ``cooldown_seconds``
the next call is the **half-open** probe, and one success closes it again.

No stale reads after an outage. A write (set or delete) that could not reach the primary
leaves the primary holding a value that may no longer be true, so its key is remembered
as *dirty*. The recovery probe deletes the dirty keys from the primary in one round trip
(or, if more than ``max_dirty_keys`` piled up, clears the whole namespace), and until a
dirty key is repaired it is never read from the primary. Values written to the fallback
during the outage are dropped on recovery, and every write while closed drops the
fallback's copy too, so a later outage never serves a value older than this process's
last write. Other processes' writes cannot reach this process's fallback: entries there
live at most ``fallback_ttl_seconds``, which bounds how stale an outage read can be.

Across processes: with a ``ledger`` (:class:`DirtyLedger`, a file in the data directory)
every dirty key is also written to disk, and each process on the machine repairs what
the ledger lists in one call when it first reaches the primary. So a key another
process left stale is repaired even when that process exited before the outage ended.
"""

from __future__ import annotations

import enum
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import structlog

from companion.adapters.resilience.dirty_ledger import EVERYTHING, DirtyLedger
from companion.domain.errors import CacheError
from companion.ports.cache import Cache
from companion.ports.stats_source import StatsSource

__all__ = ["BreakerState", "ResilientCache", "SharedCache"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

DEFAULT_FAILURE_THRESHOLD = 3
DEFAULT_COOLDOWN_SECONDS = 5.0
DEFAULT_MAX_DIRTY_KEYS = 10_000
# Entries kept in the per-process cache (the fallback, or the only cache when Redis is
# disabled) expire sooner: other processes' writes (the CLI next to a running agent)
# cannot invalidate them, so this bounds how long they may be stale.
DEFAULT_FALLBACK_TTL_SECONDS = 30.0
_PROBE_KEY = "breaker:probe"


class SharedCache(Cache, Protocol):
    """A cache shared between processes (Redis): it can be probed and cleared."""

    async def ping(self) -> None:
        """Raise CacheError unless the backend answers now."""
        ...

    async def clear(self) -> int:
        """Remove every entry this cache owns; returns how many."""
        ...


class BreakerState(enum.StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"  # the primary serves
    OPEN = "open"  # the fallback serves; the primary is left alone until the cool-down ends
    HALF_OPEN = "half_open"  # one call is probing the primary; the others use the fallback
    DISABLED = "disabled"  # no primary configured (REDIS_ENABLED=false): the fallback serves


def _kind(key: str) -> str:
    """What a key caches, for the per-kind counters: its text up to the first ':'."""
    head, sep, _ = key.partition(":")
    return head if sep and head else "other"


class ResilientCache(Cache, StatsSource):
    """The primary while it answers; the in-process ``fallback`` when it does not.

    No cache error reaches the caller: a failed read is a fallback read, a failed write is
    a fallback write. Errors that are the caller's fault (InvalidInput) are raised.
    """

    def __init__(
        self,
        primary: SharedCache | None,
        fallback: Cache,
        *,
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        max_dirty_keys: int = DEFAULT_MAX_DIRTY_KEYS,
        fallback_ttl_seconds: float = DEFAULT_FALLBACK_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        ledger: DirtyLedger | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if not 0 <= cooldown_seconds < math.inf or not 0 < fallback_ttl_seconds < math.inf:
            raise ValueError("cool-down and fallback TTL must be finite, non-negative seconds")
        self._primary = primary
        self._fallback = fallback
        self._threshold = failure_threshold
        self._cooldown = cooldown_seconds
        self._max_dirty = max_dirty_keys
        self._fallback_ttl = fallback_ttl_seconds
        self._monotonic = monotonic
        self._state = BreakerState.DISABLED if primary is None else BreakerState.CLOSED
        self._failures = 0  # consecutive
        self._retry_at = 0.0
        self._dirty: set[str] = set()
        self._flush_all = False  # the dirty set overflowed: clear the namespace on recovery
        self._counts: Counter[str] = Counter()
        self._by_kind: dict[str, Counter[str]] = {}
        self._ledger = ledger if primary is not None else None
        self._ledger_checked = self._ledger is None
        self._adopted = False  # keys taken from the ledger, not repaired yet

    # --- the breaker ---------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """Closed, open, half-open, or disabled (no primary)."""
        return self._state

    def _failed(self, operation: str, exc: CacheError) -> None:
        self._counts["errors"] += 1
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or (
            self._state is BreakerState.CLOSED and self._failures >= self._threshold
        ):
            if self._state is BreakerState.CLOSED:
                self._counts["opened"] += 1
                log.warning(
                    "cache_breaker_opened",
                    operation=operation,
                    error=type(exc).__name__,
                    retry_in_seconds=self._cooldown,
                )
            self._state = BreakerState.OPEN
            self._retry_at = self._monotonic() + self._cooldown

    async def _probe(self) -> bool:
        """In half-open: repair the primary (drop what went stale), then close. True if closed."""
        assert self._primary is not None
        self._state = BreakerState.HALF_OPEN
        dirty, flush_all = set(self._dirty), self._flush_all
        try:
            if flush_all:
                await self._primary.clear()
            elif dirty:
                await self._primary.delete(*dirty)
            else:
                await self._primary.ping()
        except CacheError as exc:
            self._failed("probe", exc)
            return False
        # Keys written during the probe stayed dirty; they are repaired on first use.
        self._dirty -= dirty
        if flush_all:
            self._flush_all = False
        self._forget_repaired({EVERYTHING} if flush_all else dirty)
        if dirty:
            await self._fallback.delete(*dirty)
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._counts["recovered"] += 1
        log.info("cache_breaker_closed", repaired_keys=len(dirty), cleared_namespace=flush_all)
        return True

    async def _use_primary(self) -> bool:
        if not self._ledger_checked:
            self._adopt_ledger()
        if self._state is BreakerState.CLOSED:
            if self._adopted:
                self._adopted = False
                # What another process left stale, repaired before anything is read.
                return await self._probe()
            return True
        if self._state is BreakerState.OPEN and self._monotonic() >= self._retry_at:
            return await self._probe()
        return False  # disabled, open in its cool-down, or another call is probing

    def _mark_dirty(self, keys: tuple[str, ...]) -> None:
        if self._primary is None or self._flush_all:
            return
        self._dirty.update(keys)
        if len(self._dirty) > self._max_dirty:
            self._dirty.clear()
            self._flush_all = True
        self._record((EVERYTHING,) if self._flush_all else keys)

    def _adopt_ledger(self) -> None:
        """Take in the keys this machine's ledger says may be stale (once per process)."""
        self._ledger_checked = True
        assert self._ledger is not None
        try:
            listed = self._ledger.read()
        except OSError as exc:
            log.warning("cache_ledger_unreadable", error=type(exc).__name__)
            return
        if not listed:
            return
        self._adopted = True
        if EVERYTHING in listed or len(listed) > self._max_dirty:
            self._flush_all = True
        else:
            self._dirty.update(listed)

    def _record(self, keys: tuple[str, ...]) -> None:
        if self._ledger is None:
            return
        try:
            self._ledger.add(keys)
        except OSError as exc:  # the in-process repair still happens
            log.warning("cache_ledger_unwritable", error=type(exc).__name__)

    def _forget_repaired(self, keys: set[str]) -> None:
        if self._ledger is None or not keys:
            return
        try:
            self._ledger.discard(keys)
        except OSError as exc:
            log.warning("cache_ledger_unwritable", error=type(exc).__name__)

    async def _attempt(
        self, operation: str, call: Callable[[], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        """``(True, result)`` of ``call()`` on the primary, or ``(False, None)`` if it failed."""
        try:
            result = await call()
        except CacheError as exc:
            self._failed(operation, exc)
            return False, None
        self._failures = 0
        return True, result

    async def _repaired(self, primary: SharedCache, key: str) -> bool:
        """Whether the primary may be read for ``key``: nothing stale is left there for it."""
        if self._flush_all:
            ok, _ = await self._attempt("repair", primary.clear)
            if ok:
                self._flush_all = False
                self._forget_repaired({EVERYTHING})
            return ok
        if key not in self._dirty:
            return True
        ok, _ = await self._attempt("repair", lambda: primary.delete(key))
        if ok:
            self._dirty.discard(key)
            self._forget_repaired({key})
            await self._fallback.delete(key)
        return ok

    # --- the Cache port ------------------------------------------------------------------

    def _count(self, key: str, outcome: str) -> None:
        self._counts[outcome] += 1
        self._by_kind.setdefault(_kind(key), Counter())[outcome] += 1

    def _fell_back(self) -> None:
        if self._state is not BreakerState.DISABLED:
            self._counts["fallbacks"] += 1

    async def get(self, key: str) -> bytes | None:
        primary = self._primary
        if primary is not None and await self._use_primary() and await self._repaired(primary, key):
            ok, value = await self._attempt("get", lambda: primary.get(key))
            if ok:
                self._count(key, "misses" if value is None else "hits")
                return value
        self._fell_back()
        value = await self._fallback.get(key)
        self._count(key, "misses" if value is None else "hits")
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        primary = self._primary
        if primary is not None and await self._use_primary():
            ok, _ = await self._attempt("set", lambda: primary.set(key, value, ttl_seconds))
            if ok:
                self._dirty.discard(key)  # the new value replaced whatever was stale
                await self._fallback.delete(key)  # no older copy outlives this write
                return
        self._mark_dirty((key,))
        self._fell_back()
        # Disabled or not, this process's cache cannot hear other processes' writes.
        ttl = self._fallback_ttl if ttl_seconds is None else min(ttl_seconds, self._fallback_ttl)
        await self._fallback.set(key, value, ttl)

    async def delete(self, *keys: str) -> int:
        """Remove keys from both caches; a key the primary could not drop is repaired later."""
        if not keys:
            return 0
        local = await self._fallback.delete(*keys)
        primary = self._primary
        if primary is not None and await self._use_primary():
            ok, removed = await self._attempt("delete", lambda: primary.delete(*keys))
            if ok:
                self._dirty.difference_update(keys)
                return max(removed or 0, local)
        self._mark_dirty(keys)
        self._fell_back()
        return local

    async def close(self) -> None:
        """Close both caches."""
        if self._primary is not None:
            await self._primary.close()
        await self._fallback.close()

    # --- monitoring ----------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        """Hits, misses, hit rate, fallbacks and the breaker's state (JSON-serializable)."""
        hits, misses = self._counts["hits"], self._counts["misses"]
        by_kind = {
            kind: {
                "hits": c["hits"],
                "misses": c["misses"],
                "hit_rate": _rate(c["hits"], c["misses"]),
            }
            for kind, c in sorted(self._by_kind.items())
        }
        return {
            "backend": "memory" if self._primary is None else "redis",
            "state": self._state.value,
            "hits": hits,
            "misses": misses,
            "hit_rate": _rate(hits, misses),
            "fallbacks": self._counts["fallbacks"],
            "errors": self._counts["errors"],
            "opened": self._counts["opened"],
            "recovered": self._counts["recovered"],
            "dirty_keys": len(self._dirty),
            "flush_pending": self._flush_all,
            "by_kind": by_kind,
        }


def _rate(hits: int, misses: int) -> float | None:
    total = hits + misses
    return round(hits / total, 4) if total else None
