"""The reply never waits for memory work, and one user's work never waits for another's.

A remote model's extraction takes seconds. Each user's turns are worked in their own lane,
in the order said; lanes run in parallel (up to a bound), and past a bound on what waits
the worker sheds turns, which stay journalled and are worked later. The model here holds
each extraction until the test lets it go, so "does not wait" is a fact, not a timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
import structlog
from tests.unit.inbound.livekit.world import ADA, EVE, World

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.domain.models import Memory, MemoryCandidate

BO = ADA.__class__(int=ADA.int + 7)


class Held(OfflineChatModel):
    """The offline model, whose extraction for a user's text waits until released."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[str, asyncio.Event] = {}
        self.started: list[str] = []
        self.finished: list[str] = []
        self.running = 0
        self.most_at_once = 0

    def gate(self, text: str) -> asyncio.Event:
        return self.gates.setdefault(text, asyncio.Event())

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        self.started.append(text)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.gate(text).wait()
        finally:
            self.running -= 1
        self.finished.append(text)
        return await super().extract_memories(text, known)


async def until(condition: object, what: str) -> None:
    for _ in range(500):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def world(tmp_path: Path, **settings: object) -> tuple[World, Held]:
    model = Held()
    return World(tmp_path, chat_model=model, **settings), model


async def test_the_next_reply_does_not_wait_for_the_last_turns_extraction(tmp_path: Path) -> None:
    w, model = world(tmp_path)
    chat = w.services.chat
    session = await chat.start(ADA)
    await chat.turn(session, "I live in Lahore.")
    await until(lambda: model.started == ["I live in Lahore."], "the extraction started")
    # The extraction is still running: the next reply comes anyway, from the session's
    # own words (they are in its history).
    reply = await asyncio.wait_for(chat.turn(session, "Where do I live?"), 30)
    assert "Lahore" in reply
    assert model.finished == []
    model.gate("I live in Lahore.").set()
    model.gate("Where do I live?").set()
    await w.worker.drain()
    assert [m.value for m in await w.memories.list(ADA)] == ["Lahore"]
    await chat.end(session)
    await w.worker.close(within=5)


async def test_one_slow_user_does_not_delay_another(tmp_path: Path) -> None:
    w, model = world(tmp_path)
    chat = w.services.chat
    slow, quick = await chat.start(ADA), await chat.start(EVE)
    await chat.turn(slow, "I live in Paris.")  # held until the end
    model.gate("I live in Oslo.").set()
    await chat.turn(quick, "I live in Oslo.")
    assert await asyncio.wait_for(w.worker.drain(user_id=EVE), 30)
    assert [m.value for m in await w.memories.list(EVE)] == ["Oslo"]
    assert model.finished == ["I live in Oslo."]  # Ada's is still being extracted
    assert await w.worker.drain(0.05, user_id=ADA) is False
    model.gate("I live in Paris.").set()
    await w.worker.drain()
    assert [m.value for m in await w.memories.list(ADA)] == ["Paris"]
    await w.worker.close(within=5)


async def test_a_users_turns_are_worked_one_at_a_time_in_the_order_said(tmp_path: Path) -> None:
    w, model = world(tmp_path)
    chat = w.services.chat
    session = await chat.start(ADA)
    lines = ["I live in Paris.", "I moved to Berlin.", "I moved to Rome."]
    for line in lines:
        await chat.turn(session, line)
    await until(lambda: model.started == lines[:1], "the first extraction started")
    for line in reversed(lines):  # let the last go first: it must still wait its turn
        model.gate(line).set()
        await asyncio.sleep(0.02)
    await w.worker.drain()
    assert model.started == lines and model.finished == lines and model.most_at_once == 1
    assert [m.value for m in await w.memories.list(ADA)] == ["Rome"]
    await w.worker.close(within=5)


async def test_lanes_run_in_parallel_up_to_the_bound(tmp_path: Path) -> None:
    w, model = world(tmp_path, memory_parallel=2)
    chat = w.services.chat
    users = [ADA.__class__(int=ADA.int + i) for i in range(1, 5)]
    for i, user in enumerate(users):
        session = await chat.start(user)
        await chat.turn(session, f"I live in City{i}.")
    await until(lambda: len(model.started) == 2, "two extractions running")
    await asyncio.sleep(0.05)
    assert len(model.started) == 2  # the other two wait for a slot
    for i in range(4):
        model.gate(f"I live in City{i}.").set()
    await w.worker.drain()
    assert model.most_at_once == 2 and sorted(model.finished) == sorted(model.started)
    assert len(model.finished) == 4
    await w.worker.close(within=5)


async def test_past_the_queue_bound_a_turn_is_shed_logged_once_and_worked_later(
    tmp_path: Path,
) -> None:
    w, model = world(tmp_path, memory_queue=2)
    chat = w.services.chat
    lines = ["I live in Paris.", "I have a dog called Rex.", "I love chai.", "I love tennis."]
    session = await chat.start(ADA)
    with structlog.testing.capture_logs() as logs:
        for line in lines:
            await chat.turn(session, line)  # every reply comes, shed or not
    shed = [e for e in logs if e["event"] == "memory_work_shed"]
    assert len(shed) == 1 and shed[0]["max_queued"] == 2  # one line per overload
    assert w.worker.shed == 2
    pending = await w.conversation_store.pending_turns(10, ADA)
    assert [t.text for t in pending] == lines  # all journalled, none worked yet
    for line in lines:
        model.gate(line).set()
    await w.worker.drain()
    assert w.worker.left_pending(ADA)  # the shed ones wait for a sweep
    assert await w.worker.recover(user_id=ADA, retry_now=True) == 2
    keys = sorted(m.key or "" for m in await w.memories.list(ADA))
    assert keys == ["likes.chai", "likes.tennis", "location.home", "pet.dog.rex"]
    assert await w.conversation_store.pending_turns(10, ADA) == []
    await chat.end(session)
    await w.worker.close(within=5)


@pytest.mark.parametrize("bad", [{"memory_parallel": 0}, {"memory_queue": 0}])
def test_the_bounds_are_validated(tmp_path: Path, bad: dict[str, int]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        World(tmp_path, **bad)


async def test_memory_work_steps_aside_while_a_reply_is_prepared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import companion.core.memory_worker as memory_worker

    monkeypatch.setattr(memory_worker, "YIELD_SECONDS", 30.0)  # no bound in this test
    w, model = world(tmp_path)
    model.gate("I live in Paris.").set()
    chat = w.services.chat
    session = await chat.start(ADA)
    async with w.worker.replying():  # another session's reply is being prepared
        await chat.turn(session, "I live in Paris.")
        await asyncio.sleep(0.1)
        assert model.started == []  # the memory work waits for the reply
    await until(lambda: model.finished == ["I live in Paris."], "the work went on after")
    await chat.end(session)
    await w.worker.close(within=5)
