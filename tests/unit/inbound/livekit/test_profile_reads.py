"""A session through the agent reads the user's profile once at its start and at most once
per turn (in the turn's memory work), however many services use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.unit.inbound.livekit.world import ADA, World

from companion.adapters.memory import InMemoryCache
from companion.core.cache_aside import profile_key
from companion.inbound.livekit.livekit_llm import ChatModelLLM
from companion.inbound.livekit.session import VoiceSession
from companion.main.container import aclose_clients


class ProfileReadCounter(InMemoryCache):
    """The in-process cache, counting lookups of one user's profile (every profile read
    of the services goes through the cache first)."""

    def __init__(self) -> None:
        super().__init__(max_entries=1000, default_ttl_seconds=300)
        self.reads = 0

    async def get(self, key: str) -> bytes | None:
        if key == profile_key(ADA):
            self.reads += 1
        return await super().get(key)


@pytest.fixture
async def counted(tmp_path: Path) -> AsyncIterator[tuple[World, ProfileReadCounter]]:
    counter = ProfileReadCounter()
    world = World(tmp_path, cache=counter)
    yield world, counter
    await world.worker.close(within=5)
    await aclose_clients(world.container)
    world.container.shutdown_resources()


async def test_one_profile_read_at_the_start_and_at_most_one_per_turn(
    counted: tuple[World, ProfileReadCounter],
) -> None:
    world, counter = counted
    voice = await VoiceSession.open(world.services, ADA, llm=ChatModelLLM(world.model))
    await voice.start_text()
    assert counter.reads == 1  # the greeting, the agent's instructions and the session
    per_turn = []
    for text in ("My name is Ada.", "I live in Lahore.", "How are you?"):
        before = counter.reads
        await voice.send(text)
        await world.worker.drain()  # the turn's memory work, done
        per_turn.append(counter.reads - before)
    # A turn that teaches something reads the profile once (to mask names and fold what
    # it learned in); a turn that teaches nothing reads it not at all.
    assert per_turn == [1, 1, 0]
    # The session holds the profile the memory work left, with no read to get it.
    held = voice.agent.conversation.profile
    assert held.name == "Ada"
    assert held == await world.services.profiles.get(ADA)
    await voice.aclose()
