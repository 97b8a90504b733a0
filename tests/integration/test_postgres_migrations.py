"""`db migrate` on a real PostgreSQL: idempotent, safe concurrently, Supabase-compatible."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from tests.servers.postgres import PostgresServer

from companion.adapters.postgres.migrator import (
    apply_migrations,
    available_migrations,
    migration_status,
)
from companion.domain.errors import InvalidInput, StoreUnavailable
from companion.inbound.cli._db import run_db_migrate

ALL = [migration.name for migration in available_migrations()]


@pytest.fixture
async def empty_dsn(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A new, empty database on the session's server (dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server.dsn("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield postgres_server.dsn(name)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


async def _fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


def test_migrations_ship_in_order_and_supabase_sees_them() -> None:
    assert sorted(ALL) == ALL
    assert ALL[0].startswith("0001_")
    assert all(migration.sql.strip() for migration in available_migrations())


async def test_applying_twice_applies_once(empty_dsn: str) -> None:
    assert await apply_migrations(empty_dsn) == ALL
    assert await apply_migrations(empty_dsn) == []
    status = await migration_status(empty_dsn)
    assert status.applied == tuple(ALL)
    assert status.current


async def test_concurrent_runs_apply_each_migration_once(empty_dsn: str) -> None:
    results = await asyncio.gather(*(apply_migrations(empty_dsn) for _ in range(4)))
    assert sorted(name for result in results for name in result) == ALL
    rows = await _fetch(empty_dsn, "SELECT name FROM companion_schema_migrations ORDER BY name")
    assert [row["name"] for row in rows] == ALL


async def test_status_tells_a_changed_or_unknown_migration(empty_dsn: str) -> None:
    await apply_migrations(empty_dsn)
    conn = await asyncpg.connect(empty_dsn)
    try:
        await conn.execute(
            "UPDATE companion_schema_migrations SET checksum = 'old' WHERE name = $1", ALL[0]
        )
        await conn.execute(
            "INSERT INTO companion_schema_migrations (name, checksum) VALUES ('9999_later', 'x')"
        )
    finally:
        await conn.close()
    status = await migration_status(empty_dsn)
    assert status.modified == (ALL[0],)
    assert status.unknown == ("9999_later",)
    assert not status.current
    out = io.StringIO()
    await run_db_migrate(empty_dsn, out)
    assert "newer companion-agent" in out.getvalue()


async def test_status_of_an_unmigrated_database_lists_everything_pending(empty_dsn: str) -> None:
    status = await migration_status(empty_dsn)
    assert status.applied == ()
    assert status.pending == tuple(ALL)
    assert not status.current


async def test_schema_has_pgvector_hnsw_and_full_text_indexes(empty_dsn: str) -> None:
    await apply_migrations(empty_dsn)
    indexes = {
        row["indexname"]: row["indexdef"]
        for row in await _fetch(
            empty_dsn,
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'companion%'",
        )
    }
    assert "USING hnsw" in indexes["companion_memories_embedding_384"]
    assert "vector_ip_ops" in indexes["companion_memories_embedding_384"]
    assert "USING hnsw" in indexes["companion_memories_embedding_1536"]
    assert "USING gin (search)" in indexes["companion_memories_search"]
    rls = await _fetch(
        empty_dsn,
        "SELECT relname FROM pg_class WHERE relname LIKE 'companion%' AND relrowsecurity",
    )
    assert {row["relname"] for row in rls} >= {
        "companion_profiles",
        "companion_memories",
        "companion_turns",
        "companion_summaries",
    }


async def test_an_existing_auth_uid_is_left_alone(empty_dsn: str) -> None:
    # As on Supabase: the auth schema and auth.uid() are there before companion's schema.
    conn = await asyncpg.connect(empty_dsn)
    try:
        await conn.execute(
            "CREATE SCHEMA auth; CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql"
            " AS $$ SELECT '00000000-0000-0000-0000-00000000000a'::uuid $$"
        )
        await apply_migrations(empty_dsn)
        assert str(await conn.fetchval("SELECT auth.uid()")).endswith("00a")
    finally:
        await conn.close()


async def test_db_migrate_says_what_it_applied_then_that_nothing_was_left(empty_dsn: str) -> None:
    first = io.StringIO()
    assert await run_db_migrate(empty_dsn, first) == 0
    assert all(f"applied          {name}" in first.getvalue() for name in ALL)
    again = io.StringIO()
    assert await run_db_migrate(empty_dsn, again) == 0
    assert all(f"already applied  {name}" in again.getvalue() for name in ALL)
    assert "nothing to apply" in again.getvalue()


async def test_unreachable_server_is_unavailable_without_leaking_the_password() -> None:
    with socket_closed_port() as port:
        dsn = f"postgresql://companion:s3cret-pw@127.0.0.1:{port}/companion"
        with pytest.raises(StoreUnavailable) as caught:
            await run_db_migrate(dsn, io.StringIO())
    assert "s3cret-pw" not in str(caught.value)
    assert "companion:" not in str(caught.value)


async def test_wrong_password_is_unavailable_without_leaking_it(
    postgres_server: PostgresServer,
) -> None:
    dsn = postgres_server.dsn("no_such_db").replace("postgres@", "postgres:hunter2@")
    with pytest.raises(StoreUnavailable) as caught:
        await apply_migrations(dsn)
    assert "hunter2" not in str(caught.value)


async def test_db_migrate_rejects_what_is_not_a_postgres_dsn() -> None:
    with pytest.raises(InvalidInput):
        await run_db_migrate("https://example.supabase.co", io.StringIO())


class socket_closed_port:
    """A local port nothing listens on, for as long as the block runs."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
