"""PostgresDatabase: one asyncpg pool shared by the PostgreSQL stores of a process.

Each store method is one statement, so one round trip (prepared statements are cached
per connection; through Supabase's transaction pooler, port 6543, the cache is off
because the pooler cannot keep them). Pooled connections are not reset on release:
the stores leave no session state behind (settings they change are transaction-local).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]

from companion.adapters.postgres._codec import decode_vector, encode_vector
from companion.adapters.postgres._errors import connect_error, translate
from companion.domain.errors import StoreError
from companion.ports.stats_source import StatsSource

T = TypeVar("T")
_POOLER_PORT = 6543
_NETWORK_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError)


@dataclass(frozen=True, slots=True)
class PoolStats:
    """How the pool is used: connections open, idle and busy, statements sent so far."""

    size: int
    idle: int
    in_use: int
    max_size: int
    queries: int


class PostgresDatabase(StatsSource):
    """An asyncpg pool with the pgvector codec, counting every statement it sends."""

    def __init__(
        self,
        pool: asyncpg.Pool | None,
        max_size: int,
        opener: Callable[[], Awaitable[asyncpg.Pool]] | None = None,
    ) -> None:
        """Wrap an open pool (use :meth:`open`), or one opened on first use (:meth:`lazy`)."""
        if pool is None and opener is None:
            raise ValueError("a PostgresDatabase needs a pool or a way to open one")
        self._pool = pool
        self._opener = opener
        self._opening = asyncio.Lock()
        self._max_size = max_size
        self._queries = 0
        self._closed = False

    @classmethod
    def lazy(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 10.0,
        statement_cache: bool | None = None,
    ) -> PostgresDatabase:
        """A database whose pool is connected by its first statement.

        For a synchronous composition root: building it sends nothing; a server that is
        down surfaces as StoreUnavailable on first use, and the next use tries again.
        """

        async def opener() -> asyncpg.Pool:
            opened = await cls.open(
                dsn,
                min_size=min_size,
                max_size=max_size,
                connect_timeout=connect_timeout,
                statement_cache=statement_cache,
            )
            assert opened._pool is not None
            return opened._pool

        return cls(None, max_size, opener)

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 10.0,
        statement_cache: bool | None = None,
    ) -> PostgresDatabase:
        """Connect a pool; StoreUnavailable (without the DSN's details) when that fails.

        ``statement_cache`` None: on unless the DSN points at the transaction pooler.
        """
        if statement_cache is None:
            try:
                statement_cache = urlsplit(dsn).port != _POOLER_PORT
            except ValueError:
                statement_cache = True
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout,
                command_timeout=60,
                statement_cache_size=100 if statement_cache else 0,
                init=_init_connection,
                reset=_no_reset,
            )
        except asyncpg.PostgresError as exc:
            if (getattr(exc, "sqlstate", "") or "").startswith(("08", "28", "3D", "53", "57")):
                raise connect_error(exc) from None
            raise translate(exc) from exc
        except (*_NETWORK_ERRORS, ValueError) as exc:
            # ValueError: a malformed DSN; its message would quote the DSN.
            raise connect_error(exc) from None
        return cls(pool, max_size)

    def pool_stats(self) -> PoolStats:
        """Connections open, idle and in use, the pool's bound, and statements sent."""
        size = 0 if self._pool is None else self._pool.get_size()
        idle = 0 if self._pool is None else self._pool.get_idle_size()
        return PoolStats(
            size=size,
            idle=idle,
            in_use=size - idle,
            max_size=self._max_size,
            queries=self._queries,
        )

    @property
    def queries(self) -> int:
        """Statements sent since the pool opened (each one round trip once prepared)."""
        return self._queries

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """All rows of one statement."""
        return await self._run(lambda conn: conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """The first row of one statement, or None."""
        return await self._run(lambda conn: conn.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row of one statement."""
        return await self._run(lambda conn: conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> str:
        """Run one statement; its status tag (``UPDATE 1``)."""
        return await self._run(lambda conn: conn.execute(sql, *args))

    def stats(self) -> dict[str, object]:
        """:meth:`pool_stats` as a mapping (the StatsService's sources report these)."""
        return dataclasses.asdict(self.pool_stats())

    async def _connected(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                assert self._opener is not None
                self._pool = await self._opener()
        return self._pool

    async def _run(self, call: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        if self._closed:
            raise StoreError("the PostgreSQL pool is closed")
        pool = await self._connected()
        self._queries += 1
        try:
            async with pool.acquire() as conn:
                return await call(conn)
        except asyncpg.PostgresError as exc:
            raise translate(exc) from exc
        except _NETWORK_ERRORS as exc:
            raise connect_error(exc) from None

    async def close(self) -> None:
        """Close every connection; later calls raise StoreError."""
        if not self._closed:
            self._closed = True
            if self._pool is not None:
                await self._pool.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # pgvector may live in `public` or (on Supabase) `extensions`: find it once per
    # connection. Before `db migrate` there is no vector type, and nothing to encode.
    schema = await conn.fetchval(
        "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE t.typname = 'vector' LIMIT 1"
    )
    if schema is not None:
        await conn.set_type_codec(
            "vector", schema=schema, encoder=encode_vector, decoder=decode_vector, format="binary"
        )


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to reset (see the module docstring): saves a round trip per statement."""
