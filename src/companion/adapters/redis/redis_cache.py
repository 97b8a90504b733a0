"""RedisCache: the Cache port on a Redis server, shared by every process of a deployment.

Built to fail fast: a dead or hung Redis costs one socket timeout (tens of milliseconds),
never the seconds of redis-py's defaults, and every failure surfaces as
:class:`CacheUnavailable` so the app's circuit breaker can route around it. Messages
never carry the URL (it may hold a password).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from companion.domain.errors import CacheUnavailable, InvalidInput
from companion.ports.cache import Cache

__all__ = ["MAX_KEY_BYTES", "RedisCache"]

# Redis allows 512 MB keys and values; a cache entry anywhere near that is a bug, and a
# large value blocks the single-threaded server for every other client while it copies.
MAX_KEY_BYTES = 1024
DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
_DELETE_BATCH = 1000  # keys per UNLINK when clearing a namespace
_SCAN_COUNT = 500


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a SCAN MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisCache(Cache):
    """Entries under ``<namespace>:`` with a TTL each; one connection pool per instance.

    Make one per process and share it: the pool (a ``BlockingConnectionPool``) queues
    callers beyond ``max_connections`` for up to ``pool_timeout`` instead of failing.
    """

    def __init__(
        self,
        client: Redis,
        *,
        namespace: str = "companion",
        default_ttl_seconds: float = 300.0,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        if not namespace or ":" in namespace:
            raise InvalidInput("cache namespace must be non-empty and contain no ':'")
        if not 0 < default_ttl_seconds < math.inf:
            raise InvalidInput("cache default TTL must be positive")
        if max_value_bytes <= 0:
            raise InvalidInput("cache max_value_bytes must be positive")
        self._client = client
        self._prefix = f"{namespace}:"
        self._ttl = default_ttl_seconds
        self._max_value = max_value_bytes
        self._closed = False
        self.hits = 0
        self.misses = 0
        self.errors = 0

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        namespace: str = "companion",
        default_ttl_seconds: float = 300.0,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        max_connections: int = 20,
        socket_timeout: float = 0.05,
        connect_timeout: float = 0.05,
        pool_timeout: float = 0.05,
    ) -> RedisCache:
        """A cache on the server at ``url`` (``redis://``, ``rediss://`` or ``unix://``).

        Nothing connects until the first command. Timeouts are in seconds; a stale pooled
        connection (the server restarted) is retried once at once, a timeout is not.
        """
        try:
            pool = BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=pool_timeout,
                socket_timeout=socket_timeout,
                socket_connect_timeout=connect_timeout,
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            )
        except (ValueError, TypeError):
            raise InvalidInput("REDIS_URL is not a valid Redis URL") from None
        return cls(
            Redis(connection_pool=pool),
            namespace=namespace,
            default_ttl_seconds=default_ttl_seconds,
            max_value_bytes=max_value_bytes,
        )

    @property
    def namespace(self) -> str:
        """The prefix (without its ':') under which this cache keeps its keys."""
        return self._prefix[:-1]

    def _key(self, key: str) -> bytes:
        if not isinstance(key, str):
            raise InvalidInput("cache keys are text")
        raw = (self._prefix + key).encode("utf-8", "surrogatepass")
        if len(raw) > MAX_KEY_BYTES:
            raise InvalidInput(f"cache key longer than {MAX_KEY_BYTES} bytes")
        return raw

    def _ttl_ms(self, ttl_seconds: float | None) -> int:
        ttl = self._ttl if ttl_seconds is None else ttl_seconds
        if not 0 < ttl < math.inf:
            raise InvalidInput("cache TTL must be positive")
        return max(1, math.ceil(ttl * 1000))

    def _unavailable(self, operation: str, exc: BaseException) -> CacheUnavailable:
        # The exception's own text may quote the URL or the server's address: leave it out.
        self.errors += 1
        return CacheUnavailable(f"Redis cache {operation} failed ({type(exc).__name__})")

    def _check_open(self) -> None:
        if self._closed:
            raise CacheUnavailable("Redis cache is closed")

    async def _run(self, operation: str, command: Callable[[], Awaitable[Any]]) -> Any:
        self._check_open()
        try:
            return await command()
        except (TimeoutError, RedisError, OSError) as exc:
            raise self._unavailable(operation, exc) from None

    async def get(self, key: str) -> bytes | None:
        name = self._key(key)
        value = await self._run("get", lambda: self._client.get(name))
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return bytes(value)

    async def set(self, key: str, value: bytes, ttl_seconds: float | None = None) -> None:
        if not isinstance(value, bytes):
            raise InvalidInput("cache values are bytes")
        if len(value) > self._max_value:
            raise InvalidInput(f"cache value larger than {self._max_value} bytes")
        name, ttl_ms = self._key(key), self._ttl_ms(ttl_seconds)
        await self._run("set", lambda: self._client.set(name, value, px=ttl_ms))

    async def delete(self, *keys: str) -> int:
        """Remove keys in one round trip (UNLINK: the server frees memory off its main thread)."""
        if not keys:
            return 0
        names = [self._key(k) for k in keys]
        return int(await self._run("delete", lambda: self._client.unlink(*names)))

    async def ping(self) -> None:
        """Raise CacheUnavailable unless the server answers now."""
        await self._run("ping", self._client.ping)

    async def ttl(self, key: str) -> float | None:
        """Seconds left before ``key`` expires; None when it is absent."""
        name = self._key(key)
        ms = int(await self._run("ttl", lambda: self._client.pttl(name)))
        return None if ms < 0 else ms / 1000

    async def clear(self) -> int:
        """Remove every entry of this namespace (and nothing else); returns how many.

        SCAN, not KEYS: the server keeps answering other clients while this runs.
        """
        self._check_open()
        pattern = _glob_escape(self._prefix) + "*"
        removed = 0
        batch: list[bytes] = []
        try:
            async for name in self._client.scan_iter(match=pattern, count=_SCAN_COUNT):
                batch.append(name)
                if len(batch) >= _DELETE_BATCH:
                    removed += int(await self._client.unlink(*batch))
                    batch.clear()
            if batch:
                removed += int(await self._client.unlink(*batch))
        except (TimeoutError, RedisError, OSError) as exc:
            raise self._unavailable("clear", exc) from None
        return removed

    def stats(self) -> dict[str, object]:
        """This process's counters: what Redis answered, and how often it could not."""
        lookups = self.hits + self.misses
        return {
            "backend": "redis",
            "namespace": self.namespace,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": round(self.hits / lookups, 4) if lookups else None,
            "errors": self.errors,
        }

    async def aclose(self) -> None:
        """Close the client and disconnect its pool; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        # Closing connections to a dead server fails, and then there is nothing to release.
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()
            await self._client.connection_pool.disconnect()

    async def close(self) -> None:
        await self.aclose()
