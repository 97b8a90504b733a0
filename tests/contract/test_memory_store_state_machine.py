"""A hypothesis state machine: every memory store behaves like a dict, whatever the sequence.

Memories land in a few threads at a few positions, so searches with neighbours can be
checked against the dict too: every turn around a match comes in, nothing else does.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)
from tests.conftest import T0, make_memory

from companion.adapters.memory import InMemoryMemoryStore
from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_memory_store import PostgresMemoryStore
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.domain.errors import Conflict
from companion.domain.models import Memory, MemoryQuery
from companion.domain.text import content_terms
from companion.ports.memory_store import MemoryStore

USERS = [uuid.UUID(int=i + 1) for i in range(2)]
KEYS = st.one_of(st.none(), st.sampled_from(["name", "location.home", "pet.dog.rex", "likes.tea"]))
TEXTS = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=30
).filter(lambda s: s.strip())
# Few threads and positions, so that memories often sit next to each other.
THREADS = st.sampled_from(["s1", "s2", None])
POSITIONS = st.sampled_from([0, 1, 2, 3, None])


class MemoryStoreMachine(RuleBasedStateMachine):
    """Drives one store and a dict model with the same operations; they must agree."""

    backend = "memory"
    memories = Bundle("memories")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.TemporaryDirectory()
        self.db: SqliteDatabase | None = None
        self.pg: PostgresDatabase | None = None
        self.store: MemoryStore
        self.model: dict[uuid.UUID, Memory] = {}
        self.tick = 0

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    @initialize()
    def open_store(self) -> None:
        if self.backend == "sqlite":
            self.db = SqliteDatabase.open(Path(self.tmp.name) / "sm.db")
            self.store = SqliteMemoryStore(self.db)
        elif self.backend == "postgres":
            from tests.servers.postgres import running_server, truncate

            dsn = running_server().dsn()
            self.run(truncate(dsn))
            self.pg = self.run(PostgresDatabase.open(dsn, min_size=1, max_size=2))
            self.store = PostgresMemoryStore(self.pg)
        else:
            self.store = InMemoryMemoryStore()

    def _key_taken(self, user: uuid.UUID, key: str | None, own: uuid.UUID | None) -> bool:
        return key is not None and any(
            m.user_id == user and m.key == key and m.id != own for m in self.model.values()
        )

    @rule(
        target=memories,
        user=st.sampled_from(USERS),
        key=KEYS,
        text=TEXTS,
        thread=THREADS,
        position=POSITIONS,
    )
    def add(
        self, user: uuid.UUID, key: str | None, text: str, thread: str | None, position: int | None
    ) -> uuid.UUID:
        self.tick += 1
        memory = replace(
            make_memory(user, text.strip(), key=key, minutes=self.tick),
            thread=thread,
            position=position,
        )
        if self._key_taken(user, key, None):
            with pytest.raises(Conflict):
                self.run(self.store.add(memory, None))
        else:
            self.run(self.store.add(memory, None))
            self.model[memory.id] = memory
        return memory.id

    @rule(
        target=memories,
        user=st.sampled_from(USERS),
        texts=st.lists(TEXTS, min_size=2, max_size=4),
        thread=st.sampled_from(["s1", "s2"]),
        start=st.integers(min_value=0, max_value=3),
    )
    def add_turns(
        self, user: uuid.UUID, texts: list[str], thread: str, start: int
    ) -> MultipleResults[uuid.UUID]:
        """A stretch of conversation: memories at consecutive positions of one thread."""
        added = []
        for offset, text in enumerate(texts):
            self.tick += 1
            memory = replace(
                make_memory(user, text.strip(), minutes=self.tick),
                thread=thread,
                position=start + offset,
            )
            self.run(self.store.add(memory, None))
            self.model[memory.id] = memory
            added.append(memory.id)
        return multiple(*added)

    @rule(memory_id=memories, text=TEXTS, key=KEYS, thread=THREADS, position=POSITIONS)
    def update(
        self,
        memory_id: uuid.UUID,
        text: str,
        key: str | None,
        thread: str | None,
        position: int | None,
    ) -> None:
        old = self.model.get(memory_id)
        if old is None:
            return
        self.tick += 1
        new = replace(
            old,
            text=text.strip(),
            key=key,
            thread=thread,
            position=position,
            updated_at=T0 + timedelta(minutes=self.tick),
        )
        if self._key_taken(old.user_id, key, old.id):
            with pytest.raises(Conflict):
                self.run(self.store.update(new, None))
        else:
            self.run(self.store.update(new, None))
            self.model[memory_id] = new

    @rule(memory_id=consumes(memories), as_other_user=st.booleans())
    def delete(self, memory_id: uuid.UUID, as_other_user: bool) -> None:
        owner = self.model[memory_id].user_id if memory_id in self.model else USERS[0]
        user = next(u for u in USERS if u != owner) if as_other_user else owner
        deleted = self.run(self.store.delete(user, memory_id))
        expected = memory_id in self.model and not as_other_user
        assert deleted is expected
        if expected:
            del self.model[memory_id]

    @rule(memory_id=memories, neighbours=st.integers(min_value=0, max_value=2))
    def search_around(self, memory_id: uuid.UUID, neighbours: int) -> None:
        target = self.model.get(memory_id)
        if target is None:
            return
        user = target.user_id
        query = MemoryQuery(
            text=target.text,
            terms=tuple(content_terms(target.text)),
            embedding=None,
            limit=3,
            neighbours=neighbours,
        )
        found = self.run(self.store.candidates(user, query))
        ids = [c.memory.id for c in found]
        assert len(ids) == len(set(ids)), "a memory proposed twice"
        mine = {m.id: m for m in self.model.values() if m.user_id == user}
        assert all(c.memory == mine.get(c.memory.id) for c in found)
        matches = [c.memory for c in found if c.lexical is not None]
        assert len(matches) <= 3

        def near(m: Memory, match: Memory) -> bool:
            return (
                m.thread is not None
                and m.thread == match.thread
                and m.position is not None
                and match.position is not None
                and abs(m.position - match.position) <= neighbours
            )

        expected = {m.id for m in matches} | {
            m.id
            for m in mine.values()
            if neighbours > 0 and any(near(m, match) for match in matches)
        }
        assert set(ids) == expected

    @invariant()
    def agrees_with_model(self) -> None:
        if not hasattr(self, "store"):
            return
        for user in USERS:
            stored = self.run(self.store.list(user))
            expected = sorted(
                (m for m in self.model.values() if m.user_id == user),
                key=lambda m: (m.updated_at, str(m.id)),
                reverse=True,
            )
            assert stored == expected
            assert self.run(self.store.count(user)) == len(expected)
            keys = [m.key for m in stored if m.key is not None]
            assert len(keys) == len(set(keys)), "two memories fill one slot"
            for memory in expected:
                if memory.key is not None:
                    assert self.run(self.store.find_by_key(user, memory.key)) == memory

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.run(self.store.close())
        if self.db is not None:
            self.db.close()
        if self.pg is not None:
            self.run(self.pg.close())
        self.loop.close()
        self.tmp.cleanup()


class SqliteMemoryStoreMachine(MemoryStoreMachine):
    backend = "sqlite"


class PostgresMemoryStoreMachine(MemoryStoreMachine):
    backend = "postgres"


_settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestInMemoryMemoryStoreMachine = MemoryStoreMachine.TestCase
TestInMemoryMemoryStoreMachine.settings = _settings
TestSqliteMemoryStoreMachine = SqliteMemoryStoreMachine.TestCase
TestSqliteMemoryStoreMachine.settings = _settings
# The session's server (started once, stopped at the end), reached through the fixture.
TestPostgresMemoryStoreMachine = pytest.mark.usefixtures("postgres_server")(
    PostgresMemoryStoreMachine.TestCase
)
TestPostgresMemoryStoreMachine.settings = _settings
