"""`companion-agent bench latency`: retrieval latency for a synthetic user of a given size."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from companion.core import MemoryService, RAGService
from companion.domain.models import Memory, MemoryCategory, MemorySource
from companion.inbound.bench.progress import Progress
from companion.inbound.bench.stats import percentiles_ms, rss_mb
from companion.ports.embedder import Embedder
from companion.ports.memory_store import MemoryStore

# Everyday words, so the lexical index sees a realistic spread of common and rare terms.
_WORDS = (
    "family friend dog cat garden music guitar piano painting pottery camping hiking trip "
    "beach mountain city village school college university exam teacher student job office "
    "manager project deadline meeting coffee tea breakfast dinner recipe cooking baking "
    "bread cake birthday party wedding anniversary holiday summer winter spring autumn "
    "rain snow book novel poem movie series concert festival museum gallery photo camera "
    "bike car train flight airport hotel passport visa doctor hospital medicine health "
    "running swimming yoga football cricket tennis match team coach game puzzle chess "
    "sister brother mother father grandma grandpa daughter son cousin neighbour colleague "
    "boss church mosque charity volunteer shelter adoption support group counseling "
    "therapy art class workshop market shop clothes shoes gift necklace letter phone "
    "laptop app website blog video podcast news election history science physics biology "
    "chemistry math language spanish french urdu lahore karachi paris berlin london tokyo "
    "sunrise sunset lake river forest"
).split()
_TEMPLATES = (
    "I went to the {a} with my {b} and we talked about {c}",
    "My {a} loves {b}, especially when there is {c}",
    "Last week I started a {a} {b} and it reminded me of {c}",
    "We are planning a {a} trip to see the {b} near the {c}",
    "I bought a new {a} for my {b} because of the {c}",
    "The {a} at the {b} was great, and the {c} even better",
)

# What a user says in a turn: facts, questions about them, small talk (the turn benches).
UTTERANCES = (
    "I live in Oslo now.",
    "My favourite food is ramen.",
    "What is my favourite food?",
    "I have a cat called Miso.",
    "Where do I live?",
    "I like hiking and chess.",
    "How are you today?",
    "My sister is called Ana.",
    "I want to learn Spanish.",
    "What do you know about me?",
)

# The kinds of question retrieval treats differently: plain, a time window, an answer type.
_QUESTIONS = (
    "What did I say about the {a} and {b}?",
    "When did I talk about the {a} and the {b}?",
    "Where did we see the {a} with the {b}?",
    "How many {a} did my {b} want?",
    "What did I tell you about the {a} and {b} last week?",
    "What happened with the {a} and the {b} in March 2025?",
)


def synthetic_text(rng: random.Random) -> str:
    """One memory-like sentence from everyday words."""
    template = rng.choice(_TEMPLATES)
    a, b, c = rng.sample(_WORDS, 3)
    return template.format(a=a, b=b, c=c) + f" ({rng.randint(1, 10_000)})"


def synthetic_memories(
    rng: random.Random, user: uuid.UUID, positions: range, now: datetime
) -> list[Memory]:
    """Imported memories of everyday sentences, in conversations of 20 turns (so
    retrieval has neighbours to expand into), numbered by ``positions``."""
    return [
        Memory(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            user_id=user,
            category=MemoryCategory.EVENT,
            text=synthetic_text(rng),
            importance=5,
            created_at=now,
            updated_at=now,
            source=MemorySource.IMPORT,
            thread=f"t{i // 20}",
            position=i % 20,
        )
        for i in positions
    ]


async def run_latency(
    *,
    memories: int,
    queries: int,
    memory_service: MemoryService,
    rag: RAGService,
    progress: Progress | None = None,
    seed: int = 7,
    embedder: Embedder | None = None,
    store: MemoryStore | None = None,
) -> dict[str, Any]:
    """Fill one user with ``memories`` memories, then time ``queries`` retrievals; with
    ``embedder`` and ``store``, also each question's floor: its embedding alone and the
    store's candidate search alone, in the same run."""
    rng = random.Random(seed)
    user = uuid.uuid5(uuid.NAMESPACE_URL, f"companion-bench-latency-{memories}")
    rss_before = rss_mb()
    started = time.perf_counter()
    now = datetime.now(UTC)
    batch = 500
    for start in range(0, memories, batch):
        size = min(batch, memories - start)
        # Imported in batches: embedding 500 texts at once is far faster than one by one.
        chunk = synthetic_memories(rng, user, range(start, start + size), now)
        await memory_service.import_memories(user, chunk)
        if progress is not None:
            progress.advance(size, "ingest")
    ingest_seconds = time.perf_counter() - started
    # Warm the per-user index once, as a live session would have.
    await rag.retrieve(user, "warm up the index", record_access=False)
    timings: list[float] = []
    embedding_alone: list[float] = []
    search_alone: list[float] = []
    for _ in range(queries):
        a, b = rng.sample(_WORDS, 2)
        question = rng.choice(_QUESTIONS).format(a=a, b=b)
        began = time.perf_counter()
        await rag.retrieve(user, question, limit=10, record_access=False)
        timings.append(time.perf_counter() - began)
        if embedder is not None and store is not None:
            # The floor, in the same run, on the same question: the query's embedding
            # alone (the model, no cache), and the store's candidate search alone.
            began = time.perf_counter()
            (vector,) = await embedder.embed([question])
            embedding_alone.append(time.perf_counter() - began)
            asked = rag.memory_query(question, vector, (), rag.pool)
            began = time.perf_counter()
            await store.candidates(user, asked)
            search_alone.append(time.perf_counter() - began)
        if progress is not None:
            progress.advance(1, "queries")
    floors: dict[str, Any] = {}
    if embedding_alone:
        total, embedding = percentiles_ms(timings), percentiles_ms(embedding_alone)
        floors = {
            "floor_ms": {
                "query_embedding": embedding,
                "candidate_search": percentiles_ms(search_alone),
            },
            "p95_total_over_query_embedding": round(total["p95"] / embedding["p95"], 2),
        }
    return {
        "memories": memories,
        "queries": queries,
        "latency_ms": percentiles_ms(timings),
        **floors,
        "ingest_per_s": round(memories / ingest_seconds, 1) if ingest_seconds else 0.0,
        "rss_mb": {"before": rss_before, "after": rss_mb()},
        "vector_bytes": memories * 384 * 4,
    }
