"""The journal is a work queue: one process at a time works a user's turns, in the order
they were said, under a claim with a lease that a killed process's successor takes over.

Two worlds on the same stores are two processes on one database (each with its own
worker, cache and clock); the store is the only thing they share, as in a deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from tests.unit.inbound.livekit.world import ADA, EVE, World

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.core.memory_worker import RETRY_FIRST_SECONDS
from companion.domain.models import Memory, MemoryCandidate, Role


class Counting(OfflineChatModel):
    """The offline model, noting what it was asked to extract from, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.extracted: list[str] = []

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        self.extracted.append(text)
        return await super().extract_memories(text, known)


@pytest.fixture
async def worlds(tmp_path: Path) -> AsyncIterator[tuple[World, World]]:
    first = World(tmp_path / "a", chat_model=Counting())
    second = World(tmp_path / "b", chat_model=Counting(), stores_of=first)
    yield first, second
    for world in (first, second):
        await world.worker.close(within=5)


def extracted(world: World) -> list[str]:
    model = world.model
    assert isinstance(model, Counting)
    return model.extracted


async def abandon(world: World, user: object, text: str) -> None:
    """A turn journalled by a process that died before its memory work (kill -9)."""
    conversations = world.container.services.conversations()
    session = await conversations.start(user)  # type: ignore[arg-type]
    await conversations.record(session, Role.USER, text)


async def values(world: World, user: object, key: str) -> list[str | None]:
    return [m.value for m in await world.memories.list(user) if m.key == key]  # type: ignore[arg-type]


async def test_a_users_turns_are_worked_by_the_process_whose_session_holds_the_claim(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    session = await a.services.chat.start(ADA)
    await a.services.chat.turn(session, "I have a dog called Rex.")
    await a.worker.drain()
    assert a.worker.claims_held() == 1
    await abandon(b, ADA, "I live in Paris.")  # left by a third process, killed
    await abandon(b, EVE, "I live in Oslo.")
    # B's sweep works Eve's turn; Ada's are A's while A's session is open.
    assert await b.worker.recover() == 1
    assert extracted(b) == ["I live in Oslo."]
    await a.services.chat.end(session)  # the claim is given up with the session
    assert a.worker.claims_held() == 0
    assert await b.worker.recover() == 1
    assert extracted(b) == ["I live in Oslo.", "I live in Paris."]
    assert extracted(a) == ["I have a dog called Rex."]  # no turn worked twice
    assert await values(a, ADA, "location.home") == ["Paris"]


async def test_a_claim_left_by_a_killed_process_is_taken_over_when_its_lease_runs_out(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    store = a.conversation_store
    await abandon(a, ADA, "I live in Paris.")
    # The killed process had claimed Ada, with a short lease it will never renew.
    assert await store.claim_user(ADA, "killed-process", 0.05) is not None
    assert await b.worker.recover() == 0
    assert extracted(b) == []
    await asyncio.sleep(0.15)
    assert await b.worker.recover() == 1
    assert await values(b, ADA, "location.home") == ["Paris"]
    assert b.worker.claims_held() == 0  # a sweep gives the claim up when it is done


async def test_a_live_turn_whose_user_another_process_works_is_retried_not_lost(
    worlds: tuple[World, World],
) -> None:
    a, b = worlds
    assert await a.conversation_store.claim_user(ADA, b.worker.owner, 60) is not None
    session = await a.services.chat.start(ADA)
    await a.services.chat.turn(session, "I live in Lyon.")
    await a.worker.drain()
    assert extracted(a) == [] and a.worker.busy == 1
    assert a.worker.left_pending(ADA)  # so the session does not end cleanly
    await a.conversation_store.release_user(ADA, b.worker.owner)
    a.clock.advance(timedelta(seconds=RETRY_FIRST_SECONDS))
    assert await a.worker.recover(user_id=ADA) == 1  # the sweep's retry of its own turns
    assert not a.worker.left_pending(ADA)
    assert await values(a, ADA, "location.home") == ["Lyon"]
    await a.services.chat.end(session)


async def test_the_claimant_works_a_users_older_turns_before_the_new_one(
    worlds: tuple[World, World],
) -> None:
    a, _ = worlds
    await abandon(a, ADA, "I live in Paris.")
    a.clock.advance(timedelta(minutes=5))
    session = await a.services.chat.start(ADA)  # a clean end is not known: recovered first
    await a.services.chat.turn(session, "Actually I live in Berlin now.")
    await a.worker.drain()
    assert extracted(a) == ["I live in Paris.", "Actually I live in Berlin now."]
    assert await values(a, ADA, "location.home") == ["Berlin"]
    await a.services.chat.end(session)


async def test_claims_are_given_up_so_a_long_lived_worker_holds_none_for_past_users(
    worlds: tuple[World, World],
) -> None:
    import uuid

    a, b = worlds
    for n in range(30):
        user = uuid.UUID(int=0x1000 + n, version=4)
        session = await a.services.chat.start(user)
        await a.services.chat.turn(session, f"I have {n + 2} cats.")
        await a.services.chat.end(session)
    await a.worker.drain()
    assert a.worker.claims_held() == 0
    assert len(a.worker._leases) == 0 and not a.worker._attending and not a.worker._queued
    # Nothing of theirs is left claimed: another process claims any of them at once.
    assert await b.conversation_store.claim_user(uuid.UUID(int=0x1000, version=4), "b", 60) == []
