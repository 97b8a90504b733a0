"""The offline chat model: answers from memory, acknowledges facts, never pretends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import make_memory

from companion.adapters.local.extraction import extract_candidates
from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.domain.errors import InvalidInput
from companion.domain.models import (
    ChatMessage,
    ChatRequest,
    Memory,
    MemoryCandidate,
    Role,
    UserProfile,
)

USER = uuid.UUID(int=11)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WORKED_EXAMPLE = "Hi! My name is Ada and my favourite colour is green. I have a dog called Biscuit."


@pytest.fixture
def model() -> OfflineChatModel:
    return OfflineChatModel()


def stored(candidates: list[MemoryCandidate]) -> tuple[Memory, ...]:
    return tuple(
        make_memory(
            USER, c.text, key=c.key, value=c.value, category=c.category, importance=c.importance
        )
        for c in candidates
    )


def ask(
    text: str, memories: tuple[Memory, ...] = (), profile: UserProfile | None = None
) -> ChatRequest:
    return ChatRequest(messages=(ChatMessage(Role.USER, text),), memories=memories, profile=profile)


async def test_it_remembers_the_worked_example_and_answers_from_it(
    model: OfflineChatModel,
) -> None:
    candidates = await model.extract_memories(WORKED_EXAMPLE)
    assert [(c.key, c.value) for c in candidates] == [
        ("name", "Ada"),
        ("favourite.colour", "green"),
        ("pet.dog.biscuit", "Biscuit"),
    ]
    memories = stored(candidates)

    assert "Biscuit" in await model.reply(ask("What's my dog called?", memories))
    assert "green" in await model.reply(ask("What is my favourite colour?", memories))
    assert "Ada" in await model.reply(ask("What's my name?", memories))


async def test_it_says_it_does_not_know_instead_of_inventing(model: OfflineChatModel) -> None:
    memories = stored(await model.extract_memories("My favourite colour is green."))

    reply = await model.reply(ask("What's my dog called?", memories))

    assert "don't know" in reply
    assert "green" not in reply


async def test_it_acknowledges_what_it_is_told(model: OfflineChatModel) -> None:
    reply = await model.reply(ask(WORKED_EXAMPLE))

    assert reply.startswith("Nice to meet you, Ada!")
    assert "your favourite colour is green" in reply
    assert "you have a dog called Biscuit" in reply


async def test_it_answers_the_last_user_message_of_the_dialogue(model: OfflineChatModel) -> None:
    memories = stored(await model.extract_memories("I moved to Berlin"))
    request = ChatRequest(
        messages=(
            ChatMessage(Role.SYSTEM, "You are a companion."),
            ChatMessage(Role.USER, "Hello!"),
            ChatMessage(Role.ASSISTANT, "Hi there!"),
            ChatMessage(Role.USER, "Where do I live?"),
            ChatMessage(Role.ASSISTANT, "(thinking)"),
        ),
        memories=memories,
    )
    assert await model.reply(request) == "You live in Berlin."


async def test_a_request_without_a_user_message_is_rejected(model: OfflineChatModel) -> None:
    request = ChatRequest(messages=(ChatMessage(Role.SYSTEM, "You are a companion."),))
    with pytest.raises(InvalidInput):
        await model.reply(request)
    with pytest.raises(InvalidInput):
        _ = [piece async for piece in model.stream_reply(request)]


async def test_greetings_are_returned_warmly_and_by_name(model: OfflineChatModel) -> None:
    ada = UserProfile(user_id=USER, created_at=T0, updated_at=T0, name="Ada")

    assert (await model.reply(ask("Hello!", profile=ada))).startswith(("Hello, Ada!", "Hi, Ada!"))
    assert (await model.reply(ask("salam"))).startswith("Wa alaikum assalam")


async def test_it_is_honest_about_being_offline(model: OfflineChatModel) -> None:
    for text in ("What's the weather like in Paris?", "Tell me a joke", "Hmm."):
        reply = await model.reply(ask(text))
        assert "offline" in reply
        assert "remember" in reply or "keep track" in reply


async def test_the_stream_is_the_reply_sentence_by_sentence(model: OfflineChatModel) -> None:
    request = ask(WORKED_EXAMPLE)

    pieces = [piece async for piece in model.stream_reply(request)]

    assert pieces == ["Nice to meet you, Ada! ", pieces[1]]
    assert "".join(pieces) == await model.reply(request)


def test_it_is_named_offline(model: OfflineChatModel) -> None:
    assert model.name == "offline"


non_empty_text = st.text(min_size=1).filter(lambda text: text.strip() != "")


@settings(max_examples=300)
@given(non_empty_text)
def test_any_message_gets_the_same_reply_every_time_in_one_piece_or_many(text: str) -> None:
    model = OfflineChatModel()
    request = ask(text, stored(extract_candidates(WORKED_EXAMPLE)))

    async def streamed() -> str:
        return "".join([piece async for piece in model.stream_reply(request)])

    reply = asyncio.run(model.reply(request))

    assert reply.strip()
    assert asyncio.run(model.reply(request)) == reply
    assert asyncio.run(streamed()) == reply
