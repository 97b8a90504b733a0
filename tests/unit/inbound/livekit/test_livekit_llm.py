"""ChatModelLLM: the ChatModel port behind LiveKit's LLM interface."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from livekit.agents import APIConnectionError, APIError, llm

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.domain.errors import ChatModelError, ChatModelUnavailable
from companion.domain.models import (
    ChatRequest,
    Memory,
    MemoryCandidate,
    MemoryCategory,
    Role,
)
from companion.inbound.livekit.livekit_llm import ChatModelLLM, chat_request

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ADA = uuid.UUID(int=7)


def dog() -> Memory:
    return Memory(
        id=uuid.uuid4(),
        user_id=ADA,
        category=MemoryCategory.RELATIONSHIP,
        text="Has a dog called Biscuit",
        importance=6,
        created_at=NOW,
        updated_at=NOW,
        key="pet.dog.biscuit",
        value="Biscuit",
    )


def context(*turns: tuple[str, str]) -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    for role, text in turns:
        ctx.add_message(role=role, content=text)  # type: ignore[arg-type]
    return ctx


def test_the_request_keeps_instructions_and_the_recent_dialogue_in_order() -> None:
    turns = [("user" if i % 2 == 0 else "assistant", f"message {i}") for i in range(30)]
    ctx = context(("system", "Be kind."), *turns)
    ctx.insert(llm.FunctionCall(call_id="c1", name="get_profile", arguments="{}"))
    request = chat_request(ctx, memories=[dog()])
    assert request.messages[0].role is Role.SYSTEM and request.messages[0].content == "Be kind."
    dialogue = request.messages[1:]
    assert len(dialogue) == 12  # bounded, like the chat service's history
    assert [m.content for m in dialogue] == [f"message {i}" for i in range(18, 30)]
    assert dialogue[-1].role is Role.ASSISTANT and dialogue[-2].role is Role.USER
    assert [m.text for m in request.memories] == ["Has a dog called Biscuit"]


async def test_the_offline_model_answers_from_memories_passed_as_data() -> None:
    bridge = ChatModelLLM(OfflineChatModel())
    ctx = context(("user", "What's my dog called?"))
    with_memory = await bridge.chat_with_memories(chat_ctx=ctx, memories=[dog()]).collect()
    without = await bridge.chat(chat_ctx=ctx).collect()
    assert "Biscuit" in with_memory.text
    assert "Biscuit" not in without.text
    assert with_memory.tool_calls == []


async def test_the_reply_streams_in_pieces_that_join_into_the_whole_reply() -> None:
    model = OfflineChatModel()
    ctx = context(("user", "My name is Ada. I live in Lahore. I have a dog called Biscuit."))
    pieces = [
        chunk.delta.content
        async for chunk in ChatModelLLM(model).chat(chat_ctx=ctx)
        if chunk.delta and chunk.delta.content
    ]
    whole = await model.reply(chat_request(ctx))
    assert len(pieces) > 1 and "".join(pieces) == whole


async def test_with_nothing_said_yet_there_is_nothing_to_answer() -> None:
    reply = await ChatModelLLM(OfflineChatModel()).chat(chat_ctx=context(("system", "x"))).collect()
    assert reply.text == ""


class Failing(OfflineChatModel):
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def stream_reply(self, request: ChatRequest) -> AsyncIterator[str]:  # type: ignore[override]
        raise self.error
        yield ""  # pragma: no cover

    async def extract_memories(self, text: str) -> list[MemoryCandidate]:
        return []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ChatModelUnavailable("the endpoint cannot be reached"), APIConnectionError),
        (ChatModelError("the API key was rejected"), APIError),
    ],
)
async def test_model_failures_become_livekit_errors_that_are_not_retried(
    error: Exception, expected: type[APIError]
) -> None:
    bridge = ChatModelLLM(Failing(error))
    with pytest.raises(expected) as raised:
        await bridge.chat(chat_ctx=context(("user", "hello"))).collect()
    assert raised.value.retryable is False
    assert raised.value.__cause__ is error  # the companion's error travels with it
    assert str(error) in raised.value.message


def test_it_names_the_model_it_bridges() -> None:
    assert ChatModelLLM(OfflineChatModel()).model == "offline"
