"""MemoryHooks: the companion's turn around a LiveKit agent's LLM calls, for any agent.

The companion's own :class:`CompanionAgent` runs on these hooks, and so does any agent
that ``companion.livekit.attach_memory`` gives memory to, so the guarantees are the same:

- a turn begins (``TurnService.begin``: journal the words, retrieve their memories) only
  with the user's final words: an audio turn in ``on_user_turn_completed``, which LiveKit
  calls with the final transcript and awaits before any reply is scheduled; a typed turn
  in ``llm_node``, since typed words are final as they arrive (LiveKit skips
  ``on_user_turn_completed`` for text). LiveKit's preemptive generation runs ``llm_node``
  on a transcript that is not final yet: that call only recalls memories (nothing
  journalled, no memory work), so a generation LiveKit discards leaves nothing behind,
  and one it adopts is journalled once the final words have begun;
- the memories reach the LLM as data: an LLM that takes them structurally
  (:class:`MemoryAwareLLM`, the ChatModel bridge) gets them as ``ChatRequest.memories``;
  any other gets a delimited block folded into the instructions, in ``llm_node``, so the
  context LiveKit compares to adopt a preemptive generation is left as it was;
- once the reply is written the turn finishes (``TurnService.finish``): its memory work
  goes to the background worker, and what the companion said is journalled.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Sequence
from contextlib import aclosing
from typing import Any, Protocol, runtime_checkable

from livekit.agents import Agent, FlushSentinel, ModelSettings, llm
from livekit.agents.types import APIConnectOptions
from livekit.agents.utils import is_given

from companion.core.turn_service import TurnService
from companion.domain.models import Memory, UserProfile
from companion.domain.session import PreparedTurn, Session
from companion.domain.text import same_words
from companion.inbound.livekit.prompt import memory_block, with_memory_block

Chunk = llm.ChatChunk | str | FlushSentinel
# The LLM node the hooks wrap: (chat_ctx, tools, model_settings) -> the reply, as LiveKit
# takes it from ``Agent.llm_node``: chunks (a stream or an async iterable), or an awaitable
# of chunks, a string, a chunk or None.
LLMNode = Callable[[llm.ChatContext, list[llm.Tool], ModelSettings], Any]


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


class MemoryHooks:
    """One session's turns through one agent's LLM calls (see the module docstring)."""

    def __init__(
        self, turns: TurnService, conversation: Session, *, rule: str | None = None
    ) -> None:
        """``rule`` goes before the memories' block (an agent whose own instructions do
        not say that the companion's blocks are data)."""
        self._turns = turns
        self._conversation = conversation
        self._rule = rule
        # A preemptive generation's reply that ended before the final transcript came:
        # (what it answered, what it said), journalled if LiveKit adopts it.
        self._early_reply: tuple[str, str] | None = None

    @property
    def conversation(self) -> Session:
        """The session the hooks serve."""
        return self._conversation

    async def user_turn_completed(self, new_message: llm.ChatMessage) -> None:
        """An audio turn's final words: the turn begins (journal, retrieve) before any
        reply. The turn's context is left as it is, so a preemptive generation on the
        same words can be adopted; the memories reach the LLM in :meth:`llm_node`."""
        text = (new_message.text_content or "").strip()
        if not text:
            return
        await self._turns.begin(self._conversation, text, message_id=new_message.id)
        early, self._early_reply = self._early_reply, None
        if early is not None and same_words(early[0], text):
            # A preemptive reply that finished before the final words: LiveKit adopts it.
            await self._turns.finish(self._conversation, early[1])

    async def llm_node(
        self,
        agent: Agent,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
        node: LLMNode,
        *,
        structured: bool = True,
    ) -> AsyncGenerator[Chunk, None]:
        """One LLM call of ``agent`` through ``node``: the latest user turn's memories in,
        the reply's text journalled. ``structured``: hand the memories to a
        :class:`MemoryAwareLLM` as data rather than as a block in the instructions."""
        message = _latest_user_message(chat_ctx)
        heard = (message.text_content or "").strip() if message is not None else ""
        prepared = await self._prepared_for(message, heard)
        profile: UserProfile | None
        if prepared is not None:
            memories, profile = prepared.memories, prepared.profile
        elif heard:  # words not final yet: recall, write nothing
            memories, profile = await self._turns.recall(self._conversation, heard), None
        else:
            memories, profile = (), None
        if profile is None:
            profile = self._conversation.profile
        model = agent.llm if is_given(agent.llm) else agent.session.llm
        source: AsyncIterable[Chunk] | llm.LLMStream
        if structured and isinstance(model, MemoryAwareLLM):
            source = model.chat_with_memories(
                chat_ctx=chat_ctx,
                memories=memories,
                profile=profile,
                tools=tools,
                conn_options=agent.session.conn_options.llm_conn_options,
            )
        else:
            if heard:
                block = memory_block(memories)
                if self._rule is not None:
                    block = f"{self._rule}\n{block}"
                chat_ctx = with_memory_block(chat_ctx, block, memories, profile)
            source = node(chat_ctx, tools, model_settings)
        said: list[str] = []
        try:
            async with aclosing(_closing(source)) as chunks:
                async for chunk in chunks:
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


async def _closing(source: Any) -> AsyncGenerator[Chunk, None]:
    """The chunks of what an LLM node returned, and the stream closed however iteration
    ends (LLM streams own a task, an agent's own node may be a generator with a
    ``finally``)."""
    if inspect.isawaitable(source):
        source = await source
    if source is None:
        return
    if isinstance(source, str | llm.ChatChunk):
        yield source
        return
    if isinstance(source, llm.LLMStream):
        async with source:
            async for chunk in source:
                yield chunk
        return
    try:
        async for item in source:
            yield item
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()
