"""The voice agent with an OpenAI-compatible endpoint: tools called over the wire, and the
offline model taking over when the endpoint fails."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.servers.openai_peer import OpenAIPeer, PeerReply

from companion.inbound.livekit.models import voice_llm, voice_stt
from companion.inbound.livekit.session import VoiceSession
from companion.inbound.livekit.worker import voice_services
from companion.main.container import Container, aclose_clients, build_container
from companion.main.settings import load_settings

ADA = uuid.UUID("00000000-0000-4000-8000-00000000ada1")
KEY = "sk-voice-wire-0123456789abcdef"


@pytest.fixture
async def container(tmp_path: Path, openai_peer: OpenAIPeer) -> AsyncIterator[Container]:
    settings = load_settings(
        companion={"store": "memory", "embedder": "hashing", "data_dir": tmp_path},
        openai={"base_url": openai_peer.base_url, "api_key": KEY, "model": "voice-model"},
    )
    built = build_container(settings)
    yield built
    await built.services.memory_worker().close(within=5)
    await aclose_clients(built)
    built.shutdown_resources()


async def open_voice(container: Container) -> VoiceSession:
    voice = await VoiceSession.open(voice_services(container), ADA, llm=voice_llm(container))
    await voice.start_text()
    return voice


async def test_the_model_calls_a_tool_and_answers_with_its_output(
    container: Container, openai_peer: OpenAIPeer
) -> None:
    await container.services.memories().save(ADA, text="Has a dog called Biscuit")
    agent_script = [
        PeerReply(tool_calls=[("search_memories", json.dumps({"query": "dog", "limit": 3}))]),
        PeerReply(pieces=["Your dog is ", "called Biscuit."]),
    ]
    # The agent's calls offer tools; the memory worker's extraction (which runs when the
    # first reply is out) does not, and finds nothing new here.
    openai_peer.responder = lambda body: (
        agent_script.pop(0)
        if "tools" in body
        else PeerReply(body=OpenAIPeer.completion('{"memories": []}'))
    )
    voice = await open_voice(container)
    try:
        replies = await voice.send("What is my dog called?")
    finally:
        await voice.aclose()

    assert "".join(replies) == "Your dog is called Biscuit."
    # The agent's two calls (then the memory worker's extraction, not scripted here).
    first, second = (r.body for r in openai_peer.requests if "tools" in (r.body or {}))
    assert first["model"] == "voice-model" and first["stream"] is True
    offered = {t["function"]["name"] for t in first["tools"]}
    assert {"save_memory", "search_memories", "forget_memory", "get_profile"} <= offered
    system = first["messages"][0]["content"]
    assert "<memories>" in system and "Has a dog called Biscuit" in system
    (tool_message,) = [m for m in second["messages"] if m["role"] == "tool"]
    assert "Has a dog called Biscuit" in tool_message["content"]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in openai_peer.requests)


async def test_when_the_endpoint_fails_the_offline_model_answers(
    container: Container, openai_peer: OpenAIPeer
) -> None:
    openai_peer.responder = lambda body: PeerReply(503, {"error": {"message": "down"}})
    voice = await open_voice(container)
    try:
        await voice.send("I have a dog called Biscuit.")
        replies = await voice.send("What is my dog called?")
    finally:
        await voice.aclose()
    # The offline model answered from the memory, which the pattern extractor stored.
    assert "".join(replies) == "Your dog is called Biscuit."
    assert any("tools" in (r.body or {}) for r in openai_peer.requests)


def test_speech_recognition_is_openai_s_with_an_endpoint(container: Container) -> None:
    recognizer = voice_stt(container)
    assert recognizer is not None and recognizer.model == "gpt-4o-mini-transcribe"
