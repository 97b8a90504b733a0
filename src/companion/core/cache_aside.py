"""Cache-aside for the services: keys, TTLs and codecs of what they cache, and one helper.

What is cached, and what keeps it true:

- ``profile:v1:<user>`` — the user's profile, read on every turn. Every profile write
  goes through :class:`~companion.core.user_service.UserService` and writes
  the new profile through to the cache after the store has it.
- ``greeting:v1:<user>`` — what the next greeting is made of: the latest session summary
  (or that there is none yet). Written through when a session ends; the greeting itself
  is composed at session start, because it says how long ago that was.
- ``memories:v1:<user>`` — the user's most recent memories (the first page of
  ``MemoryService.list``). Deleted after every write to the user's memories, including
  the access counts retrieval records.

The cache is never the source of truth: a miss, an unreadable entry or a failing cache
reads the store, and a cache error never reaches the user. Entries are JSON, under a
versioned key, so a new format never reads an old one.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import structlog

from companion.domain.errors import CacheError
from companion.domain.models import (
    ConversationSummary,
    Memory,
    MemoryCategory,
    MemoryRevision,
    MemorySource,
    UserProfile,
)
from companion.ports.cache import Cache
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)

T = TypeVar("T")

PROFILE_TTL_SECONDS = 600.0
GREETING_TTL_SECONDS = 6 * 3600.0
RECENT_MEMORIES_TTL_SECONDS = 300.0
# How many memories the cached first page of a user's list holds.
RECENT_MEMORIES = 50
# Larger values are not cached (a memory with a long history): the store serves them.
MAX_CACHED_BYTES = 256 * 1024


def profile_key(user_id: UUID) -> str:
    """The cache key of a user's profile."""
    return f"profile:v1:{user_id}"


def greeting_key(user_id: UUID) -> str:
    """The cache key of what a user's next greeting is made of (the latest summary)."""
    return f"greeting:v1:{user_id}"


def session_closed_key(user_id: UUID) -> str:
    """The cache key saying which session of a user ended cleanly last (nothing is lost
    to summarise while it holds: no session has begun since)."""
    return f"session-closed:v1:{user_id}"


def recent_memories_key(user_id: UUID) -> str:
    """The cache key of a user's most recent memories."""
    return f"memories:v1:{user_id}"


# --- codecs --------------------------------------------------------------------------------

_DATETIMES = frozenset(
    {
        "created_at",
        "updated_at",
        "last_seen_at",
        "last_accessed_at",
        "valid_from",
        "valid_to",
        "started_at",
        "ended_at",
    }
)
_UUIDS = frozenset({"id", "user_id", "session_id"})
_TUPLES = frozenset({"interests", "goals", "participants", "topics", "open_threads"})


def _plain(value: Any) -> Any:
    """A dataclass (or what it holds) as JSON-ready values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DATETIMES:
        return datetime.fromisoformat(value)
    if name in _UUIDS:
        return UUID(value)
    if name in _TUPLES:
        return tuple(value)
    if name == "category":
        return MemoryCategory(value)
    if name == "source":
        return MemorySource(value)
    if name == "history":
        return tuple(MemoryRevision(**{k: _field(k, v) for k, v in r.items()}) for r in value)
    return value


def _build(cls: Callable[..., T], data: Mapping[str, Any]) -> T:
    return cls(**{name: _field(name, value) for name, value in data.items()})


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How one kind of cached value becomes bytes and back."""

    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


def _dumps(value: Any) -> bytes:
    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False).encode()


def _profile(raw: bytes) -> UserProfile | None:
    data = json.loads(raw)
    return None if data is None else _build(UserProfile, data)


def _summary(raw: bytes) -> ConversationSummary | None:
    data = json.loads(raw)
    return None if data is None else _build(ConversationSummary, data)


def _memories(raw: bytes) -> list[Memory]:
    return [_build(Memory, item) for item in json.loads(raw)]


PROFILE: Codec[UserProfile | None] = Codec(_dumps, _profile)
# None is cached too: "no summary yet" spares a new user's every session start a read.
SUMMARY: Codec[ConversationSummary | None] = Codec(_dumps, _summary)
MEMORIES: Codec[list[Memory]] = Codec(_dumps, _memories)


# --- the helper ----------------------------------------------------------------------------


class CacheAside:
    """Reads through and writes through one Cache; a cache failure only ever costs a read.

    Writers call :meth:`write` or :meth:`invalidate` *after* the store has the change.
    A reader whose load raced a concurrent write may still cache the older value; the
    entry's TTL bounds how long (a session's own writes are sequential, so it reads them).
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def read(
        self,
        key: str,
        load: Callable[[], Awaitable[T]],
        codec: Codec[T],
        ttl_seconds: float,
        *,
        keep: Callable[[T], bool] = lambda _: True,
    ) -> T:
        """The cached value, or ``load()``'s (cached when ``keep`` says so)."""
        raw = await self.get_bytes(key)
        if raw is not None:
            try:
                return codec.decode(raw)
            except (ValueError, TypeError, KeyError, AttributeError):
                log.warning("cache_entry_unreadable", kind=key.partition(":")[0])
                await self.invalidate(key)
        value = await load()
        if keep(value):
            await self.write(key, value, codec, ttl_seconds)
        return value

    async def write(self, key: str, value: T, codec: Codec[T], ttl_seconds: float) -> None:
        """Store the value the store now holds (too large to cache: drop the entry)."""
        raw = codec.encode(value)
        if len(raw) > MAX_CACHED_BYTES:
            await self.invalidate(key)
            return
        await self.set_bytes(key, raw, ttl_seconds)

    async def set_bytes(self, key: str, raw: bytes, ttl_seconds: float) -> None:
        """Cache ``raw`` under ``key``; on a cache failure, at least drop the old value."""
        try:
            await self.cache.set(key, raw, ttl_seconds)
        except CacheError as exc:
            log.warning("cache_write_failed", kind=key.partition(":")[0], error=type(exc).__name__)
            await self.invalidate(key)

    async def invalidate(self, *keys: str) -> None:
        """Drop entries whose value the store no longer holds."""
        try:
            await self.cache.delete(*keys)
        except CacheError as exc:
            log.warning("cache_invalidation_failed", n=len(keys), error=type(exc).__name__)

    async def get_bytes(self, key: str) -> bytes | None:
        """The cached bytes, or None on a miss or a cache failure."""
        try:
            return await self.cache.get(key)
        except CacheError as exc:
            log.warning("cache_read_failed", kind=key.partition(":")[0], error=type(exc).__name__)
            return None


async def cached_profile(
    aside: CacheAside, profiles: ProfileStore, user_id: UUID
) -> UserProfile | None:
    """The user's profile through the cache (absence is not cached: it is created at once)."""
    return await aside.read(
        profile_key(user_id),
        lambda: profiles.get(user_id),
        PROFILE,
        PROFILE_TTL_SECONDS,
        keep=lambda p: p is not None,
    )
