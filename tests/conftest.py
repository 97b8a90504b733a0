"""Fixtures shared by every suite: one fixture per port, parametrized over its adapters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from companion.adapters.memory import (
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
)
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import SqliteConversationStore
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore
from companion.domain.models import Memory, MemoryCategory, MemorySource

STORE_BACKENDS = ["memory", "sqlite"]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    db = SqliteDatabase.open(tmp_path / "companion.db")
    yield db
    db.close()


@pytest.fixture(params=STORE_BACKENDS)
async def memory_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    if request.param == "memory":
        store: object = InMemoryMemoryStore()
        yield store
        return
    db = SqliteDatabase.open(tmp_path / "memories.db")
    yield SqliteMemoryStore(db)
    db.close()


@pytest.fixture(params=STORE_BACKENDS)
async def profile_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[object]:
    if request.param == "memory":
        yield InMemoryProfileStore()
        return
    db = SqliteDatabase.open(tmp_path / "profiles.db")
    yield SqliteProfileStore(db)
    db.close()


@pytest.fixture(params=STORE_BACKENDS)
async def conversation_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[object]:
    if request.param == "memory":
        yield InMemoryConversationStore()
        return
    db = SqliteDatabase.open(tmp_path / "conversations.db")
    yield SqliteConversationStore(db)
    db.close()


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
