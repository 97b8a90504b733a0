"""Retrieval latency on PostgreSQL + pgvector: one user's 10,000 memories among 100,000.

Usage (from the repository root; starts and stops its own server on 127.0.0.1, like the
test fixtures, so PostgreSQL 15 and pgvector must be installed: see
scripts/install-servers.sh)::

    .venv/bin/python scripts/bench_postgres.py [--users 10] [--per-user 10000]
        [--queries 200] [--runs 3]

The measured user's memories are everyday sentences (the generator of `companion-agent
bench latency`) embedded by the local MiniLM model, in conversations of 20 turns so
retrieval has neighbours to expand into. The other users' memories are sentences of the
same kind with random unit vectors: embedding 90,000 more texts would take ~15 minutes
on 2 cores and only fill the tables the measured user's searches must skip anyway.
Rows are loaded with COPY and the HNSW index is built after the load.

Printed, per run and over all runs: p50/p95 of ``candidates()`` as RAGService calls it,
and of the whole ``RAGService.retrieve`` (embedding the query included), with the exact
per-user scan and with the HNSW index (the store's default for a user of this size); how
much of the exact dense top 50 the index finds; statements sent per retrieval.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.postgres import start_server

from companion.adapters.local.local_embedder import LocalEmbedder
from companion.adapters.local.system_clock import SystemClock
from companion.adapters.memory import InMemoryCache, InMemoryProfileStore
from companion.adapters.postgres._codec import decode_vector, encode_vector
from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_memory_store import PostgresMemoryStore
from companion.core import RAGService
from companion.domain.models import Candidate, MemoryQuery
from companion.domain.scoring import RankingWeights
from companion.inbound.bench.latency import _WORDS, synthetic_text
from companion.inbound.bench.stats import percentiles_ms
from companion.main.logging import configure_logging

_COLUMNS = [
    "id",
    "user_id",
    "category",
    "text",
    "importance",
    "source",
    "created_at",
    "updated_at",
    "thread",
    "position",
    "embedding",
    "embedding_model",
    "embedding_dim",
]
_HNSW = "companion_memories_embedding_384"


def _rows(user: uuid.UUID, texts: list[str], vectors: np.ndarray, model: str) -> list[Any]:
    now = datetime.now(UTC)
    return [
        (
            uuid.uuid4(),
            user,
            "event",
            text,
            5,
            "import",
            now,
            now,
            f"t{i // 20}",
            i % 20,
            vectors[i],
            model,
            vectors.shape[1],
        )
        for i, text in enumerate(texts)
    ]


async def load(dsn: str, users: int, per_user: int, embedder: LocalEmbedder) -> uuid.UUID:
    """Fill the database; the measured user's id."""
    rng = random.Random(7)
    measured = uuid.uuid5(uuid.NAMESPACE_URL, "companion-bench-postgres")
    conn = await asyncpg.connect(dsn)
    await conn.set_type_codec(
        "vector", schema="public", encoder=encode_vector, decoder=decode_vector, format="binary"
    )
    try:
        index_sql = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = $1", _HNSW
        )
        await conn.execute(f"DROP INDEX {_HNSW}")
        began = time.perf_counter()
        texts = [synthetic_text(rng) for _ in range(per_user)]
        vectors = embedder.embed_sync(texts)
        print(f"embedded {per_user} texts with MiniLM in {time.perf_counter() - began:.0f} s")
        await conn.copy_records_to_table(
            "companion_memories",
            records=_rows(measured, texts, vectors, embedder.model),
            columns=_COLUMNS,
        )
        noise = np.random.default_rng(11)
        for n in range(users - 1):
            other = uuid.uuid5(uuid.NAMESPACE_URL, f"companion-bench-postgres-{n}")
            random_vectors = noise.standard_normal((per_user, 384)).astype(np.float32)
            random_vectors /= np.linalg.norm(random_vectors, axis=1, keepdims=True)
            others = [synthetic_text(rng) for _ in range(per_user)]
            await conn.copy_records_to_table(
                "companion_memories",
                records=_rows(other, others, random_vectors, embedder.model),
                columns=_COLUMNS,
            )
        print(f"loaded {users * per_user} memories in {time.perf_counter() - began:.0f} s")
        began = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute("SET max_parallel_maintenance_workers = 1")
        await conn.execute(index_sql)
        await conn.execute("VACUUM ANALYZE companion_memories")
        print(f"built the HNSW index and analyzed in {time.perf_counter() - began:.0f} s")
    finally:
        await conn.close()
    return measured


class TimedStore(PostgresMemoryStore):
    """PostgresMemoryStore timing each candidates() call, as RAGService makes it."""

    def __init__(self, db: PostgresDatabase, *, exact_search_up_to: int) -> None:
        super().__init__(db, exact_search_up_to=exact_search_up_to)
        self.timings: list[float] = []
        self.dense: list[set[uuid.UUID]] = []

    async def candidates(self, user_id: uuid.UUID, query: MemoryQuery) -> list[Candidate]:
        began = time.perf_counter()
        found = await super().candidates(user_id, query)
        self.timings.append(time.perf_counter() - began)
        self.dense.append({c.memory.id for c in found if c.dense is not None})
        return found


async def measure(
    dsn: str, user: uuid.UUID, queries: int, runs: int, embedder: LocalEmbedder
) -> None:
    db = await PostgresDatabase.open(dsn, min_size=1, max_size=4)
    rng = random.Random(3)
    # Every retrieval embeds its query: each run asks new questions (RAGService caches
    # the embeddings of questions it has seen).
    unique: dict[str, None] = {}
    while len(unique) < 20 + queries * runs:
        unique["What did I say about the {} and {}?".format(*rng.sample(_WORDS, 2))] = None
    pool = list(unique)
    stores = {
        "exact": TimedStore(db, exact_search_up_to=2**31 - 1),
        "hnsw": TimedStore(db, exact_search_up_to=0),
    }
    services = {
        name: RAGService(
            store,
            embedder,
            InMemoryProfileStore(),
            InMemoryCache(),
            SystemClock(),
            RankingWeights(),
        )
        for name, store in stores.items()
    }
    for service in services.values():  # warm up: plans cached, pages in memory
        for question in pool[:20]:
            await service.retrieve(user, question, limit=10, record_access=False)
    for store in stores.values():
        store.timings.clear()
        store.dense.clear()
    totals: dict[str, list[float]] = {}
    for run in range(1, runs + 1):
        questions = pool[20 + (run - 1) * queries : 20 + run * queries]
        for name, service in services.items():
            timings = []
            before, calls = db.queries, len(stores[name].timings)
            for question in questions:
                began = time.perf_counter()
                await service.retrieve(user, question, limit=10, record_access=False)
                timings.append(time.perf_counter() - began)
            searches = stores[name].timings[calls:]
            totals.setdefault(f"candidates() {name}", []).extend(searches)
            totals.setdefault(f"RAGService.retrieve {name}", []).extend(timings)
            _report(f"run {run} candidates() {name}", searches)
            _report(f"run {run} RAGService.retrieve {name}", timings)
            print(f"  statements per retrieve: {(db.queries - before) / len(questions):.2f}")
    found = [
        len(a & b) / max(len(a), 1)
        for a, b in zip(stores["exact"].dense, stores["hnsw"].dense, strict=True)
    ]
    print(f"dense candidates of the exact scan that HNSW found too: {np.mean(found):.1%}")
    print("all runs:")
    for name, timings in totals.items():
        _report(f"  {name}", timings)
    print(f"pool: {db.pool_stats()}")
    await db.close()


def _report(what: str, timings: list[float]) -> None:
    p = percentiles_ms(timings)
    print(f"{what:<36} n={len(timings):<5} p50 {p['p50']:7.2f} ms  p95 {p['p95']:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--per-user", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging(level="WARNING")
    embedder = LocalEmbedder()
    embedder.load()
    server = start_server()
    try:
        user = asyncio.run(load(server.dsn(), args.users, args.per_user, embedder))
        asyncio.run(measure(server.dsn(), user, args.queries, args.runs, embedder))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
