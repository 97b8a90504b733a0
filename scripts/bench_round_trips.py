"""Database round trips per conversational turn on PostgreSQL + Redis, as deployed.

Usage (from the repository root; starts and stops its own PostgreSQL and redis-server on
127.0.0.1, like the test fixtures, so both must be installed: scripts/install-servers.sh)::

    .venv/bin/python scripts/bench_round_trips.py [--users 50] [--turns 20] [--runs 3]

One process, built by the container from DATABASE_URL and REDIS_URL alone (the offline
chat model, the hashing embedder: neither touches the database). ``--users`` users talk
at once, each through two sessions of ``--turns`` turns with a short random pause
between turns, so sessions start and end at different times, as they do on a voice
worker. Every statement the PostgreSQL pool sends is counted, from the first session's
start to the last session's end, memory work, summaries and recovery checks included.

Printed per run: statements per user turn in each user's first session in this process
(it also loads what the process keeps per user: the key directory, and reads the cache
does not hold yet) and in the second (a returning user's session, start to end).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.postgres import start_server, truncate
from tests.servers.redis import RedisServer

from companion.main.container import Container, aclose_clients, build_container
from companion.main.settings import load_settings

CITIES = ["Lahore", "Karachi", "Oslo", "Lyon", "Nairobi", "Lima", "Hanoi", "Quito"]
PETS = ["Biscuit", "Pepper", "Mochi", "Rolo", "Juniper", "Tofu"]
JOBS = ["a nurse", "a teacher", "an engineer", "a baker", "a pilot", "a gardener"]
SMALL_TALK = [
    "How are you today?",
    "Tell me something nice.",
    "What should I cook tonight?",
    "I had a long day.",
    "Do you remember what we talked about?",
    "That sounds good.",
]


def script(rng: random.Random, turns: int) -> list[str]:
    """A session's utterances: some facts (new or restated), questions, small talk."""
    facts = [
        f"I live in {rng.choice(CITIES)}.",
        f"I have a dog called {rng.choice(PETS)}.",
        f"I work as {rng.choice(JOBS)}.",
        "My favourite colour is green.",
        "I love chai in the evening.",
    ]
    questions = ["Where do I live?", "What is my dog called?", "What do I do for work?"]
    pool = facts + questions + SMALL_TALK
    return [rng.choice(pool) for _ in range(turns)]


async def user_sessions(
    container: Container,
    user: uuid.UUID,
    turns: int,
    seed: int,
    marks: list[int],
    gate: asyncio.Barrier,
) -> None:
    rng = random.Random(seed)
    chat = container.services.chat()
    database = container.gateways.postgres()
    for _ in (1, 2):
        # Every user's first session ends before any second one starts: the statements
        # sent between two barriers are one phase's, whoever sent them.
        if await gate.wait() == 0:
            marks.append(database.queries)
        await asyncio.sleep(rng.random() * 0.05)
        session = await chat.start(user)
        for text in script(rng, turns):
            await chat.turn(session, text)
            await asyncio.sleep(rng.random() * 0.01)  # the user thinking, the reply spoken
        await chat.end(session)


async def one_run(dsn: str, redis_url: str, users: int, turns: int, run: int) -> dict[int, float]:
    await truncate(dsn)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(
            companion={"data_dir": data_dir, "embedder": "hashing"},
            database={"url": dsn},
            redis={"url": redis_url},
        )
        container = build_container(settings)
        marks: list[int] = []
        gate = asyncio.Barrier(users)
        ids = [uuid.uuid4() for _ in range(users)]
        try:
            await asyncio.gather(
                *(
                    user_sessions(container, user, turns, run * 1000 + i, marks, gate)
                    for i, user in enumerate(ids)
                )
            )
        finally:
            # Whatever is still pending is sent here, and counted.
            await container.services.memory_worker().close(within=30)
            await aclose_clients(container)
            marks.append(container.gateways.postgres().queries)
            container.shutdown_resources()
    first, second, end = marks
    return {1: (second - first) / (users * turns), 2: (end - second) / (users * turns)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    server = start_server()
    redis = RedisServer()
    redis.start()
    try:
        results = []
        for run in range(1, args.runs + 1):
            figures = await one_run(server.dsn(), redis.url, args.users, args.turns, run)
            results.append(figures)
            print(
                f"run {run}: {args.users} users x {args.turns} turns:"
                f" first session {figures[1]:.3f}, returning user {figures[2]:.3f}"
                " statements per turn"
            )
        print(
            f"median over {args.runs} runs: first session"
            f" {statistics.median(r[1] for r in results):.3f},"
            f" returning user {statistics.median(r[2] for r in results):.3f}"
        )
    finally:
        redis.stop()
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
