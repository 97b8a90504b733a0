"""TurnService: one turn, the same for every way in.

A turn begins with the user's final words and finishes with the reply:

- :meth:`TurnService.begin` waits for the session's previous memory work (read your own
  writes), journals what the user said, and retrieves the memories relevant to it;
- :meth:`TurnService.finish` hands the turn's memory work to the background worker and
  journals what the companion said.

The LiveKit agent calls the two around its LLM call; ``ChatService.turn`` (the library,
the benchmarks) calls them around the chat model's reply. The turn's state lives in the
:class:`Session` the caller holds; this class is the only one that changes its turn
fields (the memory work reports what a turn changed through ``Session.absorb``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import structlog

from companion.core.conversation_service import ConversationService
from companion.core.memory_worker import MemoryWorker
from companion.core.rag_service import RAGService
from companion.core.turn_keeper import TurnKeeper
from companion.domain.changes import SaveResult
from companion.domain.errors import StoreUnavailable
from companion.domain.models import ChatMessage, ConversationTurn, Memory, Role, UserProfile
from companion.domain.session import PreparedTurn, Session
from companion.domain.text import same_words, search_tail
from companion.domain.validation import MAX_QUERY, MAX_TURN_TEXT, validate_text

log = structlog.get_logger(__name__)

_MEASURED_TURNS = 10_000


class TurnService:
    """Begins and finishes turns; the reply never waits for memory work."""

    def __init__(
        self,
        conversations: ConversationService,
        rag: RAGService,
        worker: MemoryWorker,
        settle: Callable[..., Awaitable[None]] | None = None,
        keeper: TurnKeeper | None = None,
    ) -> None:
        """``settle(user_id, everything=False)`` sends a user's deferred writes where the
        stores defer them (see ``adapters/postgres/write_behind.py``), so the turn is
        journalled before the reply even when no search carried it. ``keeper`` keeps
        turns on this machine while the store is unreachable (a networked store's)."""
        self._conversations = conversations
        self._rag = rag
        self._worker = worker
        self._settle = settle
        self._keeper = keeper
        # The latest turns' memory-related wait before the reply, for measurement; bounded
        # so a long-running agent does not grow it forever.
        self.critical_path_ms: deque[float] = deque(maxlen=_MEASURED_TURNS)

    async def begin(
        self, session: Session, text: str, *, message_id: str | None = None
    ) -> PreparedTurn:
        """The user's words journalled and the memories they call up retrieved.

        ``message_id`` names the message being answered (LiveKit's): beginning the same
        message again (the agent's LLM runs again after a tool step) returns the same
        turn. A previous turn whose reply never came is handed to the memory work first.
        """
        current = session.current
        if current is not None and message_id is not None and current.message_id == message_id:
            return current  # the same message again: the same turn
        self.hand_on(session)
        said = validate_text(text, what="message", max_length=MAX_TURN_TEXT)
        started = time.perf_counter()
        # No wait for the previous turn's memory work (a remote model's extraction takes
        # seconds): its words are in the reply's history already, and the memories it
        # makes are there for the turns after.
        journalled = self._conversations.new_turn(session, Role.USER, said)
        memories: tuple[Memory, ...] = ()
        async with self._worker.replying():  # memory work steps aside meanwhile
            try:
                await self._conversations.append(session, journalled)
                memories = await self._retrieve(session, said, record_access=True)
                if self._settle is not None:  # nothing left to send when the search carried it
                    await self._settle(session.user_id, everything=False)
            except StoreUnavailable as exc:  # the reply goes on, without memories
                await self._keep(session, journalled, exc)
        # Its place among what the user said in this session (the companion's replies are
        # not memories): retrieval's neighbours are the user's turns just before and after.
        position = sum(1 for t in session.transcript if t.role is Role.USER) - 1
        profile = session.profile  # kept current by the memory work (Session.absorb)
        # Everything memory-related that the reply waits for ends here.
        self.critical_path_ms.append((time.perf_counter() - started) * 1000)
        prepared = PreparedTurn(
            said=said,
            journalled=journalled,
            memories=memories,
            profile=profile,
            position=position,
            message_id=message_id,
        )
        session.current, session.handed_on, session.answered = prepared, False, False
        session.history.append(ChatMessage(Role.USER, said))
        return prepared

    def begun(self, session: Session, *, message_id: str | None, text: str) -> PreparedTurn | None:
        """The turn already begun for this message, if any: by the message's id, or, while
        the turn has no reply yet, by its words (LiveKit's early reply to a transcript that
        was not final yet answers a message of its own, with the same words)."""
        current = session.current
        if current is None:
            return None
        if message_id is not None and current.message_id == message_id:
            return current
        if not session.answered and same_words(current.said, text):
            return current
        return None

    async def recall(self, session: Session, text: str) -> tuple[Memory, ...]:
        """The memories ``text`` calls up, with nothing written: no journal entry, no
        access count, no memory work (for words that are not final yet)."""
        said = validate_text(text, what="message", max_length=MAX_TURN_TEXT)
        return await self._retrieve(session, said, record_access=False)

    async def _retrieve(
        self, session: Session, said: str, *, record_access: bool
    ) -> tuple[Memory, ...]:
        # A turn may be longer than a search query: the search reads its end.
        retrieved = await self._rag.retrieve(
            session.user_id,
            search_tail(said, MAX_QUERY),
            record_access=record_access,
            participants=session.profile.participants,
        )
        return tuple(s.memory for s in retrieved)

    async def finish(self, session: Session, reply: str) -> None:
        """The turn's memory work handed on, and the reply journalled (if anything was said).

        Called again for the same turn (a reply after a tool step), it journals the new
        reply; the memory work was handed on once.
        """
        self.hand_on(session)
        if reply.strip():
            session.answered = True
            turn = self._conversations.new_turn(session, Role.ASSISTANT, reply)
            try:
                await self._conversations.append(session, turn)
            except StoreUnavailable as exc:
                await self._keep(session, turn, exc)
            session.history.append(ChatMessage(Role.ASSISTANT, reply))

    async def _keep(self, session: Session, turn: ConversationTurn, exc: StoreUnavailable) -> None:
        """The store cannot be reached: keep the turn on this machine (on disk before the
        reply) for the journal to take when it is back; without a keeper, fail."""
        if self._keeper is None:
            raise exc
        await self._keeper.keep(turn)
        self._conversations.count(session, turn)
        log.warning("store_unreachable_turn_kept", error=type(exc).__name__)

    def hand_on(self, session: Session) -> None:
        """Queue the current turn's memory work (one model call) if not yet; returns at once.

        Safe in a ``finally`` (it never awaits): a reply that failed or was cut off still
        leaves its turn to be remembered.
        """
        current = session.current
        if current is None or session.handed_on:
            return
        session.handed_on = True
        self._worker.submit(
            current.journalled,
            position=current.position,
            on_done=session.absorb,
            participants=session.profile.participants,
        )

    async def work_now(self, session: Session) -> tuple[SaveResult, ...] | None:
        """Hand the current turn's memory work on and wait for it: what it changed, or
        ``None`` when it could not be done now (a backend down, another process holding
        the user's claim): the turn stays journalled and is worked later, as any turn.

        For callers that want the result (the library's ``remember``); a reply never
        waits for this.
        """
        current = session.current
        if current is None or session.handed_on:
            raise RuntimeError("work_now needs a turn begun and not handed on yet")
        changed: list[SaveResult] = []
        done = False

        def absorb(results: Sequence[SaveResult], profile: UserProfile | None) -> None:
            nonlocal done
            session.absorb(results, profile)
            changed.extend(results)
            done = True

        session.handed_on = True
        self._worker.submit(
            current.journalled,
            position=current.position,
            on_done=absorb,
            participants=session.profile.participants,
        )
        await self._worker.drain(user_id=session.user_id)
        return tuple(changed) if done else None

    async def settled(self, session: Session) -> None:
        """Wait until what the user said so far is in their memories (before a tool reads
        or writes them, so it never works alongside the worker on the same user)."""
        self.hand_on(session)
        await self._worker.drain(user_id=session.user_id)
