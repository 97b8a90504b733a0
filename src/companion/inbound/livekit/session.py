"""VoiceSession: one user's conversation with the agent, from greeting to a safe end.

The same object serves a LiveKit room, the console and ``companion-agent chat`` (text
mode): it opens a chat-service session for the user, builds the :class:`CompanionAgent`
and an ``AgentSession`` around it, and ends it exactly once. Ending waits for the
session's memory work (bounded), then writes the summary and the next greeting;
:meth:`VoiceSession.aclose` is shielded so a shutdown in progress cannot cut it short.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from livekit.agents import AgentSession, APIError, llm, stt, tts
from livekit.agents.voice.run_result import ChatMessageEvent, RunResult

from companion.core.chat_service import ChatService
from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.stats_service import StatsService
from companion.core.turn_service import TurnService
from companion.domain.errors import AccessDenied, ChatModelError, CompanionError
from companion.domain.models import ConversationSummary
from companion.domain.session import Session
from companion.inbound.livekit.agent import CompanionAgent

log = structlog.get_logger(__name__)

# A model that keeps calling tools is stopped after this many steps in one turn.
MAX_TOOL_STEPS = 3


@dataclass(frozen=True, slots=True)
class VoiceServices:
    """The services an agent works through (one set per process)."""

    chat: ChatService
    turns: TurnService  # the chat service's own (see ChatService.turns)
    memories: MemoryService
    profiles: ProfileService
    stats: StatsService


def agent_session(
    conversation: Session,
    *,
    llm: llm.LLM[Any],
    tts: tts.TTS[Any] | None = None,
    stt: stt.STT[Any] | None = None,
) -> AgentSession[Session]:
    """An AgentSession for the agent, carrying the conversation as its userdata (LiveKit's
    place for per-session state); text only unless speech models are given.

    Without speech-to-text there is no voice activity detection to load and no turn
    detection: a turn is a text message.
    """
    options: dict[str, Any] = {
        "llm": llm,
        "max_tool_steps": MAX_TOOL_STEPS,
        "userdata": conversation,
    }
    if tts is not None:
        options["tts"] = tts
    if stt is None:
        options.update(vad=None, turn_handling={"turn_detection": None})
    else:
        options["stt"] = stt
    return AgentSession(**options)


def freeze_startup_heap() -> None:
    """Keep what the process has built so far (modules, the embedding model, the session)
    out of the garbage collector's full passes.

    A full (generation 2) collection walks every tracked object: with LiveKit, the SDKs
    and the model loaded that is ~180,000 objects and took 116 ms on the event loop in
    the middle of a turn (``scripts/bench_critical_path.py``, seen at turn ~104 of 200
    in every run). Frozen objects are not walked; what they hold is never garbage in a
    process that serves one conversation. Called once, by the entry points, when the
    session is ready.
    """
    gc.freeze()


def replies(result: RunResult[Any]) -> list[str]:
    """What the companion said in one run, message by message."""
    said: list[str] = []
    for event in result.events:
        if isinstance(event, ChatMessageEvent) and event.item.role == "assistant":
            text = (event.item.text_content or "").strip()
            if text:
                said.append(text)
    return said


class VoiceSession:
    """One user's conversation through the agent; ended once, safely, however it stops."""

    def __init__(
        self, services: VoiceServices, agent: CompanionAgent, session: AgentSession[Session]
    ):
        self.agent = agent
        self.session = session
        self._services = services
        self._ending: asyncio.Task[ConversationSummary | None] | None = None

    @classmethod
    async def open(
        cls,
        services: VoiceServices,
        user_id: UUID,
        *,
        llm: llm.LLM[Any],
        tts: tts.TTS[Any] | None = None,
        stt: stt.STT[Any] | None = None,
        conversation: Session | None = None,
    ) -> VoiceSession:
        """Start the user's session: greeting composed, agent built (not yet started).

        ``conversation`` is a chat-service session already started for this user (the
        chat command starts it, and shows its greeting, while LiveKit is still loading).
        """
        if conversation is None:
            conversation = await services.chat.start(user_id)
        elif conversation.user_id != user_id:
            raise AccessDenied("the conversation belongs to another user")
        agent = CompanionAgent(
            turns=services.turns,
            session=conversation,
            memories=services.memories,
            profiles=services.profiles,
            stats=services.stats,
        )
        voice = cls(services, agent, agent_session(conversation, llm=llm, tts=tts, stt=stt))
        # However the AgentSession closes (the user left, an error), the end starts now,
        # in the background; aclose() awaits the same task.
        voice.session.on("close", lambda _event: voice.end())
        return voice

    @property
    def user_id(self) -> UUID:
        return self.agent.user_id

    async def start_text(self) -> list[str]:
        """Start without a room (text mode); returns the greeting as said."""
        result = await self.session.start(self.agent, capture_run=True, record=False)
        return [] if result is None else replies(result)

    async def send(self, text: str) -> list[str]:
        """One text turn; returns what the companion said.

        A turn that fails raises the companion's own error (a bad key, a store outage,
        an oversize message), not LiveKit's wrapper around it.
        """
        try:
            result: RunResult[Any] = await self.session.run(user_input=text)
        except APIError as exc:
            if isinstance(exc.__cause__, CompanionError):
                raise exc.__cause__ from None
            raise ChatModelError(f"the language model failed: {exc.message}") from None
        return replies(result)

    def end(self) -> asyncio.Task[ConversationSummary | None]:
        """End the session (once): the summary and the next greeting, in the background."""
        if self._ending is None:
            self._ending = asyncio.get_running_loop().create_task(self._end())
        return self._ending

    async def _end(self) -> ConversationSummary | None:
        await self.session.aclose()
        summary = await self._services.chat.end(self.agent.conversation)
        log.info("voice_session_ended", summarized=summary is not None)
        return summary

    async def aclose(self) -> ConversationSummary | None:
        """End the session and wait for it; a cancellation of the caller does not stop it."""
        return await asyncio.shield(self.end())
