"""The container on real PostgreSQL + pgvector and Redis: what a deployment runs.

Settings alone choose the adapters (DATABASE_URL, REDIS_URL); a conversation is
remembered across sessions, `doctor` passes every check, `stats` reports the pool, the
cache and the batcher, and a turn costs about one database round trip on average.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.servers.postgres import PostgresServer
from tests.servers.redis import RedisServer

from companion.adapters.postgres import PostgresMemoryStore
from companion.adapters.postgres.database_batcher import BatchingMemoryStore
from companion.adapters.postgres.write_behind import WriteBehind, WriteBehindMemoryStore
from companion.inbound.cli._doctor import run_doctor
from companion.main.container import Container, aclose_clients, build_container
from companion.main.settings import Settings, load_settings

ADA = uuid.UUID("00000000-0000-4000-8000-0000000000a7")
SAID = [
    "My name is Ada.",
    "I live in Lahore.",
    "I have a dog called Biscuit.",
    "My favourite colour is green.",
    "How are you today?",
    "I love chai in the evening.",
    "What is my dog called?",
    "Where do I live?",
    "I work as a nurse.",
    "Tell me something nice.",
]


@pytest.fixture
def settings(
    tmp_path: Path, postgres_dsn: str, redis_server: RedisServer, redis_namespace: str
) -> Settings:
    return load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing"},
        database={"url": postgres_dsn},
        redis={"url": redis_server.url},
    )


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    built = build_container(settings)
    yield built
    await built.services.memory_worker().close(within=10)
    await aclose_clients(built)
    built.shutdown_resources()


async def test_settings_choose_postgres_behind_the_batcher_and_redis(container: Container) -> None:
    store = container.gateways.memory_store()
    assert isinstance(store, WriteBehindMemoryStore)
    writes = container.gateways.write_behind()
    assert isinstance(writes, WriteBehind)
    assert isinstance(writes.memories, BatchingMemoryStore)
    assert isinstance(writes.memories._store, PostgresMemoryStore)
    assert container.gateways.cache().stats()["backend"] == "redis"


async def test_a_conversation_is_remembered_and_costs_about_one_round_trip_a_turn(
    container: Container, settings: Settings
) -> None:
    chat = container.services.chat()
    database = container.gateways.postgres()
    before = database.queries
    session = await chat.start(ADA)
    for text in SAID:
        await chat.turn(session, text)
    await chat.end(session)
    first = (database.queries - before) / len(SAID)
    # A returning user's session, from its start to its end: one call per turn (the
    # journal entry, the last turn's memory work and the search together), one at the end
    # (which also gives up the claim), and the claim on the user's memory work, which the
    # background worker takes before the first turn's work, off the reply's path.
    before = database.queries
    session = await chat.start(ADA)
    for text in SAID:
        await chat.turn(session, text)
    await chat.end(session)
    returning = (database.queries - before) / len(SAID)
    print(
        f"\nPostgreSQL statements per turn, whole session of {len(SAID)} turns:"
        f" first session {first:.2f}, returning user {returning:.2f}"
    )
    assert returning <= 1 + 2 / len(SAID)
    # Once per user: the key directory, the profile and crash checks the cache lacks.
    assert first < 2

    again = await chat.start(ADA)
    assert again.greeting.text.startswith("Welcome back, Ada!")
    assert await chat.turn(again, "What is my dog called?") == "Your dog is called Biscuit."
    await chat.end(again)

    report = await container.services.stats().all(ADA)
    pool = report["connection_pool"]["postgres"]  # type: ignore[index]
    assert pool["configured"] is True and pool["max_size"] == 10 and pool["queries"] > 0
    batching = report["database_batching"]
    assert batching["configured"] is True and batching["queries_saved"] > 0  # type: ignore[index]
    cache = report["cache"]
    assert cache["backend"] == "redis" and cache["hits"] > 0  # type: ignore[index]
    assert report["memory"]["total"] >= 5  # type: ignore[index]


async def test_doctor_passes_on_a_migrated_database(
    container: Container, settings: Settings
) -> None:
    out = io.StringIO()
    status = await run_doctor(container, settings, out, as_json=True)
    report = json.loads(out.getvalue())
    rows = {c["name"]: c for c in report["checks"]}
    assert status == 0, report
    assert rows["store"]["backend"] == "postgres"
    assert "none pending" in rows["schema"]["detail"]
    assert rows["pgvector"]["detail"].startswith("pgvector 0.")
    assert rows["cache"]["backend"] == "redis" and "breaker closed" in rows["cache"]["detail"]


async def test_doctor_fails_on_an_unmigrated_database(
    tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    import asyncpg

    admin = await asyncpg.connect(postgres_server.dsn("postgres"))
    try:
        await admin.execute("DROP DATABASE IF EXISTS doctor_empty")
        await admin.execute("CREATE DATABASE doctor_empty")
    finally:
        await admin.close()
    settings = load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing"},
        database={"url": postgres_server.dsn("doctor_empty")},
    )
    container = build_container(settings)
    out = io.StringIO()
    try:
        status = await run_doctor(container, settings, out, as_json=False)
    finally:
        await aclose_clients(container)
        container.shutdown_resources()
    text = out.getvalue()
    assert status == 1
    schema = next(line for line in text.splitlines() if line.startswith("schema"))
    assert "FAIL" in schema and "companion-agent db migrate" in schema
    assert postgres_server.dsn("doctor_empty") not in text


async def test_memory_work_a_crash_loses_is_redone_by_the_next_start(settings: Settings) -> None:
    import asyncio

    settings = settings.model_copy(
        update={"companion": settings.companion.model_copy(update={"memory_lease_seconds": 1})}
    )
    first = build_container(settings)
    chat = first.services.chat()
    session = await chat.start(ADA)
    await chat.turn(session, "I have a dog called Biscuit.")
    await first.services.memory_worker().drain()
    writes = first.gateways.write_behind()
    # The turn is journalled (its search carried it); its memory work waits in the buffer.
    assert writes.stats()["writes_pending"] > 0
    writes._pending.clear()  # what kill -9 takes with the process
    first.services.memory_worker()._leases.clear()  # and its claims' release
    await first.services.memory_worker().close(within=1)
    await aclose_clients(first)
    first.shutdown_resources()

    second = build_container(settings)
    try:
        # The killed process's claim on Ada's memory work holds until its lease runs out.
        assert await second.services.memory_worker().recover() == 0
        await asyncio.sleep(1.2)
        assert await second.services.memory_worker().recover() == 1
        store = second.gateways.memory_store()
        found = await store.find_by_key(ADA, "pet.dog.biscuit")
        assert found is not None and "Biscuit" in found.text
        assert await second.gateways.conversation_store().pending_turns(10) == []
    finally:
        await second.services.memory_worker().close(within=10)
        await aclose_clients(second)
        second.shutdown_resources()
