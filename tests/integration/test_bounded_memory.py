"""A long-lived worker's per-user state stays bounded however many users it serves."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import numpy as np
from tests.conftest import make_memory
from tests.unit.adapters.postgres.test_write_behind import Reference

from companion.adapters.memory import (
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
)
from companion.adapters.postgres.database_batcher import DatabaseBatcher
from companion.adapters.postgres.write_behind import WriteBehind, WriteBehindMemoryStore
from companion.adapters.sqlite import SqliteDatabase, SqliteMemoryStore
from companion.domain.models import Embedding, MemoryQuery


def unit(seed: int) -> Embedding:
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return Embedding("test-model", v / np.linalg.norm(v))


async def test_the_sqlite_vector_cache_keeps_the_most_recent_users_only(tmp_path: Path) -> None:
    with SqliteDatabase.open(tmp_path / "c.db") as db:
        store = SqliteMemoryStore(db)
        index = store.vector_index
        index.__init__(max_users=5, max_rows=40)  # type: ignore[misc]
        users = [uuid.uuid4() for _ in range(20)]
        for i, user in enumerate(users):
            await store.add(make_memory(user, f"note {i}"), unit(i))
            query = MemoryQuery(text="", terms=(), embedding=unit(i), limit=3)
            assert [c.memory.user_id for c in await store.candidates(user, query)] == [user]
        assert len(index) == 5  # the 5 most recent; the others are rebuilt when they return
        big = uuid.uuid4()
        for i in range(60):  # one user larger than the whole budget is still kept
            await store.add(make_memory(big, f"big {i}"), unit(100 + i))
        query = MemoryQuery(text="", terms=(), embedding=unit(100), limit=3)
        assert (await store.candidates(big, query))[0].memory.user_id == big
        assert len(index) == 1 and index.rows() >= 60


async def test_the_sqlite_vector_cache_lets_go_of_users_not_searched_for_a_while(
    tmp_path: Path,
) -> None:
    with SqliteDatabase.open(tmp_path / "c.db") as db:
        store = SqliteMemoryStore(db)
        index = store.vector_index
        now = [0.0]
        index.monotonic = lambda: now[0]
        users = [uuid.uuid4() for _ in range(40)]
        for i, user in enumerate(users):  # a user a minute, each searched once
            now[0] = 60.0 * i
            await store.add(make_memory(user, f"note {i}"), unit(i))
            query = MemoryQuery(text="", terms=(), embedding=unit(i), limit=3)
            assert [c.memory.user_id for c in await store.candidates(user, query)] == [user]
        assert len(index) <= 6  # the last 5 minutes' users, not all 40
        again = MemoryQuery(text="", terms=(), embedding=unit(0), limit=3)
        assert [c.memory.user_id for c in await store.candidates(users[0], again)] == [users[0]]


async def test_the_write_behind_buffer_and_batcher_forget_users_they_are_done_with() -> None:
    memories, conversations, profiles = (
        InMemoryMemoryStore(),
        InMemoryConversationStore(),
        InMemoryProfileStore(),
    )
    batcher = DatabaseBatcher()
    writes = WriteBehind(
        Reference(memories, conversations, profiles),
        memories=memories,
        conversations=conversations,
        profiles=profiles,
        delay=3600,
    )
    store = WriteBehindMemoryStore(writes)
    from companion.adapters.postgres.database_batcher import BatchingMemoryStore

    batched = BatchingMemoryStore(memories, batcher)
    for i in range(2000):
        user = uuid.uuid4()
        await store.add(make_memory(user, f"note {i}"), unit(i))
        await writes.flush(user)
        await batched.list(user)
        batcher.wrote(user)
    await asyncio.sleep(0)
    assert len(writes._locks) == 0 and writes._held == {}
    assert batcher._generation == {} and batcher._reading == {}
