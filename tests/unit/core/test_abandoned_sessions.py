"""A session that was never ended is summarised when the user next starts one."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from tests.conftest import make_memory

from companion.adapters.memory import (
    InMemoryCache,
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
    ManualClock,
)
from companion.core import ConversationService
from companion.domain.models import Role

ADA = uuid.UUID(int=31)


def service() -> tuple[
    ConversationService, InMemoryConversationStore, InMemoryMemoryStore, ManualClock
]:
    conversations, memories, clock = (
        InMemoryConversationStore(),
        InMemoryMemoryStore(),
        ManualClock(),
    )
    built = ConversationService(
        conversations, InMemoryProfileStore(), clock, InMemoryCache(), memories=memories
    )
    return built, conversations, memories, clock


async def test_the_killed_session_is_summarised_with_what_it_taught() -> None:
    conversations_service, _, memories, clock = service()
    crashed = await conversations_service.start(ADA)
    await conversations_service.record(crashed, Role.USER, "I have a cat called Miso")
    learned = make_memory(ADA, "Has a cat called Miso", key="pet.cat.miso", value="Miso")
    await memories.add(replace(learned, thread=str(crashed.session_id)), None)
    await memories.add(make_memory(ADA, "Lives in Oslo", key="location.home"), None)  # not then
    clock.advance(timedelta(hours=3))

    again = await conversations_service.start(ADA)

    (summary,) = await conversations_service.summaries(ADA)
    assert summary.session_id == crashed.session_id and summary.turn_count == 1
    assert "cat" in summary.summary and "Oslo" not in summary.summary
    assert "cat" in again.greeting.text


async def test_nothing_to_recover_leaves_the_summaries_alone() -> None:
    conversations_service, _, _, clock = service()
    assert await conversations_service.summarize_abandoned(ADA) is None  # a new user
    ended = await conversations_service.start(ADA)
    await conversations_service.record(ended, Role.USER, "hello")
    first = await conversations_service.end(ended)
    clock.advance(timedelta(days=1))
    assert await conversations_service.summarize_abandoned(ADA) is None
    assert await conversations_service.summaries(ADA) == [first]

    quiet = await conversations_service.start(ADA)  # the user never spoke in it
    await conversations_service.record(quiet, Role.ASSISTANT, "Welcome back!")
    assert await conversations_service.summarize_abandoned(ADA) is None
