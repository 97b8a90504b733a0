"""ChatService: a session from greeting to summary, with the turn use case in between.

Every way in runs the same steps: :meth:`ChatService.start` (the user's profile read
once, the greeting composed), then :class:`TurnService`'s ``begin``/``finish`` for each
turn (the LiveKit agent calls them around its LLM; :meth:`ChatService.turn` calls them
around the chat model's reply), then :meth:`ChatService.end`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

import structlog

from companion.core.conversation_service import ConversationService
from companion.core.memory_worker import MemoryWorker
from companion.core.profile_service import ProfileService
from companion.core.turn_service import TurnService
from companion.core.user_service import UserService
from companion.domain.errors import ChatModelError, StoreUnavailable
from companion.domain.models import ChatMessage, ChatRequest, ConversationSummary, Role
from companion.domain.session import Session
from companion.ports.chat_model import ChatModel

log = structlog.get_logger(__name__)

# How long the end of a session may wait for its memory work before summarising what is
# done; anything later is still saved, and the summary of the next session covers it.
_END_DRAIN_SECONDS = 10.0


class ChatService:
    """Runs sessions: greets, answers each turn with relevant memories, remembers, summarises.

    The reply never waits for memory work. A turn is journalled before the reply and its
    memories are made in the background by the :class:`MemoryWorker`; the next turn does
    not wait for that work either: what was just said is in the session's history, which
    the reply reads.
    """

    def __init__(
        self,
        users: UserService,
        conversations: ConversationService,
        profiles: ProfileService,
        turns: TurnService,
        chat_model: ChatModel,
        worker: MemoryWorker,
        settle: Callable[..., Awaitable[None]] | None = None,
        sweep_every: float = 30.0,
    ) -> None:
        """``settle(user_id, everything=True)`` sends a user's deferred writes at the end
        of a session, where the stores defer them (see ``adapters/postgres/write_behind.py``).
        ``sweep_every``: how often this process works abandoned turns while it lives."""
        self._users = users
        self._conversations = conversations
        self._profiles = profiles
        self._turns = turns
        self._model = chat_model
        self._worker = worker
        self._settle = settle
        self._sweep_every = sweep_every

    @property
    def turns(self) -> TurnService:
        """The turn use case this service's sessions run on."""
        return self._turns

    async def start(self, user_id: UUID) -> Session:
        """Begin a session: make sure the user exists, and compose the greeting.

        When the user's last session did not end cleanly (a crash, an outage), what it
        left undone is worked first, so this session reads its own past; a turn that
        cannot be worked now waits for the background sweep, which this process runs
        from now on. Neither ever fails the start.
        """
        # While the session is open this process keeps the claim on the user's memory
        # work once it takes it: its turns are worked here, in order, one claimant.
        self._worker.attend(user_id)
        try:
            ended_cleanly = await self._conversations.ended_cleanly(user_id)
            if not ended_cleanly:
                await self._worker.recover(user_id=user_id, retry_now=True)
            self._worker.sweep_in_background(self._sweep_every)
            profile = await self._users.mark_seen(user_id)  # the session's one profile read
            session = await self._conversations.start(user_id, profile, ended_cleanly=ended_cleanly)
        except BaseException:
            await asyncio.shield(self._worker.leave(user_id))
            raise
        # Every event logged for this session carries its ids.
        structlog.contextvars.bind_contextvars(
            user_id=str(user_id), session_id=str(session.session_id)
        )
        session.history.append(ChatMessage(Role.ASSISTANT, session.greeting.text))
        return session

    async def turn(self, session: Session, text: str) -> str:
        """Answer one user utterance; what it tells us is remembered in the background."""
        prepared = await self._turns.begin(session, text)
        request = ChatRequest(
            messages=tuple(session.history), memories=prepared.memories, profile=prepared.profile
        )
        reply = await self._model.reply(request)
        await self._turns.finish(session, reply)
        return reply

    async def end(
        self, session: Session, *, open_threads: Sequence[str] = ()
    ) -> ConversationSummary | None:
        """Close the session: finish its memory work, summarise, prepare the next greeting."""
        self._turns.hand_on(session)  # a turn whose reply never came is remembered too
        drained = await self._worker.drain(_END_DRAIN_SECONDS, user_id=session.user_id)
        if not session.let_go:  # the claim goes once the session's work is done
            session.let_go = True
            await self._worker.leave(session.user_id)
        try:
            summary = await self._conversations.end(session, open_threads=open_threads)
            if session.learned:
                await self._rebuild_profile(session)
            if self._settle is not None:
                await self._settle(session.user_id, everything=True)
        except StoreUnavailable as exc:
            # The store is down: what the session wrote waits in the write-behind buffer
            # (or the spool), and the session is not marked closed, so the next start
            # works what it left; ending never fails for it.
            log.warning("session_end_left_for_the_store", error=type(exc).__name__)
            return None
        if drained and not self._worker.left_pending(session.user_id):
            # Else the next start works what is left before it greets.
            await self._conversations.mark_closed(session)
        log.info("session_ended", turns=session.turns, learned=len(session.learned))
        return summary

    async def _rebuild_profile(self, session: Session) -> None:
        """One model call per session: the profile redrafted from what the session taught.

        The per-turn merge already keeps the profile's slots current; a language model
        adds what no pattern can (interests and goals in its own words, a short
        description). A failure leaves the profile as the per-turn merge left it.
        """
        try:
            draft = await self._model.build_profile(session.profile, session.learned)
        except ChatModelError as exc:
            log.warning("profile_rebuild_failed", error=type(exc).__name__)
            return
        session.profile = await self._profiles.apply_draft(
            session.user_id, draft, profile=session.profile
        )
