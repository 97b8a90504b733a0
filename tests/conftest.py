"""Fixtures shared by every suite: one fixture per port, parametrized over its adapters."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.servers.openai_peer import OpenAIPeer, running_peer

from companion.adapters.memory import (
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
)
from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_conversation_store import PostgresConversationStore
from companion.adapters.postgres.postgres_memory_store import PostgresMemoryStore
from companion.adapters.postgres.postgres_profile_store import PostgresProfileStore
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import SqliteConversationStore
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore
from companion.domain.models import Memory, MemoryCategory, MemorySource

pytest_plugins = ["tests.servers.postgres", "tests.servers.redis"]

STORE_BACKENDS = ["memory", "sqlite", "postgres"]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    db = SqliteDatabase.open(tmp_path / "companion.db")
    yield db
    db.close()


async def _postgres(request: pytest.FixtureRequest) -> PostgresDatabase:
    """A pool on the session's PostgreSQL, its companion tables emptied for this test."""
    # Imported here, not at the top: pytest must import the plugin module first (above,
    # pytest_plugins) so that its asserts are rewritten.
    from tests.servers.postgres import truncate

    dsn = request.getfixturevalue("postgres_server").dsn()
    await truncate(dsn)
    return await PostgresDatabase.open(dsn, min_size=1, max_size=4)


@contextlib.asynccontextmanager
async def _store(
    request: pytest.FixtureRequest,
    file: Path,
    memory: Callable[[], object],
    sqlite: Callable[[SqliteDatabase], object],
    postgres: Callable[[PostgresDatabase], object],
) -> AsyncIterator[object]:
    """The store of the requested backend, closed (or its pool) afterwards."""
    if request.param == "memory":
        yield memory()
    elif request.param == "postgres":
        pg = await _postgres(request)
        try:
            yield postgres(pg)
        finally:
            await pg.close()
    else:
        db = SqliteDatabase.open(file)
        try:
            yield sqlite(db)
        finally:
            db.close()


@pytest.fixture(params=STORE_BACKENDS)
async def memory_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    async with _store(
        request,
        tmp_path / "memories.db",
        InMemoryMemoryStore,
        SqliteMemoryStore,
        PostgresMemoryStore,
    ) as store:
        yield store


@pytest.fixture(params=STORE_BACKENDS)
async def profile_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    async with _store(
        request,
        tmp_path / "profiles.db",
        InMemoryProfileStore,
        SqliteProfileStore,
        PostgresProfileStore,
    ) as store:
        yield store


@pytest.fixture(params=STORE_BACKENDS)
async def conversation_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[object]:
    async with _store(
        request,
        tmp_path / "conversations.db",
        InMemoryConversationStore,
        SqliteConversationStore,
        PostgresConversationStore,
    ) as store:
        yield store


def make_memory(
    user_id: uuid.UUID,
    text: str,
    *,
    key: str | None = None,
    value: str | None = None,
    category: MemoryCategory = MemoryCategory.FACT,
    importance: int = 5,
    at: datetime = T0,
    minutes: int = 0,
) -> Memory:
    """A memory with sensible defaults for tests."""
    when = at + timedelta(minutes=minutes)
    return Memory(
        id=uuid.uuid4(),
        user_id=user_id,
        category=category,
        text=text,
        importance=importance,
        created_at=when,
        updated_at=when,
        source=MemorySource.CONVERSATION,
        key=key,
        value=value,
    )


@pytest.fixture
def openai_peer() -> Iterator[OpenAIPeer]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (base URL in ``.base_url``)."""
    with running_peer() as peer:
        yield peer
