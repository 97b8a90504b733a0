"""CompanionAgent: the LiveKit agent that greets, remembers, and answers with memories.

One conversation loop for every way in (a LiveKit room, the console, ``companion-agent
chat``), built on the turn use case (:class:`TurnService`), which the library and the
benchmarks run too, through :class:`MemoryHooks` (``memory_hooks.py`` says when a turn
begins and how memories reach the LLM), which also give any other LiveKit agent the
companion's memory (``companion.livekit``):

- the greeting was composed when the last session ended (or is the new-user welcome) and
  is said on entering, with no LLM call;
- a turn begins with the user's final words, its memories reach the LLM as data, and once
  the reply is written its memory work goes to the background.

The session's state is the :class:`Session` the ``AgentSession`` carries as userdata;
the agent and its tools hold the same object.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from contextlib import aclosing
from functools import partial
from uuid import UUID

from livekit.agents import Agent, ModelSettings, llm

from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.stats_service import StatsService
from companion.core.turn_service import TurnService
from companion.domain.session import Session
from companion.inbound.livekit.memory_hooks import Chunk, MemoryHooks
from companion.inbound.livekit.prompt import instructions
from companion.inbound.livekit.tools import CompanionTools


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
        self._hooks = MemoryHooks(turns, session)

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
        """An audio turn's final words: the turn begins (journal, retrieve) before any reply."""
        await self._hooks.user_turn_completed(new_message)

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
        node = partial(Agent.default.llm_node, self)
        turn = self._hooks.llm_node(self, chat_ctx, tools, model_settings, node)
        async with aclosing(turn) as chunks:
            async for chunk in chunks:
                yield chunk
