"""Fixtures: the companion's services on in-memory adapters, and a voice session factory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from livekit.agents import llm
from tests.unit.inbound.livekit.world import ADA, World

from companion.inbound.livekit.session import VoiceSession
from companion.main.container import aclose_clients

OpenSession = Callable[..., Awaitable[tuple[VoiceSession, list[str]]]]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    built = World(tmp_path)
    yield built
    await built.worker.close(within=5)
    await aclose_clients(built.container)
    built.container.shutdown_resources()


@pytest.fixture
async def open_session(world: World) -> AsyncIterator[OpenSession]:
    """``voice, greeting = await open_session(llm, user=ADA)``: started, closed afterwards."""
    opened: list[VoiceSession] = []

    async def _open(model: llm.LLM, user: uuid.UUID = ADA) -> tuple[VoiceSession, list[str]]:
        voice = await VoiceSession.open(world.services, user, llm=model)
        opened.append(voice)
        return voice, await voice.start_text()

    yield _open
    for voice in opened:
        await voice.aclose()
