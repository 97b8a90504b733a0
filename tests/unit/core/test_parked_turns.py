"""Poison turns are parked, not fatal: one user's unworkable turn never stops another's
work, a command, or a session's start; a failure retrying can fix waits and is retried."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from tests.unit.inbound.livekit.world import ADA, EVE, World

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.core.memory_worker import RETRY_FIRST_SECONDS, SWEEP_GRACE_SECONDS
from companion.domain.errors import ChatModelUnavailable, EmbeddingModelMismatch
from companion.domain.models import Memory, MemoryCandidate, Role


class Troubled(OfflineChatModel):
    """The offline model, failing on words it is told to fail on."""

    def __init__(self) -> None:
        super().__init__()
        self.poison: str | None = "Oslo"  # retrying cannot fix it
        self.down: str | None = None  # retrying can

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        if self.poison and self.poison in text:
            raise EmbeddingModelMismatch("stored vectors are hashing-256, the query MiniLM")
        if self.down and self.down in text:
            raise ChatModelUnavailable("the model server timed out")
        return await super().extract_memories(text, known)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = World(tmp_path, chat_model=Troubled())
    yield built
    await built.worker.close(within=5)


async def journal(world: World, user: object, text: str) -> None:
    """A turn journalled by a process that died before its memory work (as after kill -9)."""
    conversations = world.container.services.conversations()
    session = await conversations.start(user)  # type: ignore[arg-type]
    await conversations.record(session, Role.USER, text)


async def test_an_unworkable_turn_is_parked_and_everyone_else_goes_on(world: World) -> None:
    await journal(world, EVE, "I moved to Oslo.")
    await journal(world, ADA, "I have a dog called Rex.")
    assert await world.worker.recover() == 1  # Ada's; Eve's is parked, nothing raised
    assert [m.value for m in await world.memories.list(ADA)] == ["Rex"]
    (parked,) = await world.conversation_store.parked_turns(None, 10)
    assert parked.turn.user_id == EVE
    assert parked.reason.startswith("EmbeddingModelMismatch: stored vectors")
    assert await world.conversation_store.pending_turns(10) == []
    journal_stats = await world.services.stats.journal()
    assert (journal_stats["pending"], journal_stats["parked"]) == (0, 1)
    # Every session starts, Eve's too; her parked turn waits for a retry.
    ada = await world.services.chat.start(ADA)
    assert "Rex" in await world.services.chat.turn(ada, "What is my dog called?")
    await world.services.chat.start(EVE)
    # Fixed (e.g. by `memories reindex`): put back and worked.
    world.model.poison = None  # type: ignore[attr-defined]
    assert await world.conversation_store.unpark_turns(EVE) == 1
    assert await world.worker.recover(user_id=EVE) == 1
    assert [m.value for m in await world.memories.list(EVE)] == ["Oslo"]


async def test_a_failure_retrying_can_fix_waits_and_holds_that_users_later_turns(
    world: World,
) -> None:
    world.model.poison = None  # type: ignore[attr-defined]
    world.model.down = "Lyon"  # type: ignore[attr-defined]
    await journal(world, EVE, "I moved to Lyon.")
    await journal(world, EVE, "I have a cat called Miso.")
    await journal(world, ADA, "I have a dog called Rex.")
    assert await world.worker.recover() == 1  # Ada's; Eve's first waits, her second too
    assert await world.conversation_store.parked_turns(None, 10) == []  # not parked
    assert await world.memories.list(EVE) == []  # in the order said: nothing jumps ahead
    world.model.down = None  # type: ignore[attr-defined]
    assert await world.worker.recover() == 0  # the retry is not due yet
    world.clock.advance(timedelta(seconds=RETRY_FIRST_SECONDS))
    assert await world.worker.recover() == 2
    assert {m.value for m in await world.memories.list(EVE)} == {"Lyon", "Miso"}


async def test_the_sweep_leaves_a_young_turn_to_the_live_session_that_said_it(
    world: World,
) -> None:
    world.model.poison = None  # type: ignore[attr-defined]
    await journal(world, ADA, "I have a dog called Rex.")  # another process is on it
    grace = timedelta(seconds=SWEEP_GRACE_SECONDS)
    assert await world.worker.recover(older_than=grace) == 0
    world.clock.advance(grace)  # nobody finished it: it was abandoned
    assert await world.worker.recover(older_than=grace) == 1


async def test_a_session_whose_turn_is_left_pending_does_not_end_cleanly(world: World) -> None:
    world.model.poison = None  # type: ignore[attr-defined]
    world.model.down = "Lyon"  # type: ignore[attr-defined]
    chat = world.services.chat
    session = await chat.start(ADA)
    await chat.turn(session, "I moved to Lyon.")  # answered; its memory work fails for now
    await chat.end(session)
    assert not await world.container.services.conversations().ended_cleanly(ADA)
    world.model.down = None  # type: ignore[attr-defined]
    await chat.start(ADA)  # the next start works it before greeting
    assert [m.value for m in await world.memories.list(ADA)] == ["Lyon"]
