"""FallbackChatModel: offline answers during an outage, the primary again after it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from structlog.testing import capture_logs

from companion.adapters.local.offline_chat_model import OfflineChatModel
from companion.adapters.resilience.fallback_chat_model import FallbackChatModel
from companion.domain.errors import ChatModelError, ChatModelUnavailable
from companion.domain.models import (
    ChatMessage,
    ChatRequest,
    Memory,
    MemoryCandidate,
    MemoryCategory,
    Role,
)


class ScriptedModel:
    """A primary that fails with ``error`` while set, and answers "remote" otherwise."""

    def __init__(self) -> None:
        self.error: ChatModelError | None = None
        self.calls = 0
        self.closed = False
        self.known: list[Memory] = []

    @property
    def name(self) -> str:
        return "remote"

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error

    async def reply(self, request: ChatRequest) -> str:
        self._maybe_fail()
        return "remote reply"

    async def stream_reply(self, request: ChatRequest) -> AsyncIterator[str]:
        self._maybe_fail()
        yield "remote "
        yield "reply"

    async def extract_memories(
        self, text: str, known: Sequence[Memory] = ()
    ) -> list[MemoryCandidate]:
        self._maybe_fail()
        self.known = list(known)
        return [MemoryCandidate(MemoryCategory.FACT, "remote fact")]

    async def aclose(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(text: str) -> ChatRequest:
    return ChatRequest(messages=(ChatMessage(Role.USER, text),))


@pytest.fixture
def parts() -> tuple[ScriptedModel, Clock, FallbackChatModel]:
    primary, clock = ScriptedModel(), Clock()
    model = FallbackChatModel(primary, OfflineChatModel(), cooldown_seconds=30, monotonic=clock)
    return primary, clock, model


async def test_an_outage_gets_offline_answers_and_is_logged_once(
    parts: tuple[ScriptedModel, Clock, FallbackChatModel],
) -> None:
    primary, _clock, model = parts
    offline = OfflineChatModel()
    primary.error = ChatModelUnavailable("the chat model cannot be reached")
    with capture_logs() as logs:
        assert await model.reply(ask("Hello!")) == await offline.reply(ask("Hello!"))
        pieces = [p async for p in model.stream_reply(ask("My name is Ada."))]
        assert "".join(pieces) == await offline.reply(ask("My name is Ada."))
        found = await model.extract_memories("My name is Ada and I live in Lahore.")
        assert {"Ada", "Lahore"} <= {c.value for c in found}
    assert [e["event"] for e in logs].count("chat_model_fallback") == 1
    assert primary.calls == 1  # within the cooldown the primary is not tried again
    assert model.in_outage and model.name == "offline"


async def test_the_primary_is_tried_again_after_the_cooldown(
    parts: tuple[ScriptedModel, Clock, FallbackChatModel],
) -> None:
    primary, clock, model = parts
    primary.error = ChatModelUnavailable("down")
    await model.reply(ask("hi"))
    clock.now += 29
    await model.reply(ask("hi"))
    assert primary.calls == 1
    clock.now += 2
    await model.reply(ask("hi"))  # still down: tried, falls back, cooldown restarts
    assert primary.calls == 2
    primary.error = None
    clock.now += 31
    with capture_logs() as logs:
        assert await model.reply(ask("hi")) == "remote reply"
    assert [e["event"] for e in logs] == ["chat_model_recovered"]
    assert not model.in_outage and model.name == "remote"
    assert [p async for p in model.stream_reply(ask("hi"))] == ["remote ", "reply"]


async def test_an_auth_error_is_raised_not_hidden(
    parts: tuple[ScriptedModel, Clock, FallbackChatModel],
) -> None:
    primary, _clock, model = parts
    primary.error = ChatModelError("chat model authentication failed")
    with pytest.raises(ChatModelError, match="authentication failed"):
        await model.reply(ask("hi"))
    with pytest.raises(ChatModelError, match="authentication failed"):
        [p async for p in model.stream_reply(ask("hi"))]
    assert not model.in_outage
    # What the user said is still remembered: extraction falls back to the patterns.
    found = await model.extract_memories("I live in Lahore")
    assert [(c.key, c.value) for c in found] == [("location.home", "Lahore")]


async def test_unusable_extraction_output_falls_back_to_the_patterns(
    parts: tuple[ScriptedModel, Clock, FallbackChatModel],
) -> None:
    primary, _clock, model = parts
    primary.error = ChatModelError("the chat model's extraction was not valid JSON")
    found = await model.extract_memories("My favourite colour is green.")
    assert [(c.key, c.value) for c in found] == [("favourite.colour", "green")]
    assert not model.in_outage  # one bad answer is not an outage: the next call tries again
    primary.error = None
    assert [c.text for c in await model.extract_memories("anything")] == ["remote fact"]


async def test_aclose_closes_the_primary(
    parts: tuple[ScriptedModel, Clock, FallbackChatModel],
) -> None:
    primary, _clock, model = parts
    await model.aclose()
    assert primary.closed


async def test_a_stream_that_breaks_after_its_first_piece_is_raised_not_spliced(
    parts: tuple[ScriptedModel, Clock, FallbackChatModel],
) -> None:
    primary, _clock, model = parts

    async def breaks(request: ChatRequest) -> AsyncIterator[str]:
        yield "Half a "
        raise ChatModelUnavailable("connection lost")

    primary.stream_reply = breaks  # type: ignore[method-assign]
    got: list[str] = []

    async def consume() -> None:
        async for piece in model.stream_reply(ask("hi")):
            got.append(piece)

    with pytest.raises(ChatModelUnavailable):
        await consume()
    assert got == ["Half a "]
    assert model.in_outage  # the next turn goes to the offline model
    assert await model.reply(ask("Hello!")) == await OfflineChatModel().reply(ask("Hello!"))
