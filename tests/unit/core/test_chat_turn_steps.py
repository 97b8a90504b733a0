"""The turn use case in its two steps (begin, finish), as the voice agent drives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.unit.inbound.livekit.world import ADA, World

from companion.domain.models import Role
from companion.main.container import aclose_clients


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = World(tmp_path)
    yield built
    await built.worker.close(within=5)
    await aclose_clients(built.container)


async def test_prepare_journals_the_turn_and_brings_its_memories(world: World) -> None:
    await world.memories.save(ADA, text="Has a dog called Biscuit")
    chat, turns = world.services.chat, world.services.turns
    session = await chat.start(ADA)
    prepared = await turns.begin(session, "  What is my dog called?  ")
    assert prepared.said == "What is my dog called?"
    assert [m.text for m in prepared.memories] == ["Has a dog called Biscuit"]
    assert prepared.profile.user_id == ADA
    pending = await world.conversation_store.pending_turns(10)
    assert [(t.role, t.text) for t in pending] == [(Role.USER, "What is my dog called?")]


async def test_memory_work_starts_only_when_asked_and_the_next_reply_reads_the_turn(
    world: World,
) -> None:
    chat, turns = world.services.chat, world.services.turns
    session = await chat.start(ADA)
    await turns.begin(session, "I live in Lahore.")
    assert await world.memories.list(ADA) == []  # nothing before the reply
    await turns.finish(session, "Lahore, lovely!")
    # The next reply does not wait for that work: it reads the session's own words.
    assert "Lahore" in await chat.turn(session, "Where do I live?")
    await world.worker.drain()
    assert [m.value for m in await world.memories.list(ADA)] == ["Lahore"]
    turns = await world.conversation_store.turns(ADA, session.session_id)
    assert [t.role for t in turns] == [Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT]


async def test_an_empty_reply_is_not_journalled(world: World) -> None:
    chat, turns = world.services.chat, world.services.turns
    session = await chat.start(ADA)
    await turns.finish(session, "   ")
    assert await world.conversation_store.turns(ADA, session.session_id) == []
