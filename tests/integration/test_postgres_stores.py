"""The PostgreSQL stores beyond the contract: round trips, odd input, the HNSW path, the pool."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0, make_memory

from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_conversation_store import PostgresConversationStore
from companion.adapters.postgres.postgres_memory_store import PostgresMemoryStore
from companion.adapters.postgres.postgres_profile_store import PostgresProfileStore
from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    Embedding,
    MemoryQuery,
    Role,
    UserProfile,
)

ADA = uuid.UUID("00000000-0000-4000-8000-00000000a0a0")
MINILM = "all-MiniLM-L6-v2"


@pytest.fixture
async def db(postgres_dsn: str) -> AsyncIterator[PostgresDatabase]:
    pool = await PostgresDatabase.open(postgres_dsn, min_size=1, max_size=2)
    yield pool
    await pool.close()


def unit(seed: int, dims: int = 384) -> Embedding:
    v = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return Embedding(MINILM, v / np.linalg.norm(v))


async def test_every_store_call_is_one_round_trip(db: PostgresDatabase) -> None:
    memories, profiles = PostgresMemoryStore(db), PostgresProfileStore(db)
    conversations = PostgresConversationStore(db)
    memory = replace(make_memory(ADA, "Walks the dog by the river"), thread="s1", position=3)
    session = uuid.uuid4()
    turn = ConversationTurn(uuid.uuid4(), ADA, session, Role.USER, "hello", T0)
    summary = ConversationSummary(uuid.uuid4(), ADA, session, "said hello", T0, T0, 1)
    query = MemoryQuery(
        text="dog river",
        terms=("dog", "river"),
        phrases=("the river",),
        embedding=unit(1),
        limit=50,
        neighbours=2,
    )
    calls = [
        memories.add(memory, unit(2)),
        memories.update(replace(memory, text="Walks the dog by the canal"), None),
        memories.get(ADA, memory.id),
        memories.find_by_key(ADA, "pet.dog"),
        memories.list(ADA, limit=10),
        memories.count(ADA),
        memories.candidates(ADA, query),
        memories.touch(ADA, [memory.id, memory.id], T0),
        memories.embedding_models(ADA),
        memories.set_embedding(ADA, memory.id, unit(3)),
        memories.delete(ADA, memory.id),
        profiles.save(UserProfile(user_id=ADA, created_at=T0, updated_at=T0)),
        profiles.get(ADA),
        profiles.delete(ADA),
        conversations.append_turn(turn),
        conversations.turns(ADA, session),
        conversations.recent_turns(ADA, 5),
        conversations.pending_turns(5),
        conversations.mark_processed(ADA, turn.id, T0),
        conversations.save_summary(summary),
        conversations.latest_summary(ADA),
        conversations.summaries(ADA, 5),
    ]
    for call in calls:
        before = db.queries
        await call
        assert db.queries - before == 1, call.__qualname__


async def test_pool_stats_report_connections_and_statements(db: PostgresDatabase) -> None:
    store = PostgresMemoryStore(db)
    await store.count(ADA)
    await store.count(ADA)
    stats = db.pool_stats()
    assert stats.queries == 2
    assert 1 <= stats.size <= stats.max_size == 2
    assert stats.in_use == 0
    assert stats.idle == stats.size


async def test_a_closed_pool_refuses_calls(postgres_dsn: str) -> None:
    pool = await PostgresDatabase.open(postgres_dsn, min_size=1, max_size=1)
    await pool.close()
    with pytest.raises(StoreError):
        await PostgresMemoryStore(pool).count(ADA)


ODD_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=200)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=ODD_TEXT, value=st.none() | ODD_TEXT, meta=st.dictionaries(ODD_TEXT, ODD_TEXT, max_size=3)
)
async def test_odd_text_round_trips_or_is_refused_whole(
    db: PostgresDatabase, text: str, value: str | None, meta: dict[str, str]
) -> None:
    store = PostgresMemoryStore(db)
    user = uuid.uuid4()  # examples share the database: each one gets a user of its own
    memory = replace(make_memory(user, text, value=value), metadata=meta)
    before = await store.count(user)
    carries_nul = any("\x00" in s for s in [text, value or "", *meta, *meta.values()])
    if carries_nul:
        # PostgreSQL cannot store NUL in text: refused up front, nothing half-written.
        with pytest.raises(InvalidInput, match="NUL"):
            await store.add(memory, unit(5))
        assert await store.count(user) == before
        return
    await store.add(memory, unit(5))
    stored = await store.get(user, memory.id)
    assert stored == memory
    assert dict(stored.metadata) == meta
    # Searching with the very same text never fails, whatever it holds.
    query = MemoryQuery(text=text, terms=(text,), phrases=(text,), embedding=unit(5), limit=5)
    found = await store.candidates(user, query)
    assert memory.id in {c.memory.id for c in found}


async def test_nul_in_a_turn_or_profile_is_refused_and_the_rest_kept(db: PostgresDatabase) -> None:
    conversations, profiles = PostgresConversationStore(db), PostgresProfileStore(db)
    session = uuid.uuid4()
    good = ConversationTurn(uuid.uuid4(), ADA, session, Role.USER, "fine", T0)
    await conversations.append_turn(good)
    with pytest.raises(InvalidInput, match="NUL"):
        await conversations.append_turn(replace(good, id=uuid.uuid4(), text="bad\x00turn"))
    assert [t.text for t in await conversations.turns(ADA, session)] == ["fine"]
    profile = UserProfile(user_id=ADA, created_at=T0, updated_at=T0, name="Ada")
    await profiles.save(profile)
    with pytest.raises(InvalidInput, match="NUL"):
        await profiles.save(replace(profile, name="Ada", interests=("chess\x00",)))
    assert await profiles.get(ADA) == profile


async def test_hnsw_search_finds_what_the_exact_search_finds(db: PostgresDatabase) -> None:
    exact = PostgresMemoryStore(db)
    approximate = PostgresMemoryStore(db, exact_search_up_to=0)  # always through the index
    other = uuid.uuid4()
    for i in range(300):
        await exact.add(make_memory(ADA if i % 3 else other, f"note {i}"), unit(100 + i))
    query = MemoryQuery(text="", terms=(), embedding=unit(7), limit=10)
    by_exact = {c.memory.id: c.dense for c in await exact.candidates(ADA, query)}
    by_index = {c.memory.id: c.dense for c in await approximate.candidates(ADA, query)}
    assert len(by_exact) == 10
    assert all(c.memory.user_id == ADA for c in await approximate.candidates(ADA, query))
    # HNSW is approximate; on 200 vectors it finds (nearly) all of the true top 10.
    assert len(by_exact.keys() & by_index.keys()) >= 9
    for memory_id in by_exact.keys() & by_index.keys():
        assert by_index[memory_id] == pytest.approx(by_exact[memory_id], abs=1e-6)


async def test_the_hnsw_index_can_serve_the_rpcs_dense_query(
    postgres_dsn: str, db: PostgresDatabase
) -> None:
    store = PostgresMemoryStore(db)
    await store.add(make_memory(ADA, "one"), unit(1))
    conn = await asyncpg.connect(postgres_dsn)
    try:
        # The shape of companion_match_memories' HNSW branch; seqscan and sort off stand
        # in for a table large enough that the planner prefers the index anyway (with
        # sorting allowed, a one-row table may be read through the user_id index and
        # sorted, which says nothing about whether the HNSW index can serve the query).
        await conn.execute("SET enable_seqscan = off")
        await conn.execute("SET enable_sort = off")
        plan = await conn.fetch(
            "EXPLAIN SELECT m.id FROM companion_memories AS m"
            " WHERE m.embedding_dim = 384 AND m.user_id = $1 AND m.embedding_model = $2"
            " ORDER BY (m.embedding::vector(384)) <#> $3::vector(384) LIMIT 5",
            ADA,
            MINILM,
            str(unit(2).vector.tolist()),
        )
    finally:
        await conn.close()
    assert "companion_memories_embedding_384" in "\n".join(row[0] for row in plan)


async def test_a_small_users_search_never_misses_among_many_other_vectors(
    postgres_dsn: str, db: PostgresDatabase
) -> None:
    # A user holding a sliver of the table is searched exactly even when the index is on:
    # filtering an approximate scan down to 1% of the rows could miss their memories.
    store = PostgresMemoryStore(db, exact_search_up_to=0)
    other = uuid.uuid4()
    for i in range(600):
        await store.add(make_memory(other, f"other {i}"), unit(1000 + i))
    mine = [make_memory(ADA, f"mine {i}") for i in range(6)]
    for i, memory in enumerate(mine):
        await store.add(memory, unit(i))
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute("ANALYZE companion_memories")
    finally:
        await conn.close()
    query = MemoryQuery(text="", terms=(), embedding=unit(99), limit=10)
    found = await store.candidates(ADA, query)
    assert {c.memory.id for c in found} == {m.id for m in mine}
