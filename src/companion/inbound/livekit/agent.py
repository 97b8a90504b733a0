"""CompanionAgent: the LiveKit agent that greets, remembers, and answers with memories.

One conversation loop for every way in (a LiveKit room, the console, ``companion-agent
chat``), built on the turn use case (:class:`TurnService`), which the library and the
benchmarks run too, so the guarantees are the same everywhere:

- the greeting was composed when the last session ended (or is the new-user welcome) and
  is said on entering, with no LLM call;
- before every LLM call (:meth:`llm_node` runs for text and audio turns alike, and again
  after each tool step) the turn begins for the latest user message, once per message:
  journalled, its memories retrieved (``TurnService.begin``, which first waits for the
  previous turn's memory work: read your own writes);
- the memories reach the LLM as data: an LLM that takes them structurally
  (:class:`MemoryAwareLLM`, i.e. the ChatModel bridge) gets them as ``ChatRequest.memories``;
  any other LLM gets a delimited block folded into the instructions;
- once the reply is written the turn finishes (``TurnService.finish``): its memory work
  goes to the background worker (one model call), and what the companion said is
  journalled.

The session's state is the :class:`Session` the ``AgentSession`` carries as userdata;
the agent and its tools hold the same object.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from typing import Protocol, runtime_checkable
from uuid import UUID

import structlog
from livekit.agents import Agent, FlushSentinel, ModelSettings, llm
from livekit.agents.types import APIConnectOptions
from livekit.agents.utils import is_given

from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.stats_service import StatsService
from companion.core.turn_service import TurnService
from companion.domain.models import Memory, UserProfile
from companion.domain.session import PreparedTurn, Session
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
        turns: TurnService,
        session: Session,
        memories: MemoryService,
        profiles: ProfileService,
        stats: StatsService,
    ) -> None:
        super().__init__(instructions=instructions(session.profile))
        self._turns = turns
        self._conversation = session  # the AgentSession's userdata: the same object
        self._scope = session.scope  # the write guard every tool goes through
        self._memories = memories
        self._profiles = profiles
        self._stats = stats

    @property
    def user_id(self) -> UUID:
        """The one user this agent serves."""
        return self._scope.user_id

    @property
    def conversation(self) -> Session:
        """The session this agent serves (its turn state, greeting and profile)."""
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
        prepared = await self._begin(chat_ctx)
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
            # After the reply, or its failure or interruption (no await in a finally):
            # the turn's memory work is handed on either way.
            self._turns.hand_on(self._conversation)
        await self._turns.finish(self._conversation, "".join(said))

    async def _begin(self, chat_ctx: llm.ChatContext) -> PreparedTurn | None:
        """The turn for the latest user message (begun once per message: a tool step's
        LLM call gets the same turn)."""
        message = _latest_user_message(chat_ctx)
        if message is None or not (message.text_content or "").strip():
            return None
        return await self._turns.begin(
            self._conversation, message.text_content or "", message_id=message.id
        )


async def _closing(source: AsyncIterable[Chunk] | llm.LLMStream) -> AsyncIterable[Chunk]:
    """Iterate a stream and close it however iteration ends (LLM streams own a task)."""
    if isinstance(source, llm.LLMStream):
        async with source:
            async for chunk in source:
                yield chunk
    else:
        async for item in source:
            yield item
