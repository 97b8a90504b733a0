"""companion_apply_writes / companion_apply_and_match on a real PostgreSQL + pgvector.

A batch holds every kind of write and costs one statement; it is applied whole or not at
all; the search in the same call sees it; row-level security holds inside it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import asyncpg
import numpy as np
import pytest
from tests.conftest import T0, make_memory

from companion.adapters.postgres import (
    PostgresConversationStore,
    PostgresDatabase,
    PostgresMemoryStore,
    PostgresProfileStore,
    PostgresWriteBatch,
)
from companion.adapters.postgres.schema_json.batch import batch_json
from companion.adapters.postgres.write_batch import MemoryWrite, Touch, TurnWrite, WriteBatch
from companion.domain.errors import Conflict, InvalidInput
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    Embedding,
    MemoryQuery,
    Role,
    UserProfile,
)

ADA = uuid.UUID("00000000-0000-4000-8000-00000000ada0")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000b0b0")
MINILM = "all-MiniLM-L6-v2"


def unit(seed: int) -> Embedding:
    v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return Embedding(MINILM, v / np.linalg.norm(v))


@pytest.fixture
async def db(postgres_dsn: str) -> AsyncIterator[PostgresDatabase]:
    pool = await PostgresDatabase.open(postgres_dsn, min_size=1, max_size=2)
    yield pool
    await pool.close()


def _turn(
    text: str, session: uuid.UUID, role: Role = Role.USER, minutes: int = 0
) -> ConversationTurn:
    return ConversationTurn(uuid.uuid4(), ADA, session, role, text, T0 + timedelta(minutes=minutes))


async def test_one_statement_applies_every_kind_of_write(db: PostgresDatabase) -> None:
    memories, profiles = PostgresMemoryStore(db), PostgresProfileStore(db)
    conversations = PostgresConversationStore(db)
    kept = make_memory(ADA, "Has a dog called Biscuit", key="pet.dog")
    renamed = make_memory(ADA, "Lives in Paris", key="location.home")
    gone = make_memory(ADA, "Likes tea", key="likes.tea")
    old_turn = _turn("earlier", uuid.uuid4())
    for memory, seed in ((kept, 1), (renamed, 2), (gone, 3)):
        await memories.add(memory, unit(seed))
    await conversations.append_turn(old_turn)
    session = uuid.uuid4()
    said, replied = _turn("I moved to Lyon", session), _turn("Lyon!", session, Role.ASSISTANT, 1)
    new = replace(make_memory(ADA, "Likes coffee", key="likes.tea"), thread=str(session))
    profile = UserProfile(user_id=ADA, created_at=T0, updated_at=T0, name="Ada")
    summary = ConversationSummary(uuid.uuid4(), ADA, session, "moved to Lyon", T0, T0, 2)
    batch = WriteBatch(
        memory_deletes=[(ADA, gone.id)],
        memory_updates=[
            MemoryWrite(replace(kept, importance=9), None),  # same text: the vector stays
            MemoryWrite(replace(renamed, text="Lives in Lyon"), None),  # new text: dropped
        ],
        memory_inserts=[MemoryWrite(new, unit(4))],  # takes the key the delete freed
        turns=[TurnWrite(said, processed_at=T0 + timedelta(seconds=5)), TurnWrite(replied)],
        processed=[(ADA, old_turn.id, T0)],
        touches=[Touch(ADA, (kept.id, kept.id, new.id), T0 + timedelta(hours=1))],
        profiles=[profile],
        summaries=[summary],
    )
    writer = PostgresWriteBatch(db)
    before = db.queries
    await writer.apply(batch)
    assert db.queries - before == 1 and writer.calls == 1

    assert await memories.get(ADA, gone.id) is None
    assert (await memories.find_by_key(ADA, "likes.tea")) == replace(
        new, last_accessed_at=T0 + timedelta(hours=1), access_count=1
    )
    stored_kept = await memories.get(ADA, kept.id)
    assert stored_kept is not None and stored_kept.importance == 9
    assert stored_kept.access_count == 2
    assert await memories.embedding_models(ADA) == {MINILM: 2, None: 1}
    assert await conversations.turns(ADA, session) == [said, replied]
    assert await conversations.pending_turns(10) == []  # both user turns are processed
    assert await profiles.get(ADA) == profile
    assert await conversations.latest_summary(ADA) == summary


async def test_the_search_in_the_same_call_sees_the_batch(db: PostgresDatabase) -> None:
    session = uuid.uuid4()
    memory = replace(make_memory(ADA, "Keeps bees on the roof"), thread=str(session))
    writer = PostgresWriteBatch(db)
    query = MemoryQuery(text="bees", terms=("bees",), embedding=unit(7), limit=10)
    before = db.queries
    found = await writer.apply_then_candidates(
        WriteBatch(
            memory_inserts=[MemoryWrite(memory, unit(7))], turns=[TurnWrite(_turn("bees", session))]
        ),
        ADA,
        query,
    )
    assert db.queries - before == 1
    assert [c.memory for c in found] == [memory]
    assert found[0].lexical is not None and found[0].lexical > 0
    assert found[0].dense == pytest.approx(1.0, abs=1e-5)
    # An empty batch is just the search.
    again = await writer.apply_then_candidates(WriteBatch(), ADA, query)
    assert [c.memory.id for c in again] == [memory.id]


async def test_a_taken_key_refuses_the_whole_batch(db: PostgresDatabase) -> None:
    memories, conversations = PostgresMemoryStore(db), PostgresConversationStore(db)
    await memories.add(make_memory(ADA, "Lives in Paris", key="location.home"), unit(1))
    session = uuid.uuid4()
    batch = WriteBatch(
        memory_inserts=[MemoryWrite(make_memory(ADA, "Lives in Rome", key="location.home"), None)],
        turns=[TurnWrite(_turn("I live in Rome", session))],
    )
    with pytest.raises(Conflict):
        await PostgresWriteBatch(db).apply(batch)
    assert await conversations.turns(ADA, session) == []
    assert await memories.count(ADA) == 1


async def test_a_batch_sent_again_changes_nothing_and_keeps_its_processed_mark(
    db: PostgresDatabase,
) -> None:
    # The first send landed but its answer was lost (a dropped connection, a cancelled
    # call): the write-behind layer sends the same batch again, with what came since.
    memories, conversations = PostgresMemoryStore(db), PostgresConversationStore(db)
    session = uuid.uuid4()
    said = _turn("I have a dog called Rex", session)
    rex = make_memory(ADA, "Has a dog called Rex", key="pet.dog.rex", value="Rex")
    first = WriteBatch(memory_inserts=[MemoryWrite(rex, unit(3))], turns=[TurnWrite(said)])
    writer = PostgresWriteBatch(db)
    await writer.apply(first)
    again = replace(first, turns=[TurnWrite(said, processed_at=T0 + timedelta(minutes=1))])
    await writer.apply(again)  # was refused whole before migration 0006
    assert await conversations.turns(ADA, session) == [said]
    assert await conversations.pending_turns(10) == []  # the repeat's mark landed
    assert [m.id for m in await memories.list(ADA)] == [rex.id]


async def test_bad_input_is_refused_before_anything_is_sent(db: PostgresDatabase) -> None:
    writer = PostgresWriteBatch(db)
    bad = WriteBatch(memory_inserts=[MemoryWrite(make_memory(ADA, "nul \x00 here"), None)])
    before = db.queries
    with pytest.raises(InvalidInput):
        writer.check(bad)
    with pytest.raises(InvalidInput):
        await writer.apply(bad)
    assert db.queries == before
    await writer.apply(WriteBatch())  # nothing to write: nothing sent
    assert db.queries == before


async def test_row_level_security_holds_inside_a_batch(postgres_dsn: str) -> None:
    """As `authenticated` with Bob's claims, a batch writing Ada's rows is refused."""
    batch = WriteBatch(turns=[TurnWrite(_turn("not Bob's to write", uuid.uuid4()))])
    conn = await asyncpg.connect(postgres_dsn)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE authenticated")
            claims = json.dumps({"sub": str(BOB), "role": "authenticated"})
            await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", claims)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(
                    "SELECT companion_apply_writes($1::jsonb)", json.dumps(batch_json(batch))
                )
    finally:
        await conn.close()
