"""ChatService: one conversational turn, from what the user said to the companion's reply."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog

from companion.core.conversation_service import ConversationService, Session
from companion.core.memory_worker import MemoryWorker
from companion.core.profile_service import ProfileService
from companion.core.rag_service import RAGService
from companion.core.user_service import UserService
from companion.domain.errors import ChatModelError
from companion.domain.models import (
    ChatMessage,
    ChatRequest,
    ConversationSummary,
    ConversationTurn,
    Memory,
    Role,
    UserProfile,
)
from companion.domain.text import search_tail
from companion.domain.validation import MAX_QUERY, MAX_TURN_TEXT, validate_text
from companion.ports.chat_model import ChatModel

log = structlog.get_logger(__name__)

_HISTORY_TURNS = 12
_MEASURED_TURNS = 10_000
# How long the end of a session may wait for its memory work before summarising what is
# done; anything later is still saved, and the summary of the next session covers it.
_END_DRAIN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class PreparedTurn:
    """A user turn made ready for a reply: journalled, with the memories it calls up."""

    said: str
    journalled: ConversationTurn
    memories: tuple[Memory, ...]
    profile: UserProfile
    position: int | None = None  # the turn's index in its session, when known


class ChatService:
    """Runs sessions: greets, answers each turn with relevant memories, remembers, summarises.

    The reply never waits for memory work. A turn is journalled before the reply and its
    memories are made in the background by the :class:`MemoryWorker`; the next turn of the
    same session waits for that work first, so a session always reads its own writes.
    """

    def __init__(
        self,
        users: UserService,
        conversations: ConversationService,
        profiles: ProfileService,
        rag: RAGService,
        chat_model: ChatModel,
        worker: MemoryWorker,
        settle: Callable[..., Awaitable[None]] | None = None,
    ) -> None:
        """``settle(user_id, everything=...)`` sends a user's deferred writes, where the
        stores defer them (see ``app/write_behind.py``): the journal entries before a
        reply, so the turn is journalled even when no search carried it, and everything
        at the end of a session."""
        self._users = users
        self._conversations = conversations
        self._profiles = profiles
        self._rag = rag
        self._model = chat_model
        self._worker = worker
        self._settle = settle
        self._history: dict[UUID, deque[ChatMessage]] = {}
        # The latest turns' memory-related wait before the reply, for measurement; bounded
        # so a long-running agent does not grow it forever.
        self.critical_path_ms: deque[float] = deque(maxlen=_MEASURED_TURNS)

    async def start(self, user_id: UUID) -> Session:
        """Begin a session: make sure the user exists, and compose the greeting."""
        await self._users.mark_seen(user_id)
        session = await self._conversations.start(user_id)
        # Every event logged for this session carries its ids.
        structlog.contextvars.bind_contextvars(
            user_id=str(user_id), session_id=str(session.session_id)
        )
        self._history[session.session_id] = deque(
            [ChatMessage(Role.ASSISTANT, session.greeting.text)], maxlen=_HISTORY_TURNS
        )
        return session

    async def turn(self, session: Session, text: str) -> str:
        """Answer one user utterance; what it tells us is remembered in the background."""
        prepared = await self.prepare(session, text)
        history = self._history.setdefault(session.session_id, deque(maxlen=_HISTORY_TURNS))
        history.append(ChatMessage(Role.USER, prepared.said))
        request = ChatRequest(
            messages=tuple(history), memories=prepared.memories, profile=prepared.profile
        )
        reply = await self._model.reply(request)
        self.remember(prepared)
        await self.record_reply(session, reply)
        history.append(ChatMessage(Role.ASSISTANT, reply))
        return reply

    async def prepare(self, session: Session, text: str) -> PreparedTurn:
        """Everything a reply to ``text`` needs from memory, with the turn journalled first.

        Waits for the previous turns' memory work (read your own writes), writes the turn
        to the journal, then retrieves the memories relevant to it. Callers that write the
        reply themselves (the voice agent) call :meth:`remember` once the reply exists and
        :meth:`record_reply` with what was said.
        """
        said = validate_text(text, what="message", max_length=MAX_TURN_TEXT)
        started = time.perf_counter()
        await self._worker.drain()  # read your own writes: the last turn's memories are in
        journalled = await self._conversations.record(session, Role.USER, said)
        position = session.turns - 1  # every turn of this session went through record()
        profile = await self._profiles.get(session.user_id)
        # A turn may be longer than a search query: the search reads its end.
        retrieved = await self._rag.retrieve(
            session.user_id, search_tail(said, MAX_QUERY), participants=profile.participants
        )
        if self._settle is not None:  # nothing left to send when the search carried it
            await self._settle(session.user_id, everything=False)
        # Everything memory-related that the reply waits for ends here.
        self.critical_path_ms.append((time.perf_counter() - started) * 1000)
        return PreparedTurn(
            said=said,
            journalled=journalled,
            memories=tuple(s.memory for s in retrieved),
            profile=profile,
            position=position,
        )

    def remember(self, prepared: PreparedTurn) -> None:
        """Queue the turn's memory work (one model call) for the background worker."""
        self._worker.submit(prepared.journalled, position=prepared.position)

    async def memory_settled(self) -> None:
        """Wait for the memory work queued so far (before reading or changing memories)."""
        await self._worker.drain()

    async def record_reply(self, session: Session, reply: str) -> None:
        """Journal what the companion said (nothing when it said nothing)."""
        if reply.strip():
            await self._conversations.record(session, Role.ASSISTANT, reply)

    async def end(
        self, session: Session, *, open_threads: Sequence[str] = ()
    ) -> ConversationSummary | None:
        """Close the session: finish its memory work, summarise, prepare the next greeting."""
        self._history.pop(session.session_id, None)
        await self._worker.drain(_END_DRAIN_SECONDS)
        session.learned[:] = self._worker.take_learned(session.session_id)
        summary = await self._conversations.end(session, open_threads=open_threads)
        if session.learned:
            await self._rebuild_profile(session)
        if self._settle is not None:
            await self._settle(session.user_id, everything=True)
        await self._conversations.mark_closed(session)
        log.info("session_ended", turns=session.turns, learned=len(session.learned))
        return summary

    async def _rebuild_profile(self, session: Session) -> None:
        """One model call per session: the profile redrafted from what the session taught.

        The per-turn merge already keeps the profile's slots current; a language model
        adds what no pattern can (interests and goals in its own words, a short
        description). A failure leaves the profile as the per-turn merge left it.
        """
        profile = await self._profiles.get(session.user_id)
        try:
            draft = await self._model.build_profile(profile, session.learned)
        except ChatModelError as exc:
            log.warning("profile_rebuild_failed", error=type(exc).__name__)
            return
        await self._profiles.apply_draft(session.user_id, draft)
