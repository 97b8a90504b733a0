"""Row-level security on a real PostgreSQL, as Supabase's roles and JWT claims drive it.

Rows are written by the server-side adapter (the tables' owner, like a direct
connection); then a connection acts as role ``authenticated`` carrying one user's JWT
claims (``request.jwt.claims``, exactly what PostgREST sets), or as ``service_role``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import numpy as np
import pytest
from tests.conftest import T0, make_memory

from companion.adapters.postgres._errors import translate
from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_conversation_store import PostgresConversationStore
from companion.adapters.postgres.postgres_memory_store import PostgresMemoryStore
from companion.adapters.postgres.postgres_profile_store import PostgresProfileStore
from companion.domain.errors import AccessDenied
from companion.domain.models import ConversationTurn, Embedding, Role, UserProfile

ADA = uuid.UUID("00000000-0000-4000-8000-00000000a0a0")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000b0b0")
MODEL = "test-model"


def _vector(seed: int) -> Embedding:
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return Embedding(MODEL, v / np.linalg.norm(v))


@pytest.fixture
async def seeded(postgres_dsn: str) -> str:
    """Ada and Bob each have a memory, a profile and a turn."""
    db = await PostgresDatabase.open(postgres_dsn, min_size=1, max_size=2)
    memories, profiles = PostgresMemoryStore(db), PostgresProfileStore(db)
    turns = PostgresConversationStore(db)
    for user, name in ((ADA, "Ada"), (BOB, "Bob")):
        await memories.add(make_memory(user, f"{name} keeps bees on the roof"), _vector(len(name)))
        await profiles.save(UserProfile(user_id=user, created_at=T0, updated_at=T0, name=name))
        await turns.append_turn(
            ConversationTurn(uuid.uuid4(), user, uuid.uuid4(), Role.USER, f"I am {name}", T0)
        )
    await db.close()
    return postgres_dsn


@asynccontextmanager
async def acting_as(
    dsn: str, role: str, user: uuid.UUID | None
) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction, switched to ``role`` with ``user``'s JWT claims."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {role}")
            if user is not None:
                claims = json.dumps({"sub": str(user), "role": role})
                await conn.execute("SELECT set_config('request.jwt.claims', $1, true)", claims)
            yield conn
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await conn.close()


class _Rollback(Exception):
    """Leaves the transaction without committing what the test did."""


TABLES = ["companion_memories", "companion_profiles", "companion_turns"]


async def test_a_user_sees_only_their_own_rows(seeded: str) -> None:
    async with acting_as(seeded, "authenticated", BOB) as conn:
        assert await conn.fetchval("SELECT auth.uid()") == BOB
        for table in TABLES:
            owners = {row[0] for row in await conn.fetch(f"SELECT user_id FROM {table}")}
            assert owners == {BOB}, table
        assert (
            await conn.fetchval("SELECT count(*) FROM companion_memories WHERE user_id = $1", ADA)
            == 0
        )


async def test_another_users_rows_are_invisible_to_the_rpc(seeded: str) -> None:
    async with acting_as(seeded, "authenticated", BOB) as conn:
        search = "SELECT id FROM companion_match_memories($1, ARRAY['bees'], '{}', $2::vector, $3)"
        query = _vector(3).vector.tolist()
        as_text = "[" + ",".join(map(str, query)) + "]"
        assert await conn.fetch(search, ADA, as_text, MODEL) == []
        assert len(await conn.fetch(search, BOB, as_text, MODEL)) == 1
        await conn.execute(
            "SELECT companion_touch_memories($1, ARRAY(SELECT id FROM companion_memories), $2)",
            ADA,
            T0,
        )
    async with acting_as(seeded, "service_role", None) as conn:
        # Bob's touch naming Ada did nothing.
        assert (
            await conn.fetchval(
                "SELECT access_count FROM companion_memories WHERE user_id = $1", ADA
            )
            == 0
        )


async def test_writing_another_users_rows_fails_and_changes_nothing(seeded: str) -> None:
    async with acting_as(seeded, "authenticated", BOB) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError) as caught:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO companion_profiles (user_id, created_at, updated_at)"
                    " VALUES ($1, now(), now())",
                    uuid.uuid4(),
                )
        assert isinstance(translate(caught.value), AccessDenied)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                # Moving one's own row to another user is a write for that user too.
                await conn.execute("UPDATE companion_memories SET user_id = $1", ADA)
        assert (
            await conn.execute("UPDATE companion_memories SET text = 'x' WHERE user_id = $1", ADA)
            == "UPDATE 0"
        )
        assert (
            await conn.execute("DELETE FROM companion_turns WHERE user_id = $1", ADA) == "DELETE 0"
        )
        assert await conn.execute("UPDATE companion_profiles SET name = 'Robert'") == "UPDATE 1"
    async with acting_as(seeded, "service_role", None) as conn:
        rows = await conn.fetch("SELECT user_id, text FROM companion_memories ORDER BY text")
        assert [(row[0], row[1]) for row in rows] == [
            (ADA, "Ada keeps bees on the roof"),
            (BOB, "Bob keeps bees on the roof"),
        ]
        assert await conn.fetchval("SELECT count(*) FROM companion_turns") == 2


async def test_service_role_sees_every_user(seeded: str) -> None:
    async with acting_as(seeded, "service_role", None) as conn:
        for table in TABLES:
            owners = {row[0] for row in await conn.fetch(f"SELECT user_id FROM {table}")}
            assert owners == {ADA, BOB}, table


async def test_anonymous_callers_get_nothing(seeded: str) -> None:
    async with acting_as(seeded, "anon", None) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM companion_memories")


async def test_without_claims_an_authenticated_role_sees_no_rows(seeded: str) -> None:
    async with acting_as(seeded, "authenticated", None) as conn:
        assert await conn.fetchval("SELECT auth.uid()") is None
        assert await conn.fetch("SELECT 1 FROM companion_memories") == []
