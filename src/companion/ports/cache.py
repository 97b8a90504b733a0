"""The Cache port: a key/value cache with time-to-live, holding bytes."""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """A cache. A miss is ``None``; a cache failure never loses data (it only misses)."""

    async def get(self, key: str) -> bytes | None:
        """The value for ``key``, or None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl_seconds`` (None: default)."""
        ...

    async def delete(self, *keys: str) -> int:
        """Remove keys; returns how many were present."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
