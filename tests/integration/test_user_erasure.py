"""Erasing a user and exporting one, through the library, on the embedded default (SQLite)
and on what a deployment runs (PostgreSQL behind write-behind, Redis as the cache).

What is checked is what a user asking for erasure is owed: no row of theirs in any table
(found by column, so a table added later is covered), no cache entry, none of their words
in the SQLite files, and everyone else's records exactly as they were.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from tests.servers.redis import RedisServer

from companion import Companion, Conflict, load_settings
from companion.main.settings import Settings

# A word no extractor, stemmer or other user produces by chance.
RARE = "quetzalcoatlus"
ADA_SAYS = [
    "My name is Ada.",
    "I live in Lahore.",
    f"My favourite animal is the {RARE}.",
    "I have a dog called Biscuit.",
]
BO_SAYS = ["My name is Bo.", "I live in Oslo.", "I love chess."]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "sqlite":
        return load_settings(companion={"data_dir": tmp_path, "embedder": "hashing"})
    dsn = request.getfixturevalue("postgres_dsn")
    server: RedisServer = request.getfixturevalue("redis_server")
    return load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing"},
        database={"url": dsn},
        redis={"url": server.url},
    )


@pytest.fixture
async def opened(settings: Settings) -> AsyncIterator[Companion]:
    async with Companion.open(settings) as companion:
        yield companion


async def rows_by_table(companion: Companion, backend: str, user: uuid.UUID) -> Counter[str]:
    """How many rows of every table with a user_id column belong to ``user``."""
    found: Counter[str] = Counter()
    if backend == "sqlite":
        db = companion.container.gateways.sqlite()

        def count(conn: object) -> None:
            tables = [
                name
                for (name,) in conn.execute(  # type: ignore[attr-defined]
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'memories_fts%'"
                )
            ]
            for table in tables:
                columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}  # type: ignore[attr-defined]
                if "user_id" in columns:
                    (n,) = conn.execute(  # type: ignore[attr-defined]
                        f"SELECT count(*) FROM {table} WHERE user_id = ?",
                        (str(user),),
                    ).fetchone()
                    found[table] = n

        await db.run(count)
        return found
    url = companion.container.config.database.url()
    conn = await asyncpg.connect(
        url.get_secret_value() if hasattr(url, "get_secret_value") else url
    )
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND column_name = 'user_id'"
        )
        for (table,) in tables:
            found[table] = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE user_id = $1",
                user,
            )
    finally:
        await conn.close()
    return found


async def cache_keys_of(companion: Companion, settings: Settings, user: uuid.UUID) -> list[str]:
    """The user's keys in this process's cache (the cache, or Redis's fallback) and Redis."""
    local = companion.container.gateways.local_cache()
    keys = [k for k in local._entries if str(user) in k]
    if settings.redis.url is not None:
        client = aioredis.from_url(settings.redis.url.get_secret_value())
        try:
            keys += [k.decode() async for k in client.scan_iter(match=f"*{user}*")]
        finally:
            await client.aclose()
    return keys


def files_holding(folder: Path, needle: bytes) -> list[str]:
    """The database files (the file, its write-ahead log) whose bytes contain ``needle``."""
    return [p.name for p in folder.glob("companion.db*") if needle in p.read_bytes()]


async def talk(companion: Companion, user: uuid.UUID, said: list[str]) -> None:
    async with companion.conversation(user) as talking:
        for text in said:
            await talking.reply(text)
    await companion.greeting(user)  # cached now


async def test_erasing_a_user_leaves_nothing_of_theirs_and_everyone_else_as_they_were(
    opened: Companion, backend: str, settings: Settings, tmp_path: Path
) -> None:
    ada, bo = uuid.uuid4(), uuid.uuid4()
    await talk(opened, ada, ADA_SAYS)
    await talk(opened, bo, BO_SAYS)
    await opened.remember(ada, "My sister is called Noor.")
    assert any(RARE in m.text for m in await opened.memories(ada))
    ada_before = await rows_by_table(opened, backend, ada)
    bo_before = await rows_by_table(opened, backend, bo)
    # The scenario filled what erasure has to empty.
    for table in ("memories", "turns", "summaries", "profiles"):
        assert any(table in name and n > 0 for name, n in ada_before.items()), table
    assert await cache_keys_of(opened, settings, ada)
    exported = await opened.export_user(ada)
    assert {t.text for t in exported.turns if t.user_id == ada} >= set(ADA_SAYS)
    bo_export = await opened.export_user(bo)

    erased = await opened.erase_user(ada)

    assert erased.memories == len(exported.memories) > 0
    assert erased.profile is True
    assert erased.conversation_rows == len(exported.turns) + len(exported.summaries)
    after = await rows_by_table(opened, backend, ada)
    assert set(after) == set(ada_before)  # the same tables, every one now without Ada
    assert sum(after.values()) == 0, after
    assert await rows_by_table(opened, backend, bo) == bo_before
    assert await cache_keys_of(opened, settings, ada) == []
    assert await opened.recall(ada, f"my favourite {RARE}") == []
    empty = await opened.export_user(ada)
    assert (empty.profile, empty.memories, empty.turns, empty.summaries) == (None, (), (), ())
    # Bo's record is whole: the same export, less the moment it was taken.
    again = await opened.export_user(bo)
    assert (again.profile, again.memories, again.turns, again.summaries) == (
        bo_export.profile,
        bo_export.memories,
        bo_export.turns,
        bo_export.summaries,
    )
    if backend == "sqlite":
        # Not even in the file's free pages, the write-ahead log or the word index.
        assert files_holding(tmp_path, RARE[:10].encode()) == []
    # Erasing again finds nothing; the user can start over.
    assert (await opened.erase_user(ada)).memories == 0
    await talk(opened, ada, ["I live in Karachi now."])
    assert [m.value for m in await opened.memories(ada) if m.key == "location.home"] == ["Karachi"]


async def test_an_erasure_waits_for_no_one_and_erases_nothing_while_another_process_works(
    opened: Companion, backend: str
) -> None:
    ada = uuid.uuid4()
    await opened.remember(ada, "I live in Lahore.")
    store = opened.container.gateways.conversation_store()
    assert await store.claim_user(ada, "elsewhere:worker:424242", 60.0) is not None
    with pytest.raises(Conflict, match="in progress in another process"):
        await opened.erase_user(ada)
    assert [m.value for m in await opened.memories(ada)] == ["Lahore"]
    await store.release_user(ada, "elsewhere:worker:424242")
    if backend == "postgres":  # a release rides the user's next batch: send it now
        await opened.container.gateways.write_behind().flush(ada)
    assert (await opened.erase_user(ada)).memories == 2  # the memory, and the turn kept


async def test_forgetting_a_memory_leaves_neither_it_nor_the_turn_it_came_from_findable(
    opened: Companion,
) -> None:
    ada = uuid.uuid4()
    async with opened.conversation(ada) as talk:
        await talk.reply("I live in Paris.")
        await talk.reply("I love the sea.")
    assert any("Paris" in s.memory.text for s in await opened.recall(ada, "Paris"))
    async with opened.conversation(ada) as talk:
        await talk.reply("Forget that I live in Paris.")
    assert not any(
        "Paris" in s.memory.text for s in await opened.recall(ada, "where do I live Paris")
    )
    assert any("sea" in s.memory.text for s in await opened.recall(ada, "the sea"))
    # The journal keeps what was said (the export has it); no search reads the journal.
    assert any("Paris" in t.text for t in (await opened.export_user(ada)).turns)
