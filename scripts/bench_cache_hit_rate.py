"""Redis hit rate over simulated sessions: N users, one T-turn chat session each.

Runs the real services (ChatService, the memory worker, SQLite stores, the offline chat
model, the hashing embedder) with the ResilientCache over a real redis-server started the
way the test fixture starts it (tests/servers/redis.py), then prints the cache's hit rate
overall and per kind of entry, and how many store reads and embeddings the hits saved.

    .venv/bin/python scripts/bench_cache_hit_rate.py [--users 50] [--turns 20] [--json]

Each user has their own facts (name, city, pet, job …, drawn from pools with a fixed
seed) and a session that mixes telling them, asking about them and small talk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.servers.redis

from tests.servers.redis import RedisServer

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.memory import HashingEmbedder, InMemoryCache, ManualClock
from companion.adapters.redis import RedisCache
from companion.adapters.resilience.resilient_cache import ResilientCache
from companion.adapters.sqlite.database import SqliteDatabase
from companion.adapters.sqlite.sqlite_conversation_store import (
    SqliteConversationStore,
)
from companion.adapters.sqlite.sqlite_memory_store import SqliteMemoryStore
from companion.adapters.sqlite.sqlite_profile_store import SqliteProfileStore
from companion.core import (
    ChatService,
    ConversationService,
    MemoryService,
    MemoryWorker,
    ProfileService,
    RAGService,
    UserService,
)
from companion.core.turn_service import TurnService
from companion.domain.models import ConversationSummary, Memory, UserProfile
from companion.domain.scoring import RankingWeights

NAMES = "Ada Bilal Chen Dana Elif Farah Gita Hassan Ines Jonas Kiran Lena Mateo Noor Omar".split()
CITIES = "Lahore Karachi Paris Berlin London Tokyo Lisbon Nairobi Toronto Madrid".split()
PETS = [("dog", "Biscuit"), ("cat", "Miso"), ("dog", "Pepper"), ("cat", "Luna"), ("dog", "Rex")]
COLOURS = "green blue red yellow purple orange teal".split()
JOBS = "nurse teacher engineer baker designer pilot lawyer farmer".split()
HOBBIES = "hiking painting chess cooking cycling gardening swimming pottery".split()
GOALS = ["run a marathon", "learn Spanish", "write a novel", "save for a house", "learn piano"]
SIBLINGS = "Zara Ali Mia Sam Yusuf Hana Leo".split()
PLANS = ["an exam", "a job interview", "a dentist appointment", "a football match"]
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday".split()
QUESTIONS = [
    "What's my name?",
    "Where do I live?",
    "What is my favourite colour?",
    "What do I do for work?",
    "What do you know about me?",
    "What's my pet called?",
]
# How people start a sentence when speaking: the same fact is rarely said the same way twice.
OPENERS = ["", "", "So, ", "Well, ", "By the way, ", "Oh, and ", "You know, ", "Anyway, ", "Hey, "]
SMALL_TALK = [
    "How are you today?",
    "I had a long day.",
    "Thanks, that helps.",
    "Tell me something nice.",
    "It's raining again here.",
    "I'm a bit tired.",
    "Okay.",
    "That's funny.",
]


def session_script(rng: random.Random, turns: int) -> list[str]:
    """One user's session: an introduction, then facts, questions and small talk."""
    pet_kind, pet_name = rng.choice(PETS)
    colour, other_colour = rng.sample(COLOURS, 2)
    city, new_city = rng.sample(CITIES, 2)
    facts = [
        f"I live in {city}.",
        f"I have a {pet_kind} called {pet_name}.",
        f"My favourite colour is {colour}.",
        f"I work as a {rng.choice(JOBS)}.",
        f"I love {rng.choice(HOBBIES)}.",
        f"My goal is to {rng.choice(GOALS)}.",
        f"My sister is called {rng.choice(SIBLINGS)}.",
        f"I have {rng.choice(PLANS)} on {rng.choice(DAYS)}.",
        f"Actually my favourite colour is {other_colour}.",
        f"I moved to {new_city}.",
    ]
    rest = facts[: max(turns // 2, 1)]
    rest += rng.sample(QUESTIONS, min(len(QUESTIONS), max(turns // 4, 1)))
    while len(rest) < turns - 1:
        rest.append(rng.choice(SMALL_TALK))
    rng.shuffle(rest)
    spoken = [_spoken(rng, text) for text in rest]
    return [f"Hi! My name is {rng.choice(NAMES)}.", *spoken][:turns]


def _spoken(rng: random.Random, text: str) -> str:
    opener = rng.choice(OPENERS)
    return f"{opener}{text[0].lower()}{text[1:]}" if opener else text


class CountingProfiles(SqliteProfileStore):
    reads = 0

    async def get(self, user_id: uuid.UUID) -> UserProfile | None:
        CountingProfiles.reads += 1
        return await super().get(user_id)


class CountingConversations(SqliteConversationStore):
    summary_reads = 0

    async def latest_summary(self, user_id: uuid.UUID) -> ConversationSummary | None:
        CountingConversations.summary_reads += 1
        return await super().latest_summary(user_id)


class CountingMemories(SqliteMemoryStore):
    list_reads = 0

    async def list(self, user_id: uuid.UUID, **kwargs: Any) -> list[Memory]:
        CountingMemories.list_reads += 1
        return await super().list(user_id, **kwargs)


class CountingEmbedder(HashingEmbedder):
    calls = 0

    async def embed(self, texts: Any) -> Any:
        CountingEmbedder.calls += 1
        return await super().embed(texts)


@dataclass
class Result:
    users: int
    turns: int
    sessions: int
    replies: int
    cache: dict[str, Any]
    store_reads: dict[str, int]
    store_reads_saved: int
    embeddings_saved: int


async def simulate(
    url: str,
    data_dir: Path,
    users: int,
    turns: int,
    sessions: int,
    concurrency: int,
    shared_embeddings: bool = False,
) -> Result:
    db = SqliteDatabase.open(data_dir / "companion.db")
    clock = ManualClock()
    store, profile_store = CountingMemories(db), CountingProfiles(db)
    conversation_store = CountingConversations(db)
    embedder, model = CountingEmbedder(), OfflineChatModel()
    cache = ResilientCache(RedisCache.from_url(url, namespace="bench"), InMemoryCache())
    # As the container wires it: an in-process embedder's query vectors stay in this
    # process; a remote embedder's (--shared-embeddings) go to Redis with the rest.
    embedding_cache = None if shared_embeddings else InMemoryCache()
    rag = RAGService(
        store,
        embedder,
        profile_store,
        cache,
        clock,
        RankingWeights(),
        embedding_cache=embedding_cache,
    )
    users_service = UserService(profile_store, clock, cache)
    memories = MemoryService(store, embedder, profile_store, rag, clock)
    profiles = ProfileService(profile_store, users_service, clock)
    conversations = ConversationService(conversation_store, profile_store, clock, cache)
    worker = MemoryWorker(conversation_store, memories, profiles, model, clock)
    chat = ChatService(
        users_service,
        conversations,
        profiles,
        TurnService(conversations, rag, worker),
        model,
        worker,
    )

    rng = random.Random(20)
    scripts = {
        uuid.uuid4(): [session_script(rng, turns) for _ in range(sessions)] for _ in range(users)
    }
    replies = 0
    gate = asyncio.Semaphore(concurrency)

    async def one_user(user_id: uuid.UUID, user_sessions: list[list[str]]) -> None:
        nonlocal replies
        async with gate:
            for script in user_sessions:
                session = await chat.start(user_id)
                for text in script:
                    clock.advance(timedelta(seconds=20))
                    if await chat.turn(session, text):
                        replies += 1
                await chat.end(session)
                clock.advance(timedelta(hours=5))

    try:
        await asyncio.gather(*(one_user(u, s) for u, s in scripts.items()))
        await worker.close(within=30)
    finally:
        await cache.close()
        db.close()
    stats = cache.stats()
    by_kind: dict[str, dict[str, int]] = stats["by_kind"]  # type: ignore[assignment]
    saved = sum(by_kind.get(k, {}).get("hits", 0) for k in ("profile", "greeting", "memories"))
    return Result(
        users=users,
        turns=turns,
        sessions=sessions,
        replies=replies,
        cache=stats,
        store_reads={
            "profile_get": CountingProfiles.reads,
            "latest_summary": CountingConversations.summary_reads,
            "memory_list": CountingMemories.list_reads,
        },
        store_reads_saved=saved,
        embeddings_saved=(
            by_kind.get("qemb", {}).get("hits", 0)
            if embedding_cache is None
            else embedding_cache.hits
        ),
    )


def report(result: Result) -> str:
    c = result.cache
    lines = [
        f"{result.users} users x {result.sessions} session(s) x {result.turns} turns: "
        f"{result.replies} replies",
        f"Redis hit rate: {c['hit_rate']:.1%}  (hits {c['hits']}, misses {c['misses']}, "
        f"fallbacks {c['fallbacks']}, errors {c['errors']}, breaker {c['state']})",
    ]
    counts: Counter[str] = Counter()
    for kind, k in sorted(c["by_kind"].items()):
        rate = "-" if k["hit_rate"] is None else f"{k['hit_rate']:.1%}"
        lines.append(f"  {kind:<10} {rate:>6}  (hits {k['hits']}, misses {k['misses']})")
        counts["hits"] += k["hits"] if kind != "qemb" else 0
        counts["misses"] += k["misses"] if kind != "qemb" else 0
    looked = counts["hits"] + counts["misses"]
    if looked:
        lines.append(
            f"  profile+greeting+memories: {counts['hits'] / looked:.1%} "
            f"(hits {counts['hits']}, misses {counts['misses']})"
        )
    reads = result.store_reads
    lines.append(
        f"store reads made: {sum(reads.values())} {reads}; saved by the cache: "
        f"{result.store_reads_saved}; query embeddings saved: {result.embeddings_saved}"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=1, help="sessions per user")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--shared-embeddings",
        action="store_true",
        help="cache query vectors in Redis too, as the container does for a remote embedder",
    )
    args = parser.parse_args()
    # The services log every session and turn; only problems matter here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with RedisServer() as server, tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(
            simulate(
                server.url,
                Path(tmp),
                args.users,
                args.turns,
                args.sessions,
                args.concurrency,
                args.shared_embeddings,
            )
        )
    print(json.dumps(result.__dict__, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
