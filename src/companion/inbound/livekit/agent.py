"""CompanionAgent: the LiveKit agent that greets, remembers, and answers with memories.

One conversation loop for every way in (a LiveKit room, the console, ``companion-agent
chat``), built on the turn use case (:class:`TurnService`), which the library and the
benchmarks run too, so the guarantees are the same everywhere:

- the greeting was composed when the last session ended (or is the new-user welcome) and
  is said on entering, with no LLM call;
- a turn begins (``TurnService.begin``: it waits for the previous turn's memory work,
  journals the words and retrieves their memories) only with the user's final words: an
  audio turn in :meth:`on_user_turn_completed`, which LiveKit calls with the final
  transcript and awaits before any reply is scheduled; a typed turn in :meth:`llm_node`,
  since typed words are final as they arrive. LiveKit's preemptive generation runs
  :meth:`llm_node` on a transcript that is not final yet: that call only recalls
  memories (nothing journalled, no memory work), so a generation LiveKit discards leaves
  nothing behind, and one it adopts is journalled once the final words have begun;
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
from companion.domain.text import same_words
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
        # A preemptive generation's reply that ended before the final transcript came:
        # (what it answered, what it said), journalled if LiveKit adopts it.
        self._early_reply: tuple[str, str] | None = None

    @property
    def user_id(self) -> UUID:
        """The one user this agent serves."""
        return self._scope.user_id

    @property
    def conversation(self) -> Session:
        """The session this agent serves (its turn state, greeting and profile)."""
        return self._conversation

    async def on_user_turn_completed(
        self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage
    ) -> None:
        """An audio turn's final words: the turn begins (journal, retrieve) before any reply.

        ``turn_ctx`` is left as it is, so a preemptive generation on the same words can be
        adopted; the memories reach the LLM in :meth:`llm_node`.
        """
        text = (new_message.text_content or "").strip()
        if not text:
            return
        await self._turns.begin(self._conversation, text, message_id=new_message.id)
        early, self._early_reply = self._early_reply, None
        if early is not None and same_words(early[0], text):
            # A preemptive reply that finished before the final words: LiveKit adopts it.
            await self._turns.finish(self._conversation, early[1])

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
        message = _latest_user_message(chat_ctx)
        heard = (message.text_content or "").strip() if message is not None else ""
        prepared = await self._prepared_for(message, heard)
        if prepared is not None:
            memories, profile = prepared.memories, prepared.profile
        elif heard:  # words not final yet: recall, write nothing
            memories, profile = await self._turns.recall(self._conversation, heard), None
        else:
            memories, profile = (), None
        if profile is None:
            profile = self._conversation.profile
        model = self.llm if is_given(self.llm) else self.session.llm
        source: AsyncIterable[Chunk] | llm.LLMStream
        if isinstance(model, MemoryAwareLLM):
            source = model.chat_with_memories(
                chat_ctx=chat_ctx,
                memories=memories,
                profile=profile,
                tools=tools,
                conn_options=self.session.conn_options.llm_conn_options,
            )
        else:
            if heard:
                chat_ctx = with_memory_block(chat_ctx, memory_block(memories), memories, profile)
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
            # the turn's memory work is handed on either way, if the turn is final.
            if prepared is not None:
                self._turns.hand_on(self._conversation)
        reply = "".join(said)
        if prepared is None and message is not None and heard:
            # A preemptive generation: journalled only as the reply to final words.
            prepared = self._turns.begun(self._conversation, message_id=message.id, text=heard)
            if prepared is None:
                self._early_reply = (heard, reply)
                return
        await self._turns.finish(self._conversation, reply)

    async def _prepared_for(
        self, message: llm.ChatMessage | None, heard: str
    ) -> PreparedTurn | None:
        """The turn for the latest user message: begun already (for this message, or for
        the same final words), begun now if the words are typed, or None while a
        transcript is not final (a preemptive generation)."""
        if message is None or not heard:
            return None
        begun = self._turns.begun(self._conversation, message_id=message.id, text=heard)
        if begun is not None:
            return begun
        if message.transcript_confidence is not None:
            return None  # heard by speech recognition: final only in on_user_turn_completed
        return await self._turns.begin(self._conversation, heard, message_id=message.id)


async def _closing(source: AsyncIterable[Chunk] | llm.LLMStream) -> AsyncIterable[Chunk]:
    """Iterate a stream and close it however iteration ends (LLM streams own a task)."""
    if isinstance(source, llm.LLMStream):
        async with source:
            async for chunk in source:
                yield chunk
    else:
        async for item in source:
            yield item
