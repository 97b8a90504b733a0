"""Where retrieval's time goes in SQLite, part by part, on `bench latency`'s synthetic user.

    .venv/bin/python scripts/bench_search_parts.py --memories 10000 --data-dir /tmp/parts

Fills one user with ``--memories`` synthetic memories through the real services (kept in
``--data-dir``, so a second run skips the ingest), then prints, over ``--queries``
questions of `bench latency`'s kinds:

- ``parts``: RAGService.retrieve in total, the query embedding alone, the store's
  candidate search alone, and inside it each statement or step (word search, dense
  search, rows, neighbours) and the ranking, p50 / p95 in ms;
- ``overlap``: the word search alone, after the embedding, and on the database thread
  while the loop embeds (whether overlapping the two pays on this machine);
- ``shortlist``: the dense search exact against the sign-bit shortlist at several sizes
  (ms, and the share of the exact top 50 the shortlist keeps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from companion.adapters.sqlite import _memory_queries as queries
from companion.adapters.sqlite import sqlite_memory_store
from companion.adapters.sqlite._memory_rows import fts_match
from companion.adapters.sqlite._vector_index import sign_bits
from companion.core import rag_service
from companion.domain.query import expand_query
from companion.inbound.bench.latency import _QUESTIONS, _WORDS, synthetic_memories
from companion.main.container import aclose_clients, build_container
from companion.main.logging import configure_logging
from companion.main.settings import Settings


def ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(1000 * ordered[len(ordered) // 2], 2),
        "p95": round(1000 * ordered[int(len(ordered) * 0.95)], 2),
    }


def questions(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    return [
        rng.choice(_QUESTIONS).format(a=a, b=b)
        for a, b in (rng.sample(_WORDS, 2) for _ in range(n))
    ]


class Timed:
    """Wraps attributes of modules or objects to collect the time of each call."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.samples.setdefault(label, []).append(time.perf_counter() - began)

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def undo(self) -> None:
        for step in reversed(self._undo):
            step()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--sizes", default="10000,30000,100000", help="shortlist sizes")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    base = Settings()
    settings = base.model_copy(
        update={"companion": base.companion.model_copy(update={"data_dir": args.data_dir})}
    )
    container = build_container(settings)
    try:
        report = await measure(container, args)
    finally:
        await aclose_clients(container)
        container.shutdown_resources()
    print(json.dumps(report, indent=2))


async def measure(container: Any, args: argparse.Namespace) -> dict[str, Any]:
    memories, rag = container.services.memories(), container.services.rag()
    store, embedder = container.gateways.memory_store(), container.gateways.embedder()
    user = uuid.uuid5(uuid.NAMESPACE_URL, f"companion-bench-latency-{args.memories}")
    have = await store.count(user)
    if have < args.memories:
        rng, now = random.Random(7), datetime.now(UTC)
        for start in range(have, args.memories, 500):
            chunk = range(start, min(args.memories, start + 500))
            await memories.import_memories(user, synthetic_memories(rng, user, chunk, now))
    await rag.retrieve(user, "warm up the index", record_access=False)
    asked = questions(3, args.queries)

    timed = Timed()
    timed.wrap(queries, "lexical", "word search")
    timed.wrap(queries, "fetch_memories", "rows")
    timed.wrap(queries, "neighbours", "neighbours")
    timed.wrap(store.vector_index, "search", "dense search")
    timed.wrap(sqlite_memory_store, "memory_from_row", "memory from row")
    timed.wrap(rag_service, "rank", "ranking")
    total, embedding, search = [], [], []
    try:
        for question in asked:
            began = time.perf_counter()
            await rag.retrieve(user, question, limit=10, record_access=False)
            total.append(time.perf_counter() - began)
            began = time.perf_counter()
            (vector,) = await embedder.embed([question])
            embedding.append(time.perf_counter() - began)
            began = time.perf_counter()
            await store.candidates(user, rag.memory_query(question, vector, (), rag.pool))
            search.append(time.perf_counter() - began)
    finally:
        timed.undo()
    parts: dict[str, Any] = {
        "retrieve": ms(total),
        "query embedding alone": ms(embedding),
        "candidate search alone": ms(search),
    }
    for label, samples in timed.samples.items():
        if label == "memory from row":  # per row: report the sum per search instead
            parts[label + " (sum per search)"] = round(1000 * sum(samples) / (2 * len(asked)), 2)
        else:
            parts[label] = ms(samples)

    db, uid = store._db, str(user)  # the store's own thread and connection
    alone, after, overlapped = [], [], []
    for question in asked:
        expanded = expand_query(question, phrases=True, participants=())
        match = fts_match(expanded.terms, expanded.phrases)
        assert match is not None
        began = time.perf_counter()
        await db.run(queries.lexical, uid, match, None, 50)
        alone.append(time.perf_counter() - began)
        began = time.perf_counter()
        await embedder.embed([question])
        await db.run(queries.lexical, uid, match, None, 50)
        after.append(time.perf_counter() - began)
        began = time.perf_counter()
        searching = asyncio.ensure_future(db.run(queries.lexical, uid, match, None, 50))
        await asyncio.sleep(0)  # the statement is on the database thread now
        await embedder.embed([question])
        await searching
        overlapped.append(time.perf_counter() - began)
    overlap = {
        "word search alone": ms(alone),
        "embedding, then word search": ms(after),
        "word search while embedding": ms(overlapped),
    }
    return {
        "memories": args.memories,
        "queries": len(asked),
        "parts": parts,
        "overlap": overlap,
        "shortlist": shortlist(db.path, uid, embedder, asked, args.sizes),
    }


def shortlist(path: Path, uid: str, embedder: Any, asked: list[str], sizes: str) -> dict[str, Any]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT embedding FROM memories WHERE user_id = ? AND embedding IS NOT NULL", (uid,)
        ).fetchall()
    matrix = np.frombuffer(b"".join(r[0] for r in rows), dtype="<f4").reshape(len(rows), -1)
    signs = sign_bits(matrix)
    vectors = embedder.embed_sync(asked)
    out: dict[str, Any] = {}
    for size in (int(s) for s in sizes.split(",")):
        if size > matrix.shape[0]:
            continue
        m, b = matrix[:size], signs[:size]
        exact_ms: list[float] = []
        rows_ms: dict[int, list[float]] = {}
        kept: dict[int, list[float]] = {}
        for q in vectors:
            began = time.perf_counter()
            sims = np.einsum("ij,j->i", m, q)
            exact = set(np.argpartition(sims, size - 50)[-50:].tolist())
            exact_ms.append(time.perf_counter() - began)
            for rescored in (200, 500, 1000):
                began = time.perf_counter()
                distance = np.bitwise_count(b ^ sign_bits(q)).sum(axis=1, dtype=np.int32)
                near = np.argpartition(distance, rescored - 1)[:rescored]
                best = near[np.argpartition(np.einsum("ij,j->i", m[near], q), rescored - 50)[-50:]]
                rows_ms.setdefault(rescored, []).append(time.perf_counter() - began)
                kept.setdefault(rescored, []).append(len(exact & set(best.tolist())) / 50)
        out[str(size)] = {
            "exact": ms(exact_ms),
            **{
                f"shortlist {r}": {**ms(rows_ms[r]), "kept": round(float(np.mean(kept[r])), 3)}
                for r in rows_ms
            },
        }
    return out


if __name__ == "__main__":
    asyncio.run(main())
