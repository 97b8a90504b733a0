"""Several processes sweep one PostgreSQL journal at once, with a slow remote model: each
abandoned turn is worked by exactly one of them (one model call), each user's turns in
the order they were said, and nothing is left pending."""

from __future__ import annotations

import asyncio
import collections
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.servers.openai_peer import OpenAIPeer, PeerReply

from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.postgres_conversation_store import PostgresConversationStore
from companion.domain.models import ConversationTurn, Role

PROCESSES = 3
USERS = 6
TURNS_EACH = 4
SWEEP = """
import asyncio
from companion.main.container import aclose_clients, build_container
from companion.main.settings import load_settings


async def main() -> None:
    container = build_container(load_settings())
    worker = container.services.memory_worker()
    try:
        print(await worker.recover())
    finally:
        await worker.close(within=30)
        await aclose_clients(container)
        container.shutdown_resources()


asyncio.run(main())
"""


def slow_extraction(peer: OpenAIPeer, seen: list[str]) -> None:
    def answer(body: Any) -> PeerReply:
        said = str(body["messages"][-1]["content"])
        seen.append(said)
        town = said.removeprefix("I live in ").removesuffix(".")
        item = {
            "category": "personal",
            "text": f"Lives in {town}",
            "importance": 8,
            "key": "location.home",
            "value": town,
            "forget": False,
        }
        return PeerReply(body=OpenAIPeer.completion(f'{{"memories": [{_json(item)}]}}'), delay=0.3)

    peer.responder = answer


def _json(item: dict[str, object]) -> str:
    import json

    return json.dumps(item)


@pytest.mark.slow
async def test_processes_sweeping_one_journal_work_each_turn_once_and_in_order(
    tmp_path: Path, postgres_dsn: str, openai_peer: OpenAIPeer
) -> None:
    seen: list[str] = []
    slow_extraction(openai_peer, seen)
    database = await PostgresDatabase.open(postgres_dsn, min_size=1, max_size=2)
    store = PostgresConversationStore(database)
    users = [uuid.UUID(int=0xC1A1 + n, version=4) for n in range(USERS)]
    old = datetime.now(UTC) - timedelta(hours=1)  # abandoned: older than any grace
    said: dict[uuid.UUID, list[str]] = {}
    try:
        for n in range(TURNS_EACH):
            for u, user in enumerate(users):
                text = f"I live in Town-{u}-{n}."
                said.setdefault(user, []).append(text)
                await store.append_turn(
                    ConversationTurn(
                        uuid.uuid4(),
                        user,
                        uuid.uuid4(),
                        Role.USER,
                        text,
                        old + timedelta(seconds=n),
                    )
                )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUPABASE_"))}
        env.update(
            DATABASE_URL=postgres_dsn,
            OPENAI_API_KEY="sk-local-peer",
            OPENAI_BASE_URL=openai_peer.base_url,
            COMPANION_EMBEDDER="hashing",
            COMPANION_DATA_DIR=str(tmp_path),
        )
        sweeps = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", SWEEP, env=env, stdout=asyncio.subprocess.PIPE
            )
            for _ in range(PROCESSES)
        ]
        outputs = [await asyncio.wait_for(p.communicate(), 120) for p in sweeps]
        assert [p.returncode for p in sweeps] == [0] * PROCESSES
        done = [int(out.decode().split()[-1]) for out, _ in outputs]
        assert sum(done) == USERS * TURNS_EACH  # every turn worked by one process
        assert len(seen) == USERS * TURNS_EACH
        assert collections.Counter(seen).most_common(1)[0][1] == 1  # none twice
        for user in users:  # each user's turns reached the model in the order said
            assert [t for t in seen if t in said[user]] == said[user]
        assert await store.pending_turns(100) == []
        rows = await database.fetch(
            "SELECT user_id, value FROM companion_memories WHERE key = 'location.home'"
        )
        assert {r["user_id"]: r["value"] for r in rows} == {
            user: said[user][-1].removeprefix("I live in ").removesuffix(".") for user in users
        }
    finally:
        await database.close()
