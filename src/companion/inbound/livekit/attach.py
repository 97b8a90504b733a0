"""attach_memory: the companion's memory for a LiveKit agent you already have.

::

    companion = Companion.open()
    memory = await attach_memory(session, agent, companion, user=participant)
    await session.start(agent, room=ctx.room)

The agent keeps its own instructions, LLM, nodes and tools. Its LLM calls go through the
same :class:`MemoryHooks` as the companion's own agent: a turn is journalled from the
user's final words only (a discarded preemptive generation leaves nothing), the memories
relevant to it reach the LLM as a delimited block of data in the instructions (never as
instructions), the memory work goes to the background (the reply never waits for the
LLM's extraction), and the session is summarised when it closes. Every memory read or
written is the session user's: the tools, when added, refuse any other user.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from contextlib import aclosing
from typing import Any
from uuid import UUID

import structlog
from livekit import rtc
from livekit.agents import Agent, AgentSession, ModelSettings, llm
from livekit.agents.llm import find_function_tools

from companion.core.chat_service import ChatService
from companion.domain.errors import CompanionError
from companion.domain.models import ConversationSummary
from companion.domain.session import Session
from companion.inbound.library.companion import Companion, user_id
from companion.inbound.livekit.memory_hooks import Chunk, MemoryHooks
from companion.inbound.livekit.prompt import DATA_RULE
from companion.inbound.livekit.tools import CompanionTools
from companion.inbound.livekit.worker import user_from_participant

log = structlog.get_logger(__name__)

# The tools an attached agent may be given: the user's own memories and profile (the
# companion's monitoring tools stay with its own agent).
MEMORY_TOOLS = (
    "save_memory",
    "search_memories",
    "forget_memory",
    "get_profile",
    "update_profile",
)


class _SessionTools(CompanionTools):
    """The companion's tools, bound to one session's user (its write guard)."""

    def __init__(self, companion: Companion, chat: ChatService, conversation: Session) -> None:
        services = companion.container.services
        self._scope = conversation.scope
        self._conversation = conversation
        self._turns = chat.turns
        self._memories = services.memories()
        self._profiles = services.profiles()
        self._stats = services.stats()


class AttachedMemory:
    """The companion's memory attached to one agent's session, for one user."""

    def __init__(self, chat: ChatService, conversation: Session) -> None:
        self._chat = chat
        self._conversation = conversation
        self._ending: asyncio.Task[ConversationSummary | None] | None = None

    @property
    def user_id(self) -> UUID:
        """The user whose memory this is."""
        return self._conversation.user_id

    @property
    def greeting(self) -> str:
        """The greeting composed for this session (no model call): say it on entering
        with ``greet=True``, or use it in your own ``on_enter``."""
        return self._conversation.greeting.text

    def end(self) -> asyncio.Task[ConversationSummary | None]:
        """End the session's memory (once): its work finished (bounded), its summary and
        the next greeting written, in the background. The AgentSession's close calls it."""
        if self._ending is None:
            self._ending = asyncio.get_running_loop().create_task(
                self._chat.end(self._conversation)
            )
        return self._ending

    async def aclose(self) -> None:
        """End the session's memory and wait for it (a cancelled caller does not stop it)."""
        await asyncio.shield(self.end())


def _user(user: str | UUID | rtc.Participant) -> UUID:
    if isinstance(user, rtc.Participant):
        return user_from_participant(user.identity, user.metadata)
    return user_id(user)


async def attach_memory(
    session: AgentSession[Any],
    agent: Agent,
    companion: Companion,
    *,
    user: str | UUID | rtc.Participant,
    greet: bool = False,
    tools: bool = False,
) -> AttachedMemory:
    """Give ``agent`` (about to run in ``session``) the companion's memory of ``user``.

    ``user`` is a name, a UUID, or the room's participant (``user_id`` in their metadata,
    else their identity, which must then be a UUID: as the companion's own worker binds
    a room). ``greet`` says the precomputed greeting when the agent enters, before its
    own ``on_enter``; ``tools`` adds the companion's memory and profile tools, for this
    user only. Call it before ``session.start(agent, ...)``; the memory ends when the
    session closes (or with :meth:`AttachedMemory.aclose`).
    """
    uid = _user(user)
    chat: ChatService = companion.container.services.chat()
    await companion.warm_up()
    conversation = await chat.start(uid)
    try:
        hooks = MemoryHooks(chat.turns, conversation, rule=DATA_RULE)
        _wrap_turns(agent, hooks)
        if greet:
            _wrap_enter(agent, conversation.greeting.text)
        if tools:
            bound = [
                tool
                for tool in find_function_tools(_SessionTools(companion, chat, conversation))
                if tool.info.name in MEMORY_TOOLS
            ]
            await agent.update_tools([*agent.tools, *bound])
    except BaseException:
        await asyncio.shield(chat.end(conversation))
        raise
    memory = AttachedMemory(chat, conversation)
    session.on("close", lambda _event: memory.end())
    companion.on_close(memory.aclose)  # summarised before the companion closes
    log.info("memory_attached", greet=greet, tools=tools)
    return memory


def _wrap_turns(agent: Agent, hooks: MemoryHooks) -> None:
    """The agent's own turn hook and LLM node, with the memory's turn around them."""
    own_turn = agent.on_user_turn_completed
    own_node = agent.llm_node

    async def on_user_turn_completed(
        turn_ctx: llm.ChatContext, new_message: llm.ChatMessage
    ) -> None:
        try:
            await hooks.user_turn_completed(new_message)
        except CompanionError as exc:  # the reply goes on without memories
            log.warning("memory_turn_failed", error=type(exc).__name__)
        await own_turn(turn_ctx, new_message)

    async def llm_node(
        chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: ModelSettings
    ) -> AsyncIterable[Chunk]:
        turn = hooks.llm_node(agent, chat_ctx, tools, model_settings, own_node, structured=False)
        async with aclosing(turn) as chunks:
            async for chunk in chunks:
                yield chunk

    # LiveKit calls these on the instance, so the instance's own attributes win.
    agent.on_user_turn_completed = on_user_turn_completed  # type: ignore[method-assign]
    agent.llm_node = llm_node  # type: ignore[method-assign]


def _wrap_enter(agent: Agent, greeting: str) -> None:
    own_enter = agent.on_enter

    async def on_enter() -> None:
        agent.session.say(greeting)
        await own_enter()

    agent.on_enter = on_enter  # type: ignore[method-assign]
