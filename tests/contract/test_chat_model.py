"""The ChatModel contract, run against every adapter."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.openai import OpenAIChatModel
from companion.domain.models import (
    ChatMessage,
    ChatRequest,
    Memory,
    MemoryCategory,
    Role,
    UserProfile,
)
from companion.ports.chat_model import ChatModel


def _scripted_llm(peer: Any, body: Any) -> Any:
    """A stand-in LLM behind the local peer: enough sense to meet the contract."""
    said = body["messages"][-1]["content"]
    fmt = body.get("response_format") or {}
    if fmt.get("json_schema", {}).get("name") == "profile":
        likes = re.findall(r"\] Likes (\w+)", said)
        return peer.answer(
            json.dumps(
                {
                    "name": None,
                    "language": None,
                    "interests": likes,
                    "goals": [],
                    "preferences": [],
                    "notes": None,
                }
            )
        )
    if "response_format" in body:
        items = []
        for key, pattern in (("name", r"name is (\w+)"), ("home.city", r"live in (\w+)")):
            found = re.search(pattern, said)
            if found:
                items.append(
                    {
                        "category": "personal",
                        "text": found.group(0),
                        "importance": 8,
                        "key": key,
                        "value": found.group(1),
                        "forget": False,
                    }
                )
        return peer.answer(json.dumps({"memories": items}))
    if said.endswith("?"):
        reply = "I don't know that yet. Tell me and I'll remember."
    else:
        reply = "Nice to meet you. I'll remember that."
    if body.get("stream"):
        return peer.answer_stream(re.findall(r"\S+\s*", reply))
    return peer.answer(reply)


@pytest.fixture(params=["offline", "openai"])
async def chat_model(request: pytest.FixtureRequest) -> AsyncIterator[ChatModel]:
    if request.param == "offline":
        yield OfflineChatModel()
        return
    peer = request.getfixturevalue("openai_peer")
    peer.responder = lambda body: _scripted_llm(peer, body)
    model = OpenAIChatModel(model="test-model", api_key="sk-contract", base_url=peer.base_url)
    yield model
    await model.aclose()


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


async def test_a_profile_draft_holds_what_the_memories_say(chat_model: ChatModel) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    user = uuid.UUID(int=77)
    profile = UserProfile(user_id=user, created_at=now, updated_at=now, name="Ada")
    chai = Memory(
        id=uuid.uuid4(),
        user_id=user,
        category=MemoryCategory.PREFERENCE,
        text="Likes chai",
        importance=5,
        created_at=now,
        updated_at=now,
        key="likes.chai",
        value="chai",
    )
    draft = await chat_model.build_profile(profile, [chai])
    assert [i.casefold() for i in draft.interests] == ["chai"]
