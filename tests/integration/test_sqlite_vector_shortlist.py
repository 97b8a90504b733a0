"""SQLite's dense search past ``exact_up_to`` vectors: a sign-bit shortlist, rescored exactly.

The thresholds are lowered here (the defaults start at 20,000 vectors) so a few hundred
vectors take the same path a 100,000-memory user does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import make_memory

from companion.adapters.sqlite import SqliteDatabase, SqliteMemoryStore
from companion.adapters.sqlite._vector_index import VectorIndex, sign_bits
from companion.adapters.sqlite.sqlite_memory_store import _INDEXES
from companion.domain.models import Embedding, Memory, MemoryQuery

MODEL = "test-model"
DIMS = 64
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def dense(vector: np.ndarray, limit: int) -> MemoryQuery:
    return MemoryQuery(text="", terms=(), embedding=Embedding(MODEL, vector), limit=limit)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    with SqliteDatabase.open(tmp_path / "companion.db") as database:
        yield database


def small_thresholds() -> VectorIndex:
    return VectorIndex(exact_up_to=100, rescore=40)


def test_sign_bits_pack_one_bit_per_dimension_and_pad_the_last_word() -> None:
    vector = np.array([1.0, -1.0, 0.0, 2.0] + [-1.0] * 60 + [0.5], dtype=np.float32)  # 65
    words = sign_bits(vector)
    assert words.dtype == np.uint64
    assert words.shape == (2,)
    bits = np.unpackbits(words.view(np.uint8))
    assert bits[:65].tolist() == [1, 0, 0, 1] + [0] * 60 + [1]
    assert not bits[65:].any()  # padding is zero in every vector: it never adds distance
    rows = np.stack([vector, -vector])
    assert (sign_bits(rows)[0] == words).all()


async def test_near_copies_are_found_first_with_their_exact_similarity(
    db: SqliteDatabase,
) -> None:
    _INDEXES[db] = small_thresholds()
    store = SqliteMemoryStore(db)
    rng = np.random.default_rng(11)
    user = uuid.uuid4()
    stored: list[tuple[Memory, np.ndarray]] = []
    for i in range(400):
        m, v = make_memory(user, f"note {i}"), unit(rng.standard_normal(DIMS))
        await store.add(m, Embedding(MODEL, v))
        stored.append((m, v))
    for m, v in stored[::40]:
        query = unit(v + 0.15 * unit(rng.standard_normal(DIMS)))  # cosine ~0.99
        found = await store.candidates(user, dense(query, limit=5))
        assert len(found) == 5
        best = max(found, key=lambda c: c.dense or -1)
        assert best.memory.id == m.id
        for c in found:  # every similarity is the exact cosine, not an estimate
            exact = float(next(vec for mem, vec in stored if mem.id == c.memory.id) @ query)
            assert c.dense == pytest.approx(exact, abs=1e-5)


async def test_the_shortlist_follows_every_write_made_in_place(db: SqliteDatabase) -> None:
    # Writes edit the cached matrix and its sign bits in place; a fresh index read from
    # the file must search to exactly the same answer.
    _INDEXES[db] = small_thresholds()
    store = SqliteMemoryStore(db)
    rng = np.random.default_rng(5)
    user = uuid.uuid4()
    live: list[Memory] = []
    probe = unit(rng.standard_normal(DIMS))
    for step in range(600):
        action = int(rng.integers(0, 4)) if len(live) > 150 else 0
        if action <= 1:
            m = make_memory(user, f"note {step}")
            await store.add(m, Embedding(MODEL, unit(rng.standard_normal(DIMS))))
            live.append(m)
        elif action == 2:
            target = live[int(rng.integers(len(live)))]
            vector = Embedding(MODEL, unit(rng.standard_normal(DIMS)))
            await store.set_embedding(user, target.id, vector)
        else:
            assert await store.delete(user, live.pop(int(rng.integers(len(live)))).id)
        if step % 25 == 0:  # the cache exists while the writes happen
            await store.candidates(user, dense(probe, limit=3))
    assert len(live) > small_thresholds()._exact_up_to
    cached = await store.candidates(user, dense(probe, limit=5))
    with SqliteDatabase.open(db.path) as fresh_db:
        _INDEXES[fresh_db] = small_thresholds()
        truth = await SqliteMemoryStore(fresh_db).candidates(user, dense(probe, limit=5))
    assert {c.memory.id: c.dense for c in cached} == {c.memory.id: c.dense for c in truth}
    assert store.vector_index.builds == 1  # every write was applied in place


async def test_the_shortlist_is_by_sign_so_it_starts_only_past_exact_up_to(
    db: SqliteDatabase,
) -> None:
    # A vector close in angle but with most signs opposite to the query's (here: one
    # strong dimension, the rest slightly negative) is the exact nearest, yet far by sign
    # bits. Below the threshold the search is exact and finds it; past it, 150 vectors
    # that share the query's signs fill a 40-long shortlist first. Real embeddings have no
    # such outliers to speak of: 99.6 % of the exact top 50 at 100,000 (docs/benchmarks.md).
    rng = np.random.default_rng(3)
    user = uuid.uuid4()
    query = unit(np.concatenate([[4.0], np.full(DIMS - 1, 0.1)]))
    outlier = unit(np.concatenate([[4.0], np.full(DIMS - 1, -0.05)]))
    same_signs = [unit(np.abs(rng.standard_normal(DIMS))) for _ in range(150)]
    assert all(outlier @ query > v @ query for v in same_signs)
    answers = {}
    for name, index in (("exact", VectorIndex()), ("shortlist", small_thresholds())):
        with SqliteDatabase.open(db.path.with_name(f"{name}.db")) as other:
            _INDEXES[other] = index
            store = SqliteMemoryStore(other)
            odd = make_memory(user, "the outlier")
            await store.add(odd, Embedding(MODEL, outlier))
            for i, v in enumerate(same_signs):
                await store.add(make_memory(user, f"same signs {i}"), Embedding(MODEL, v))
            found = await store.candidates(user, dense(query, limit=1))
            answers[name] = found[0].memory.id == odd.id
    assert answers == {"exact": True, "shortlist": False}
