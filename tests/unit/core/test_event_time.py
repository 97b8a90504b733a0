"""A turn worked late (recovered after a crash) is reconciled at the time it was said."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.unit.inbound.livekit.world import ADA, World

from companion.domain.models import MemoryRevision, Role
from companion.main.container import aclose_clients


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = World(tmp_path)
    yield built
    await built.worker.close(within=5)
    await aclose_clients(built.container)


async def test_a_turn_recovered_late_never_overrides_a_fact_said_after_it(world: World) -> None:
    chat = world.services.chat
    conversations = world.container.services.conversations()
    crashed = await chat.start(ADA)
    # Session A's turn is journalled, then its process dies before the memory work.
    paris = await conversations.record(crashed, Role.USER, "I live in Paris.")
    world.clock.advance(timedelta(days=1))
    # Session B, in another process (which knows nothing of A's turn), a day later.
    later = await conversations.start(ADA)
    turns = world.services.turns
    await turns.begin(later, "I live in Berlin.")
    await turns.finish(later, "Berlin, lovely!")
    await world.worker.drain()
    # B's claim on the user's memory work read A's pending turn: worked first, in order.
    assert await world.worker.recover() == 0
    await _assert_berlin_after_paris(world, paris.created_at)


async def test_a_turn_retried_late_never_overrides_a_fact_said_after_it(world: World) -> None:
    chat = world.services.chat
    conversations = world.container.services.conversations()
    store = world.container.gateways.conversation_store()
    crashed = await chat.start(ADA)
    paris = await conversations.record(crashed, Role.USER, "I live in Paris.")
    # A's memory work failed in a way a retry cannot fix (say, an embedder change): parked.
    await store.park_turn(ADA, paris.id, "EmbeddingModelMismatch: reindex", world.clock.now())
    world.clock.advance(timedelta(days=1))
    later = await conversations.start(ADA)
    turns = world.services.turns
    await turns.begin(later, "I live in Berlin.")
    await turns.finish(later, "Berlin, lovely!")
    await world.worker.drain()
    # Fixed, and retried (`memories retry`): A's turn is worked after B's, a day late.
    assert await store.unpark_turns(ADA) == 1
    assert await world.worker.recover() == 1
    await _assert_berlin_after_paris(world, paris.created_at)


async def _assert_berlin_after_paris(world: World, paris_said: datetime) -> None:
    (home,) = [m for m in await world.memories.list(ADA) if m.key == "location.home"]
    assert home.value == "Berlin"
    (was,) = home.history
    assert (was.value, was.valid_from) == ("Paris", paris_said)
    assert was.valid_to == (home.valid_from or home.created_at) and was.valid_from < was.valid_to
    assert isinstance(was, MemoryRevision)


async def test_an_import_takes_its_place_in_the_timeline_by_when_each_value_was_said(
    world: World,
) -> None:
    from dataclasses import replace

    from companion.domain.models import MemoryCandidate, MemoryCategory

    def home(city: str) -> MemoryCandidate:
        return MemoryCandidate(
            MemoryCategory.PERSONAL, f"Lives in {city}", 8, "location.home", city
        )

    world.clock.advance(timedelta(days=10))
    (berlin,) = await world.memories.remember(ADA, [home("Berlin")])
    # An export from another device: Paris, said earlier, and never moved since there.
    older = replace(
        berlin.memory,
        id=uuid.uuid4(),
        text="Lives in Paris",
        value="Paris",
        created_at=berlin.memory.created_at - timedelta(days=5),
        updated_at=berlin.memory.created_at - timedelta(days=5),
    )
    report = await world.memories.import_memories(ADA, [older])
    assert (report.added, report.updated, report.skipped) == (0, 1, 0)
    stored = await world.memories.get(ADA, berlin.memory.id)
    assert stored.value == "Berlin"  # said last, still current
    assert [(h.value, h.valid_from, h.valid_to) for h in stored.history] == [
        ("Paris", older.created_at, berlin.memory.created_at)
    ]
    again = await world.memories.import_memories(ADA, [replace(older, id=uuid.uuid4())])
    assert (again.added, again.updated, again.skipped) == (0, 0, 1)  # nothing new: a no-op
