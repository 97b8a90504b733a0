"""CompanionAgent: the LiveKit agent that greets, remembers, and answers with memories.

One conversation loop for every way in (a LiveKit room, the console, ``companion-agent
chat``), built on :class:`ChatService`'s steps so the guarantees are the same everywhere:

- the greeting was composed when the last session ended (or is the new-user welcome) and
  is said on entering, with no LLM call;
- before every LLM call (:meth:`llm_node` runs for text and audio turns alike, and again
  after each tool step) the latest user message is journalled once and the memories
  relevant to it are retrieved once (:meth:`ChatService.prepare`, which first waits for
  the previous turn's memory work: read your own writes);
- the memories reach the LLM as data: an LLM that takes them structurally
  (:class:`MemoryAwareLLM`, i.e. the ChatModel bridge) gets them as ``ChatRequest.memories``;
  any other LLM gets a delimited block folded into the instructions;
- once the first reply to a turn is written, its memory work goes to the background
  worker (one model call), and what the companion said is journalled.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from typing import Protocol, runtime_checkable
from uuid import UUID

import structlog
from livekit.agents import Agent, FlushSentinel, ModelSettings, llm
from livekit.agents.types import APIConnectOptions
from livekit.agents.utils import is_given

from companion.core.chat_service import ChatService, PreparedTurn
from companion.core.conversation_service import Session
from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.stats_service import StatsService
from companion.domain.models import Memory, UserProfile
from companion.inbound.livekit.prompt import instructions, memory_block, with_memory_block
from companion.inbound.livekit.tools import CompanionTools

log = structlog.get_logger(__name__)

Chunk = llm.ChatChunk | str | FlushSentinel


@runtime_checkable
class MemoryAwareLLM(Protocol):
    """An LLM that takes the turn's memories as data rather than as prompt text."""

    def chat_with_memories(
        self,
        *,
        chat_ctx: llm.ChatContext,
        memories: Sequence[Memory] = (),
        profile: UserProfile | None = None,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = ...,
    ) -> llm.LLMStream:
        """A reply to ``chat_ctx`` given these memories and this profile."""
        ...


def _latest_user_message(chat_ctx: llm.ChatContext) -> llm.ChatMessage | None:
    for item in reversed(chat_ctx.items):
        if isinstance(item, llm.ChatMessage) and item.role == "user":
            return item
    return None


class CompanionAgent(CompanionTools, Agent):
    """The companion as a LiveKit agent, bound to one user for its whole life."""

    def __init__(
        self,
        *,
        chat: ChatService,
        session: Session,
        profile: UserProfile,
        memories: MemoryService,
        profiles: ProfileService,
        stats: StatsService,
    ) -> None:
        super().__init__(instructions=instructions(profile))
        self._chat = chat
        self._conversation = session
        self._scope = session.scope  # the write guard every tool goes through
        self._memories = memories
        self._profiles = profiles
        self._stats = stats
        self._prepared: PreparedTurn | None = None
        self._prepared_for: str | None = None  # the id of the user message it answers
        self._remembered = True

    @property
    def user_id(self) -> UUID:
        """The one user this agent serves."""
        return self._scope.user_id

    @property
    def conversation(self) -> Session:
        """The chat service's session behind this agent."""
        return self._conversation

    async def on_enter(self) -> None:
        """Say the greeting prepared when the last session ended: no LLM wait."""
        self.session.say(self._conversation.greeting.text)

    async def llm_node(
        self,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
    ) -> AsyncIterable[Chunk]:
        """Every LLM call: the latest user turn's memories in, the reply's text journalled."""
        prepared = await self._prepare(chat_ctx)
        model = self.llm if is_given(self.llm) else self.session.llm
        source: AsyncIterable[Chunk] | llm.LLMStream
        if isinstance(model, MemoryAwareLLM):
            source = model.chat_with_memories(
                chat_ctx=chat_ctx,
                memories=prepared.memories if prepared else (),
                profile=prepared.profile if prepared else None,
                tools=tools,
                conn_options=self.session.conn_options.llm_conn_options,
            )
        else:
            if prepared is not None:
                chat_ctx = with_memory_block(
                    chat_ctx,
                    memory_block(prepared.memories),
                    prepared.memories,
                    prepared.profile,
                )
            source = Agent.default.llm_node(self, chat_ctx, tools, model_settings)
        said: list[str] = []
        try:
            async for chunk in _closing(source):
                if isinstance(chunk, str):
                    text: str | None = chunk
                elif isinstance(chunk, llm.ChatChunk) and chunk.delta is not None:
                    text = chunk.delta.content
                else:
                    text = None
                if text:
                    said.append(text)
                yield chunk
        finally:
            # After the reply (or its failure): memory work never delays what is said.
            self.settle()
        await self._chat.record_reply(self._conversation, "".join(said))

    async def _prepare(self, chat_ctx: llm.ChatContext) -> PreparedTurn | None:
        """The latest user message journalled and its memories retrieved, once per message."""
        message = _latest_user_message(chat_ctx)
        if message is None or not (message.text_content or "").strip():
            return None
        if message.id != self._prepared_for:
            self.settle()  # a turn whose reply never came still gets its memory work
            self._prepared = await self._chat.prepare(
                self._conversation, message.text_content or ""
            )
            self._prepared_for = message.id
            self._remembered = False
        return self._prepared

    def settle(self) -> None:
        """Hand the current turn to the memory worker if it has not been yet (idempotent)."""
        if self._prepared is not None and not self._remembered:
            self._remembered = True
            self._chat.remember(self._prepared)


async def _closing(source: AsyncIterable[Chunk] | llm.LLMStream) -> AsyncIterable[Chunk]:
    """Iterate a stream and close it however iteration ends (LLM streams own a task)."""
    if isinstance(source, llm.LLMStream):
        async with source:
            async for chunk in source:
                yield chunk
    else:
        async for item in source:
            yield item
