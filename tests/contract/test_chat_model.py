"""The ChatModel contract, run against every adapter."""

from __future__ import annotations

import pytest

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.domain.models import ChatMessage, ChatRequest, Role
from companion.ports.chat_model import ChatModel


@pytest.fixture(params=["offline"])
def chat_model(request: pytest.FixtureRequest) -> ChatModel:
    return OfflineChatModel()


def ask(text: str) -> ChatRequest:
    return ChatRequest(messages=(ChatMessage(Role.USER, text),))


async def test_reply_is_non_empty_text(chat_model: ChatModel) -> None:
    reply = await chat_model.reply(ask("Hello!"))
    assert isinstance(reply, str) and reply.strip()


async def test_stream_joins_to_the_reply(chat_model: ChatModel) -> None:
    request = ask("My name is Ada and I love chess.")
    pieces = [p async for p in chat_model.stream_reply(request)]
    assert len(pieces) >= 1
    assert "".join(pieces).strip() == (await chat_model.reply(request)).strip()


async def test_extracts_memories_from_a_statement(chat_model: ChatModel) -> None:
    found = await chat_model.extract_memories("My name is Ada and I live in Lahore.")
    values = {c.value for c in found}
    assert {"Ada", "Lahore"} <= values


async def test_does_not_invent_what_it_was_not_told(chat_model: ChatModel) -> None:
    reply = await chat_model.reply(ask("What's my dog called?"))
    assert "know" in reply.lower()
