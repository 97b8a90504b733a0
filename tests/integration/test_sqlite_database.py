"""The embedded SQLite database: migrations, WAL, FTS safety, concurrency, other processes."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from companion.adapters.sqlite import (
    SqliteConversationStore,
    SqliteDatabase,
    SqliteMemoryStore,
    SqliteProfileStore,
)
from companion.adapters.sqlite._migrations import load_migrations, migrate
from companion.domain.errors import (
    EmbeddingModelMismatch,
    InvalidInput,
    SchemaError,
    StoreError,
    StoreUnavailable,
)
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    Embedding,
    Memory,
    MemoryCategory,
    MemoryQuery,
    MemoryRevision,
    Role,
    UserProfile,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MODEL = "test-model"
LATEST_VERSION = len(load_migrations())  # the newest migration shipped


def unit(seed: int, dims: int = 8) -> np.ndarray:
    """A reproducible unit vector (the same in every process)."""
    vector = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return vector / np.linalg.norm(vector)


def memory(user_id: uuid.UUID, text: str, *, key: str | None = None, minutes: int = 0) -> Memory:
    when = T0 + timedelta(minutes=minutes)
    return Memory(
        id=uuid.uuid4(),
        user_id=user_id,
        category=MemoryCategory.FACT,
        text=text,
        importance=5,
        created_at=when,
        updated_at=when,
        key=key,
    )


def lexical(terms: tuple[str, ...], limit: int = 10) -> MemoryQuery:
    return MemoryQuery(text=" ".join(terms), terms=terms, embedding=None, limit=limit)


def dense(vector: np.ndarray, model: str = MODEL, limit: int = 5) -> MemoryQuery:
    return MemoryQuery(text="", terms=(), embedding=Embedding(model, vector), limit=limit)


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as another tool (or the sqlite3 shell) would open the file."""
    return sqlite3.connect(path, isolation_level=None)


def assert_intact(path: Path) -> None:
    with raw(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Raises if the full-text index disagrees with the memories it indexes.
        conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
    conn.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "companion.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[SqliteDatabase]:
    database = SqliteDatabase.open(db_path)
    yield database
    database.close()


# --- migrations ----------------------------------------------------------------------


def test_fresh_file_is_migrated_once_and_reopening_changes_nothing(db_path: Path) -> None:
    with SqliteDatabase.open(db_path) as first:
        assert db_path.exists()
        assert first.schema_version == LATEST_VERSION
    with SqliteDatabase.open(db_path) as again:
        assert again.schema_version == LATEST_VERSION
    with raw(db_path) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert rows == [
            (1, "0001_initial"),
            (2, "0002_threads_participants"),
            (3, "0003_memory_history"),
            (4, "0004_turn_journal"),
            (5, "0005_parked_turns"),
            (6, "0006_memory_claims"),
            (7, "0007_fts_owner"),
            (8, "0008_erasure_epoch"),
        ]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    conn.close()


async def test_data_survives_reopening(db_path: Path) -> None:
    user = uuid.uuid4()
    kept = memory(user, "Has a dog called Biscuit", key="pet.dog")
    with SqliteDatabase.open(db_path) as db:
        await SqliteMemoryStore(db).add(kept, Embedding(MODEL, unit(1)))
    with SqliteDatabase.open(db_path) as db:
        store = SqliteMemoryStore(db)
        assert await store.find_by_key(user, "pet.dog") == kept
        found = await store.candidates(user, dense(unit(1)))
        assert [c.memory.id for c in found] == [kept.id]


def test_newer_schema_is_refused_with_upgrade_advice(db_path: Path) -> None:
    SqliteDatabase.open(db_path).close()
    with raw(db_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(
        SchemaError, match=rf"version 99 is newer than this companion \({LATEST_VERSION}\)"
    ):
        SqliteDatabase.open(db_path)
    with raw(db_path) as conn:  # refusing did not touch the file
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    conn.close()


async def test_a_version_1_database_migrates_in_place_and_keeps_its_rows(db_path: Path) -> None:
    user = uuid.uuid4()
    kept = memory(user, "Has a dog called Biscuit", key="pet.dog")
    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:  # the file as companion 0.1 (schema 1) left it
        migrate(conn, load_migrations()[:1])
        conn.execute(
            "INSERT INTO memories (id, user_id, category, text, key, importance, source,"
            " created_at, updated_at, embedding, embedding_model, embedding_dim)"
            " VALUES (?, ?, 'fact', ?, ?, 5, 'conversation', ?, ?, ?, ?, 8)",
            (
                str(kept.id),
                str(user),
                kept.text,
                kept.key,
                *[(T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)] * 2,
                unit(1).astype("<f4").tobytes(),
                MODEL,
            ),
        )
        conn.execute(
            "INSERT INTO profiles (user_id, name, interests, created_at, updated_at)"
            " VALUES (?, 'Ada', '[\"chess\"]', 0, 0)",
            (str(user),),
        )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()

    with SqliteDatabase.open(db_path) as db:
        assert db.schema_version == LATEST_VERSION
        memories, profiles = SqliteMemoryStore(db), SqliteProfileStore(db)
        assert await memories.get(user, kept.id) == kept
        found = await memories.candidates(user, lexical(("biscuit",)))
        assert [c.memory for c in found] == [kept]
        assert [c.memory.id for c in await memories.candidates(user, dense(unit(1)))] == [kept.id]
        profile = await profiles.get(user)
        assert profile is not None
        assert (profile.name, profile.interests, profile.participants) == ("Ada", ("chess",), ())
        await profiles.save(replace(profile, participants=("Melanie",)))
        assert (await profiles.get(user)) == replace(profile, participants=("Melanie",))
        # The new columns work on the migrated file.
        for i, text in enumerate(["Said hello", "Talked about pottery", "Said goodbye"]):
            await memories.add(replace(memory(user, text), thread="s", position=i), None)
        near = replace(lexical(("pottery",)), neighbours=1)
        assert len(await memories.candidates(user, near)) == 3
    assert_intact(db_path)


async def test_a_version_2_database_migrates_in_place_and_memories_gain_a_history(
    db_path: Path,
) -> None:
    user = uuid.uuid4()
    kept = replace(memory(user, "Lives in Paris", key="location.home"), value="Paris")
    db_path.parent.mkdir(parents=True)
    with raw(db_path) as conn:  # the file as a schema-2 companion left it
        migrate(conn, load_migrations()[:2])
        conn.execute(
            "INSERT INTO memories (id, user_id, category, text, key, value, importance, source,"
            " created_at, updated_at, thread, position)"
            " VALUES (?, ?, 'fact', ?, ?, ?, 5, 'conversation', ?, ?, 's', 3)",
            (
                str(kept.id),
                str(user),
                kept.text,
                kept.key,
                kept.value,
                *[(T0 - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)] * 2,
            ),
        )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()

    with SqliteDatabase.open(db_path) as db:
        assert db.schema_version == LATEST_VERSION
        store = SqliteMemoryStore(db)
        before = replace(kept, thread="s", position=3)
        assert await store.get(user, kept.id) == before
        assert (before.history, before.valid_from) == ((), None)
        # The new columns work on the migrated file.
        was = MemoryRevision("Lives in Paris", "Paris", T0, T0 + timedelta(days=2))
        moved = replace(
            before,
            text="Lives in Berlin",
            value="Berlin",
            history=(was,),
            valid_from=T0 + timedelta(days=2),
        )
        await store.update(moved, None)
    with SqliteDatabase.open(db_path) as db:
        assert await SqliteMemoryStore(db).find_by_key(user, "location.home") == moved
    assert_intact(db_path)


OPEN_SCRIPT = """
import sys
from pathlib import Path
from companion.adapters.sqlite import SqliteDatabase
print("ready", flush=True)
sys.stdin.readline()
SqliteDatabase.open(Path(sys.argv[1])).close()
"""


def test_processes_opening_a_fresh_file_together_migrate_it_once(db_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_SCRIPT, str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:  # all imported and waiting: release them together
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    with raw(db_path) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert count == LATEST_VERSION
    conn.close()
    assert_intact(db_path)


# --- connection settings and errors ---------------------------------------------------


async def test_wal_and_safety_pragmas_are_on(db: SqliteDatabase, db_path: Path) -> None:
    def pragmas(conn: sqlite3.Connection) -> tuple[object, ...]:
        return tuple(
            conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in (
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
                "secure_delete",  # some builds default to it (this one), others do not
            )
        )

    assert await db.run(pragmas) == ("wal", 1, 1, 5000, 1)
    with raw(db_path) as conn:  # WAL is a property of the file: every reader gets it
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_the_page_cache_is_the_setting_and_a_bad_one_opens_nothing(db_path: Path) -> None:
    # A long-lived worker's resident memory grows to this ceiling (docs/benchmarks.md).
    def cache_size(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA cache_size").fetchone()[0])

    db = SqliteDatabase.open(db_path, cache_kib=3 * 1024)
    try:
        assert await db.run(cache_size) == -3 * 1024
    finally:
        db.close()
    for bad in (0, -1, 1.5, True, "16"):
        with pytest.raises(ValueError, match="page cache"):
            SqliteDatabase.open(db_path.with_name("other.db"), cache_kib=bad)  # type: ignore[arg-type]
    assert not db_path.with_name("other.db").exists()


async def test_the_page_cache_setting_reaches_the_database(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from companion.main.container import build_container
    from companion.main.settings import load_settings

    settings = load_settings(companion={"data_dir": tmp_path, "sqlite_cache_mib": 5})
    container = build_container(settings)
    try:
        size = await container.gateways.sqlite().run(
            lambda conn: conn.execute("PRAGMA cache_size").fetchone()[0]
        )
        assert size == -5 * 1024
    finally:
        container.shutdown_resources()
    with pytest.raises(ValidationError, match="sqlite_cache_mib"):
        load_settings(companion={"sqlite_cache_mib": 0})


async def test_a_locked_database_is_reported_as_unavailable(db_path: Path) -> None:
    SqliteDatabase.open(db_path).close()
    with SqliteDatabase.open(db_path, busy_timeout=0.2) as db:
        store = SqliteMemoryStore(db)
        holder = raw(db_path)
        holder.execute("BEGIN IMMEDIATE")  # another process is mid-write
        try:
            with pytest.raises(StoreUnavailable, match="busy"):
                await store.add(memory(uuid.uuid4(), "Likes tea"), None)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        user = uuid.uuid4()
        await store.add(memory(user, "Likes tea"), None)  # works once the lock is gone
        assert await store.count(user) == 1


async def test_closed_stores_and_database_refuse_work(db: SqliteDatabase) -> None:
    memories, profiles = SqliteMemoryStore(db), SqliteProfileStore(db)
    conversations = SqliteConversationStore(db)
    user = uuid.uuid4()
    await memories.close()
    with pytest.raises(StoreError, match="closed"):
        await memories.count(user)
    assert await profiles.get(user) is None  # closing one store leaves the others usable
    db.close()
    with pytest.raises(StoreError, match="closed"):
        await conversations.recent_turns(user, 5)
    db.close()  # idempotent


# --- full-text search -----------------------------------------------------------------

HOSTILE_TERMS = [
    '"',
    '""',
    'dog"',
    '" OR "cat',
    "NEAR(dog cat)",
    "NEAR",
    "AND",
    "OR",
    "NOT",
    "dog*",
    "bisc*",
    "*",
    "-dog",
    "key:pet",
    "text:",
    ":",
    "(",
    ")",
    "(dog OR cat)",
    "^dog",
    "+",
    "'",
    "   ",
    "",
    "\x00",
    "dog\x00cat",
    "{text key}: pet",
]


async def test_hostile_terms_never_raise_nor_act_as_fts_syntax(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user, other = uuid.uuid4(), uuid.uuid4()
    dog = memory(user, "Has a dog called Biscuit", key="pet.dog")
    cat = memory(user, "Allergic to cats")
    await store.add(dog, None)
    await store.add(cat, None)
    await store.add(memory(other, "Another user's dog"), None)
    for term in HOSTILE_TERMS:
        found = await store.candidates(user, lexical((term,)))
        assert all(c.memory.user_id == user for c in found), term
        found = await store.candidates(user, replace(lexical(()), phrases=(term, f"a {term} b")))
        assert all(c.memory.user_id == user for c in found), term
    by_terms = {
        # As syntax these would match: prefix, column filter, NEAR group, negation.
        ("bisc*",): set(),
        ("key:pet",): set(),
        ("NEAR(dog cat)",): set(),
        ("text:", "cats"): {cat.id},
        # As plain words they match exactly what contains them.
        ("-dog",): {dog.id},
        ("NOT", "cats"): {cat.id},
        ('" OR "cat',): set(),
        ('"dog"',): {dog.id},
    }
    for terms, expected in by_terms.items():
        found = await store.candidates(user, lexical(terms))
        assert {c.memory.id for c in found} == expected, terms


async def test_lexical_scores_are_positive_and_rank_better_matches_higher(
    db: SqliteDatabase,
) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    both = memory(user, "Walks the dog called Biscuit every morning")
    one = memory(user, "Went to the park in the morning")
    await store.add(both, None)
    await store.add(one, None)
    for i in range(5):  # unrelated memories give the terms a meaningful rarity
        await store.add(memory(user, f"Unrelated note number {i} about work"), None)
    found = {c.memory.id: c for c in await store.candidates(user, lexical(("dog", "morning")))}
    assert set(found) == {both.id, one.id}
    assert all(c.lexical is not None and c.lexical > 0 and c.dense is None for c in found.values())
    assert found[both.id].lexical > found[one.id].lexical  # type: ignore[operator]


async def test_search_index_follows_updates_and_deletes(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    pet = memory(user, "Has a dog called Biscuit")
    await store.add(pet, None)
    await store.update(replace(pet, text="Has a cat called Luna"), None)
    assert await store.candidates(user, lexical(("biscuit",))) == []
    assert [c.memory.text for c in await store.candidates(user, lexical(("luna",)))] == [
        "Has a cat called Luna"
    ]
    await store.touch(user, [pet.id], T0)  # touching must not disturb the index
    assert await store.delete(user, pet.id)
    assert await store.candidates(user, lexical(("luna",))) == []
    assert_intact(db.path)


async def test_a_forgotten_memory_leaves_no_copy_of_its_text_in_the_file(
    db: SqliteDatabase,
) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    kept = [memory(user, f"Note number {i} about the garden") for i in range(30)]
    for m in kept:
        await store.add(m, Embedding(MODEL, unit(1)))
    secret = memory(user, "Confided: Xylophonist-Quartz is my bank password")
    await store.add(secret, Embedding(MODEL, unit(2)))
    await db.run(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
    assert b"Xylophonist-Quartz" in db.path.read_bytes()  # the row, as stored
    assert await store.delete(user, secret.id)
    await db.run(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
    # Without secure_delete the row's bytes would stay in the page's free space (the
    # database turns it on, whatever the build's default). The word index keeps its
    # lower-cased tokens until its segments merge: an erasure merges them.
    for path in db.path.parent.glob(db.path.name + "*"):
        assert b"Xylophonist-Quartz" not in path.read_bytes(), path.name
    assert len(await store.list(user)) == 30


async def test_a_users_word_search_does_not_walk_other_users_memories(
    db: SqliteDatabase,
) -> None:
    # The cost is counted in SQLite VM instructions, not time: deterministic on any machine.
    store = SqliteMemoryStore(db)
    ada, bo = uuid.uuid4(), uuid.uuid4()
    for i in range(3):
        await store.add(memory(ada, f"Ada's pottery class, week {i}"), None)
    await store.add(memory(bo, "Bo's pottery class"), None)

    async def cost_of_adas_search() -> tuple[int, list[str]]:
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0  # 0: carry on

        await db.run(lambda conn: conn.set_progress_handler(count, 1))
        try:
            found = await store.candidates(ada, lexical(("pottery",)))
        finally:
            await db.run(lambda conn: conn.set_progress_handler(None, 1))
        return steps[0], sorted(c.memory.text for c in found)

    alone, found_alone = await cost_of_adas_search()
    # Bo, another user of the same file, says "pottery" 2,000 times.
    rows = [memory(bo, f"Bo's pottery note {i}") for i in range(2000)]

    def insert(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO memories (id, user_id, category, text, importance, source,"
            " created_at, updated_at) VALUES (?, ?, 'fact', ?, 5, 'conversation', 0, 0)",
            [(str(m.id), str(m.user_id), m.text) for m in rows],
        )
        conn.execute("COMMIT")

    await db.run(insert)
    crowded, found_crowded = await cost_of_adas_search()
    assert found_crowded == found_alone == [f"Ada's pottery class, week {i}" for i in range(3)]
    # Before the index knew each row's owner, Ada's search stepped through every one of
    # Bo's 2,000 matches (10,530 instructions against 359 alone); now only her own.
    assert crowded < alone + 2000, (alone, crowded)
    assert_intact(db.path)


# --- threads ----------------------------------------------------------------------------


async def test_neighbours_cost_one_statement_however_many_candidates(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    for thread in range(40):
        for position in range(5):
            text = f"Session {thread} turn {position}" + (" about chess" if position == 2 else "")
            m = replace(memory(user, text), thread=f"s{thread}", position=position)
            await store.add(m, Embedding(MODEL, unit(thread * 10 + position)))

    async def statements(limit: int) -> tuple[int, list[str]]:
        seen: list[str] = []

        def record(sql: str) -> None:
            if not sql.startswith("--"):  # FTS5's own lookups show up as "-- ..." comments
                seen.append(sql)

        await db.run(lambda conn: conn.set_trace_callback(record))
        try:
            query = MemoryQuery(
                text="chess",
                terms=("chess",),
                embedding=Embedding(MODEL, unit(2)),
                limit=limit,
                neighbours=1,
                expand=limit,
            )
            found = await store.candidates(user, query)
        finally:
            await db.run(lambda conn: conn.set_trace_callback(None))
        return len(found), seen

    await statements(1)  # builds the vector cache: its one-time read is not per search
    few, few_statements = await statements(1)
    many, many_statements = await statements(40)
    assert few < 10 and many >= 120  # 40 matches, each with the turns before and after
    assert len(many_statements) == len(few_statements)
    assert sum("json_each" in sql for sql in many_statements) == 1


async def test_positions_round_trip_at_the_edges_and_reject_what_sqlite_cannot_hold(
    db: SqliteDatabase,
) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    edges = [
        replace(memory(user, f"Edge {i} chess"), thread="ünïcode thread ✓", position=position)
        for i, position in enumerate([-(2**63), 2**63 - 2, 2**63 - 1, 0])
    ]
    edges.append(replace(memory(user, "Empty thread name"), thread="", position=5))
    for m in edges:
        await store.add(m, None)
    for m in edges:
        assert await store.get(user, m.id) == m
    top = replace(lexical(("chess",), limit=1), terms=("edge", "2"), neighbours=3)
    found = {c.memory.position for c in await store.candidates(user, top)}
    assert found == {2**63 - 2, 2**63 - 1}  # the window's edge is clamped, not overflowed
    for bad in (True, 2**63, -(2**63) - 1, 1.5, "3"):
        with pytest.raises(InvalidInput, match="position"):
            await store.add(replace(memory(user, "x"), thread="s", position=bad), None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="thread"):
        await store.add(replace(memory(user, "x"), thread=7), None)  # type: ignore[arg-type]
    assert await store.count(user) == len(edges)


# --- vectors ----------------------------------------------------------------------------


async def test_vector_cache_sees_local_writes(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    first = memory(user, "Plays the violin")
    await store.add(first, Embedding(MODEL, unit(1)))
    assert [c.memory.id for c in await store.candidates(user, dense(unit(1), limit=1))] == [
        first.id
    ]
    builds = store.vector_index.builds

    second = memory(user, "Runs marathons")
    await store.add(second, Embedding(MODEL, unit(2)))
    top = await store.candidates(user, dense(unit(2), limit=1))
    assert [c.memory.id for c in top] == [second.id]
    assert top[0].dense == pytest.approx(1.0, abs=1e-5)

    await store.set_embedding(user, first.id, Embedding(MODEL, unit(3)))
    top = await store.candidates(user, dense(unit(3), limit=1))
    assert [c.memory.id for c in top] == [first.id]

    await store.update(replace(first, text="Plays the cello"), None)  # stale vector dropped
    assert [c.memory.id for c in await store.candidates(user, dense(unit(3)))] == [second.id]

    await store.delete(user, second.id)
    assert await store.candidates(user, dense(unit(2))) == []
    # Local writes edit the cached matrix in place: no 10,000-row rebuild after each one.
    assert store.vector_index.builds == builds


async def test_cached_vectors_match_a_fresh_read_after_many_local_writes(
    db: SqliteDatabase,
) -> None:
    store = SqliteMemoryStore(db)
    rng = np.random.default_rng(5)
    users = [uuid.uuid4(), uuid.uuid4()]
    live: dict[uuid.UUID, list[Memory]] = {user: [] for user in users}
    categories = list(MemoryCategory)
    probe = unit(1, dims=16)
    for step in range(300):
        user = users[step % 2]
        mine = live[user]
        action = rng.integers(0, 6) if mine else 0
        if action <= 1:
            m = replace(memory(user, f"Note {step}"), category=categories[step % 9])
            vector = None if action == 1 else Embedding(MODEL, unit(step, dims=16))
            await store.add(m, vector)
            mine.append(m)
        elif action == 2:  # new text, no vector: the old vector must go
            i = int(rng.integers(len(mine)))
            mine[i] = replace(mine[i], text=f"Rewritten {step}")
            await store.update(mine[i], None)
        elif action == 3:  # same text, new category: the vector stays
            i = int(rng.integers(len(mine)))
            mine[i] = replace(mine[i], category=categories[(step * 7) % 9])
            await store.update(mine[i], None)
        elif action == 4:
            await store.set_embedding(
                user, mine[int(rng.integers(len(mine)))].id, Embedding(MODEL, unit(step, dims=16))
            )
        else:
            assert await store.delete(user, mine.pop(int(rng.integers(len(mine)))).id)
        if step % 10 == 0:  # search now and then, so the cache exists while writes happen
            await store.candidates(user, dense(probe, limit=1000))
    for user in users:  # finally move every memory to another category, vector kept
        for i, m in enumerate(live[user]):
            live[user][i] = replace(m, category=categories[(categories.index(m.category) + 1) % 9])
            await store.update(live[user][i], None)
    with SqliteDatabase.open(db.path) as fresh_db:
        fresh = SqliteMemoryStore(fresh_db)
        for user in users:
            filters = [None, *(frozenset({c}) for c in categories), frozenset(categories[:3])]
            for wanted, limit in itertools.product(filters, (7, 1000)):
                query = MemoryQuery(
                    text="",
                    terms=(),
                    embedding=Embedding(MODEL, probe),
                    limit=limit,
                    categories=wanted,
                )
                cached = {c.memory.id: c.dense for c in await store.candidates(user, query)}
                truth = {c.memory.id: c.dense for c in await fresh.candidates(user, query)}
                assert cached.keys() == truth.keys()
                assert cached == pytest.approx(truth, abs=1e-6)
    assert store.vector_index.builds == 2  # one per user: every write was applied in place


async def test_other_users_writes_do_not_rebuild_a_users_vectors(db_path: Path) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    with SqliteDatabase.open(db_path) as db, SqliteDatabase.open(db_path) as elsewhere:
        store = SqliteMemoryStore(db)
        await store.add(memory(user, "Plays chess"), Embedding(MODEL, unit(1)))
        await store.candidates(user, dense(unit(1)))
        builds = store.vector_index.builds
        # A second connection (as another process would) writes another user's memory and
        # a conversation turn: the data version moves, this user's vectors did not.
        await SqliteMemoryStore(elsewhere).add(memory(other, "Paints"), Embedding(MODEL, unit(2)))
        turn = ConversationTurn(
            id=uuid.uuid4(),
            user_id=user,
            session_id=uuid.uuid4(),
            role=Role.USER,
            text="hello",
            created_at=T0,
        )
        await SqliteConversationStore(elsewhere).append_turn(turn)
        assert len(await store.candidates(user, dense(unit(1)))) == 1
        assert store.vector_index.builds == builds


async def test_vectors_cached_by_another_process_are_stale_after_the_user_is_erased(
    db_path: Path,
) -> None:
    # Erasure deletes the user's version row, so their version starts again from 1; after
    # as many writes as before, only the erasure epoch tells the other process's cache
    # that it describes vectors that are gone.
    user = uuid.uuid4()
    with SqliteDatabase.open(db_path) as db, SqliteDatabase.open(db_path) as elsewhere:
        here, there = SqliteMemoryStore(db), SqliteMemoryStore(elsewhere)
        for i in range(3):
            await here.add(memory(user, f"Old note {i}"), Embedding(MODEL, unit(i)))
        assert len(await there.candidates(user, dense(unit(0)))) == 3  # cached there
        assert await here.erase_user(user) == 3
        fresh = [memory(user, f"New note {i}") for i in range(3)]
        for i, m in enumerate(fresh):
            await here.add(m, Embedding(MODEL, unit(10 + i)))
        found = await there.candidates(user, dense(unit(10), limit=1))
        assert [c.memory.id for c in found] == [fresh[0].id]
        assert {c.memory.id for c in await there.candidates(user, dense(unit(0)))} == {
            m.id for m in fresh
        }


async def test_a_local_write_after_another_connections_write_keeps_both(db_path: Path) -> None:
    user = uuid.uuid4()
    with SqliteDatabase.open(db_path) as db, SqliteDatabase.open(db_path) as elsewhere:
        store = SqliteMemoryStore(db)
        await store.add(memory(user, "Plays chess"), Embedding(MODEL, unit(1)))
        await store.candidates(user, dense(unit(1)))  # cache built
        theirs = memory(user, "Paints landscapes")
        await SqliteMemoryStore(elsewhere).add(theirs, Embedding(MODEL, unit(2)))
        ours = memory(user, "Bakes bread")
        await store.add(ours, Embedding(MODEL, unit(3)))  # must not paper over their write
        for seed, expected in ((2, theirs.id), (3, ours.id)):
            top = await store.candidates(user, dense(unit(seed), limit=1))
            assert [c.memory.id for c in top] == [expected]


async def test_mixing_embedding_models_raises_with_reindex_advice(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    old = memory(user, "Speaks Urdu")
    await store.add(old, Embedding("old-model", unit(1)))
    with pytest.raises(EmbeddingModelMismatch, match="memories reindex"):
        await store.candidates(user, dense(unit(1), model="new-model"))
    with pytest.raises(EmbeddingModelMismatch, match="dimensions"):
        await store.candidates(user, dense(unit(1, dims=16), model="old-model"))

    await store.add(memory(user, "Learns piano"), Embedding("new-model", unit(2)))
    with pytest.raises(EmbeddingModelMismatch):  # half re-indexed is still mixed
        await store.candidates(user, dense(unit(2), model="new-model"))
    await store.set_embedding(user, old.id, Embedding("new-model", unit(1)))
    found = await store.candidates(user, dense(unit(1), model="new-model", limit=1))
    assert [c.memory.id for c in found] == [old.id]
    assert await store.embedding_models(user) == {"new-model": 2}


async def test_after_forgetting_everything_another_model_can_start_over(
    db: SqliteDatabase,
) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    old = memory(user, "Speaks Urdu")
    await store.add(old, Embedding("old-model", unit(1)))
    assert len(await store.candidates(user, dense(unit(1), model="old-model"))) == 1
    assert await store.delete(user, old.id)
    new = memory(user, "Learns Punjabi")
    await store.add(new, Embedding("new-model", unit(2, dims=4)))
    found = await store.candidates(user, dense(unit(2, dims=4), model="new-model"))
    assert [c.memory.id for c in found] == [new.id]


async def test_dense_search_returns_the_nearest_within_categories(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    stored = []
    for i in range(40):
        m = memory(user, f"Memory {i}")
        if i % 2:
            m = replace(m, category=MemoryCategory.GOAL)
        stored.append(m)
        await store.add(m, Embedding(MODEL, unit(100 + i, dims=32)))
    query = unit(100 + 7, dims=32)
    found = await store.candidates(user, dense(query, limit=5))
    sims = [float(unit(100 + i, dims=32) @ query) for i in range(40)]
    assert {c.memory.id for c in found} == {stored[i].id for i in np.argsort(sims)[-5:]}
    goals = MemoryQuery(
        text="",
        terms=(),
        embedding=Embedding(MODEL, query),
        limit=3,
        categories=frozenset({MemoryCategory.GOAL}),
    )
    found = await store.candidates(user, goals)
    assert len(found) == 3
    assert all(c.memory.category is MemoryCategory.GOAL for c in found)
    assert stored[7].id in {c.memory.id for c in found}


# --- concurrency ----------------------------------------------------------------------


async def test_concurrent_adds_in_one_process_all_land(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    batch = [memory(user, f"Concurrent memory {i}", key=f"slot.n{i}") for i in range(200)]
    await asyncio.gather(*(store.add(m, Embedding(MODEL, unit(i))) for i, m in enumerate(batch)))
    assert await store.count(user) == 200
    assert len(await store.candidates(user, lexical(("concurrent",), limit=500))) == 200
    assert_intact(db.path)


WRITER_SCRIPT = """
import asyncio, sys, uuid
from datetime import UTC, datetime
from pathlib import Path
import numpy as np
from companion.adapters.sqlite import SqliteDatabase, SqliteMemoryStore
from companion.domain.models import Embedding, Memory, MemoryCategory

async def write(store, user, text, seed):
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    now = datetime.now(UTC)
    m = Memory(id=uuid.uuid4(), user_id=user, category=MemoryCategory.FACT, text=text,
               importance=5, created_at=now, updated_at=now)
    await store.add(m, Embedding("test-model", v / np.linalg.norm(v)))

async def main(db, user):
    store = SqliteMemoryStore(db)
    for i in range(200):
        await write(store, user, f"Written elsewhere {i}", 10_000 + i)
    print("done", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    await write(store, user, "Written elsewhere last", 99_999)

db = SqliteDatabase.open(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
asyncio.run(main(db, uuid.UUID(sys.argv[2])))
db.close()
"""


async def test_another_process_writing_at_the_same_time(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER_SCRIPT,
        str(db.path),
        str(user),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), timeout=60) == b"ready\n"
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    for i in range(200):
        await store.add(memory(user, f"Written here {i}"), Embedding(MODEL, unit(20_000 + i)))
    assert await asyncio.wait_for(proc.stdout.readline(), timeout=120) == b"done\n"

    assert await store.count(user) == 400
    assert len(await store.candidates(user, lexical(("elsewhere",), limit=1000))) == 200
    theirs = await store.candidates(user, dense(unit(10_000 + 123), limit=1))
    assert [c.memory.text for c in theirs] == ["Written elsewhere 123"]

    # The vector cache is now built and this process writes nothing more: only the other
    # process's commit can tell it that a new vector exists.
    proc.stdin.write(b"go\n")
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.wait(), timeout=60) == 0
    top = await store.candidates(user, dense(unit(99_999), limit=1))
    assert [c.memory.text for c in top] == ["Written elsewhere last"]
    assert top[0].dense == pytest.approx(1.0, abs=1e-5)
    assert await store.count(user) == 401
    assert_intact(db.path)


# --- values round-trip exactly -----------------------------------------------------------


async def test_times_round_trip_to_the_microsecond_as_utc(db: SqliteDatabase) -> None:
    memories, profiles = SqliteMemoryStore(db), SqliteProfileStore(db)
    conversations = SqliteConversationStore(db)
    user = uuid.uuid4()
    karachi = timezone(timedelta(hours=5))
    moment = datetime(2026, 5, 17, 23, 59, 58, 999_999, tzinfo=karachi)
    old = datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC)  # before the epoch

    m = replace(memory(user, "Born in Lahore"), created_at=old, updated_at=moment)
    await memories.add(m, None)
    await memories.touch(user, [m.id, m.id], moment + timedelta(microseconds=1))
    back = await memories.get(user, m.id)
    assert back is not None
    assert back.created_at == old
    assert back.updated_at == moment
    assert back.updated_at.tzinfo == UTC
    assert back.updated_at.hour == 18
    assert back.last_accessed_at == moment + timedelta(microseconds=1)
    assert back.access_count == 2

    profile = UserProfile(user_id=user, created_at=old, updated_at=moment, last_seen_at=moment)
    await profiles.save(profile)
    assert await profiles.get(user) == profile

    summary = ConversationSummary(
        id=uuid.uuid4(),
        user_id=user,
        session_id=uuid.uuid4(),
        summary="Talked about Lahore",
        started_at=moment - timedelta(microseconds=7),
        ended_at=moment,
        turn_count=2,
    )
    await conversations.save_summary(summary)
    assert await conversations.latest_summary(user) == summary


async def test_naive_times_and_untyped_ids_are_rejected(db: SqliteDatabase) -> None:
    store = SqliteMemoryStore(db)
    user = uuid.uuid4()
    naive = replace(memory(user, "x"), updated_at=datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="timezone-aware"):
        await store.add(naive, None)
    with pytest.raises(InvalidInput, match="UUID"):
        await store.count(str(user))  # type: ignore[arg-type]
    bad_metadata = replace(memory(user, "x"), metadata={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(InvalidInput, match="metadata"):
        await store.add(bad_metadata, None)
    assert await store.count(user) == 0
