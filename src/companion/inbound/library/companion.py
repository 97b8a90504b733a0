"""Companion: the library's way in, a typed face on the same use cases the agent runs.

``remember`` is a turn the user said (journalled, then its memory work: extraction and
reconciliation at the time it was said), ``recall`` is the retrieval a reply makes,
``conversation`` is a session from greeting to summary, as ``companion-agent chat`` runs
it. Users are names or UUIDs, as on the command line. Errors are the domain's typed
errors (``companion.CompanionError`` and its subclasses).
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from uuid import UUID

from companion.core.chat_service import ChatService
from companion.domain.changes import Change, SaveResult
from companion.domain.errors import Conflict, InvalidInput, InvalidUserId
from companion.domain.models import (
    Memory,
    MemoryCategory,
    ScoredMemory,
    UserErased,
    UserExport,
    UserProfile,
)
from companion.domain.session import Session
from companion.domain.validation import (
    MAX_QUERY,
    MAX_TURN_TEXT,
    parse_category,
    parse_uuid,
    resolve_user_ref,
    validate_text,
)
from companion.main.container import Container, build_container, shut_down
from companion.main.logging import configure_library_logging
from companion.main.operations import load_models
from companion.main.settings import Settings, load_settings

# How long closing may wait for queued memory work; what is not done stays journalled
# and is worked by the next process that opens the store.
CLOSE_DRAIN_SECONDS = 10.0
MAX_RECALL = 100
# How long export and erasure wait for this process's queued memory work of the user.
_ERASE_DRAIN_SECONDS = 30.0


def user_id(user: str | UUID) -> UUID:
    """The user a name or a UUID refers to (a name maps to a stable UUID, the same
    everywhere, as ``--user`` does); InvalidUserId for anything else."""
    if isinstance(user, UUID):
        return user
    if not isinstance(user, str):
        raise InvalidUserId(f"a user is a name or a UUID, not {type(user).__name__}")
    return resolve_user_ref(user)[0]


@dataclass(frozen=True, slots=True)
class Remembered:
    """What telling the companion something changed in its memories.

    ``pending`` is true when the memory work could not be done now (a backend down,
    another process working this user's turns): the words are journalled, nothing is
    lost, and the work is done later; ``changes`` is then empty.
    """

    changes: tuple[SaveResult, ...]
    pending: bool = False

    def _with(self, change: Change) -> tuple[Memory, ...]:
        return tuple(r.memory for r in self.changes if r.change is change)

    @property
    def added(self) -> tuple[Memory, ...]:
        """Memories that are new."""
        return self._with(Change.ADDED)

    @property
    def updated(self) -> tuple[Memory, ...]:
        """Memories whose value changed (the old one is in their history)."""
        return self._with(Change.UPDATED)

    @property
    def unchanged(self) -> tuple[Memory, ...]:
        """Memories that already said this."""
        return self._with(Change.UNCHANGED)

    @property
    def forgotten(self) -> tuple[Memory, ...]:
        """Memories the words asked to forget ("forget that I live in Paris")."""
        return self._with(Change.DELETED)


class Conversation:
    """One session with one user: the greeting, replies, and a summary at the end."""

    def __init__(self, chat: ChatService, session: Session) -> None:
        self._chat = chat
        self._session = session

    @property
    def user_id(self) -> UUID:
        """The user this conversation is with."""
        return self._session.user_id

    @property
    def greeting(self) -> str:
        """What the companion said first (composed without a model call)."""
        return self._session.greeting.text

    async def reply(self, text: str) -> str:
        """The companion's answer to what the user says; what it teaches is remembered
        in the background (the answer never waits for that)."""
        return await self._chat.turn(self._session, text)

    async def end(self) -> None:
        """End the session: its memory work finished (bounded), its summary and the
        next greeting written. Safe to call twice."""
        if not self._session.let_go:
            await self._chat.end(self._session)


class Companion:
    """A companion's memory and conversations, async; use it as an async context manager.

    ::

        async with Companion.open() as companion:
            await companion.remember("ada", "I live in Lahore and I love chai.")
            for hit in await companion.recall("ada", "where do I live?"):
                print(hit.memory.text, hit.score)

    Settings come from the environment (the variables the README lists) unless given.
    Nothing is opened until first use; :meth:`aclose` (or leaving the ``async with``)
    finishes queued memory work and closes every connection.
    """

    def __init__(self, container: Container) -> None:
        """Use :meth:`open`."""
        self._container = container
        self._loaded = False
        self._closed = False
        self._before_close: list[Callable[[], Awaitable[None]]] = []

    @classmethod
    def open(
        cls, settings: Settings | None = None, *, data_dir: str | Path | None = None
    ) -> Companion:
        """A companion on ``settings`` (default: read from the environment now), with its
        embedded store in ``data_dir`` if given. Raises ConfigurationError or pydantic's
        ValidationError for settings that cannot work."""
        if settings is None:
            settings = load_settings()
        if data_dir is not None:
            merged = settings.model_dump()
            merged["companion"]["data_dir"] = Path(data_dir)
            settings = Settings.model_validate(merged)
        configure_library_logging(settings.secret_values())
        return cls(build_container(settings))

    async def __aenter__(self) -> Self:
        await self.warm_up()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def warm_up(self) -> None:
        """Load the embedding model now, in a worker thread (the first call would
        otherwise load it on the event loop). Entering ``async with`` does it."""
        await self._ready()

    async def _ready(self) -> None:
        if self._closed:
            raise RuntimeError("this Companion is closed")
        if not self._loaded:
            await load_models(self._container)  # off the event loop
            self._loaded = True

    @property
    def container(self) -> Container:
        """The composition root (for integrations such as ``companion.livekit``)."""
        return self._container

    def _chat(self) -> ChatService:
        chat: ChatService = self._container.services.chat()
        return chat

    async def remember(self, user: str | UUID, text: str) -> Remembered:
        """Tell the companion something the user said; returns what it changed.

        The words are journalled first (nothing said is lost), then extracted and
        reconciled as of now: an update keeps the old value in the memory's history.
        """
        uid = user_id(user)
        said = validate_text(text, what="text", max_length=MAX_TURN_TEXT)
        await self._ready()
        chat = self._chat()
        session = await chat.start(uid)
        try:
            await chat.turns.begin(session, said)
            changes = await chat.turns.work_now(session)
        finally:
            await chat.end(session)
        if changes is None:
            return Remembered((), pending=True)
        return Remembered(changes)

    async def recall(self, user: str | UUID, query: str, *, limit: int = 5) -> list[ScoredMemory]:
        """The user's memories most relevant to ``query``, best first, each with its score
        in [0, 1] (a memory's dates: ``created_at``, ``updated_at``, ``valid_from``)."""
        uid = user_id(user)
        asked = validate_text(query, what="query", max_length=MAX_QUERY)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RECALL:
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_RECALL}")
        await self._ready()
        found: list[ScoredMemory] = await self._container.services.memories().search(
            uid, asked, limit=limit
        )
        return found

    async def memories(
        self,
        user: str | UUID,
        *,
        category: MemoryCategory | str | None = None,
        limit: int | None = None,
    ) -> builtins.list[Memory]:
        """What the companion remembers about the user, most recently updated first."""
        uid = user_id(user)
        if category is not None:
            category = parse_category(category)
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidInput("limit must be a positive whole number")
        await self._ready()
        found: list[Memory] = await self._container.services.memories().list(
            uid, category=category, limit=limit
        )
        return found

    async def forget(self, user: str | UUID, memory_id: str | UUID) -> Memory:
        """Delete one of the user's memories; returns it. NotFound if the user has none
        with this id (another user's memory is never reached)."""
        uid = user_id(user)
        mid = memory_id if isinstance(memory_id, UUID) else parse_uuid(memory_id, what="memory_id")
        await self._ready()
        services = self._container.services
        forgotten: Memory = await services.memories().forget(uid, mid)
        await services.profiles().forget_memories(uid, [forgotten])
        return forgotten

    async def greeting(self, user: str | UUID) -> str:
        """What the companion would say first if the user came back now (no model call)."""
        uid = user_id(user)
        await self._ready()
        greeting = await self._container.services.conversations().greeting_for(uid)
        text: str = greeting.text
        return text

    async def profile(self, user: str | UUID) -> UserProfile:
        """The user's profile: name, language, interests, goals, preferences."""
        uid = user_id(user)
        await self._ready()
        found: UserProfile = await self._container.services.profiles().get(uid)
        return found

    async def export_user(self, user: str | UUID) -> UserExport:
        """Everything held of the user: profile, memories (with their history), every
        turn said, session summaries, parked turns. What they said that is still being
        worked on here is worked first, so the export has its memories."""
        uid = user_id(user)
        await self._ready()
        services = self._container.services
        await services.memory_worker().drain(_ERASE_DRAIN_SECONDS, user_id=uid)
        exported: UserExport = await services.user_data().export(uid)
        return exported

    async def erase_user(self, user: str | UUID) -> UserErased:
        """Delete everything held of the user, in every store, the cache and the spool;
        other users are untouched. Conflict (nothing erased) while another process works
        their memory; running it again after a failure finishes it."""
        uid = user_id(user)
        await self._ready()
        services = self._container.services
        # This process's own queued memory work of the user must not land afterwards.
        if not await services.memory_worker().drain(_ERASE_DRAIN_SECONDS, user_id=uid):
            raise Conflict(
                f"user {uid}'s memory work is still running in this process; nothing was"
                " erased: try again when it is done"
            )
        erased: UserErased = await services.user_data().erase(uid)
        return erased

    @asynccontextmanager
    async def conversation(self, user: str | UUID) -> AsyncIterator[Conversation]:
        """A session with the user, ended (summarised) when the block ends::

        async with companion.conversation("ada") as talk:
            print(talk.greeting)
            print(await talk.reply("I started learning the sitar."))
        """
        uid = user_id(user)
        await self._ready()
        chat = self._chat()
        talk = Conversation(chat, await chat.start(uid))
        try:
            yield talk
        finally:
            await asyncio.shield(talk.end())

    def on_close(self, end: Callable[[], Awaitable[None]]) -> None:
        """Have :meth:`aclose` await ``end()`` before it closes anything (a session that
        must be summarised first: ``companion.livekit`` registers its sessions)."""
        self._before_close.append(end)

    async def aclose(self) -> None:
        """End what was registered with :meth:`on_close`, finish queued memory work
        (bounded; what is left stays journalled for the next start) and close every
        connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            while self._before_close:
                await self._before_close.pop(0)()
        finally:
            await shut_down(self._container, within=CLOSE_DRAIN_SECONDS)
