"""MemoryWorker: turns journalled user turns into memories, in the background, losing nothing.

A user's turn is written to the conversation store (the journal) before the reply. The
reply never waits for memory work: the worker extracts and reconciles the turn afterwards,
marks it processed, and retries with backoff when a backend fails. A turn whose work never
finished (a crash, ``kill -9``, a store outage) stays pending and is processed by
:meth:`recover` when the next process starts. Processing is idempotent: reconciliation
makes a repeated turn a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import structlog

from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.rag_service import RAGService
from companion.domain.changes import Change, SaveResult
from companion.domain.errors import ChatModelError, StoreError
from companion.domain.models import ConversationTurn, Memory, UserProfile
from companion.domain.text import search_tail
from companion.domain.validation import MAX_QUERY
from companion.ports.chat_model import ChatModel
from companion.ports.clock import Clock
from companion.ports.conversation_store import ConversationStore

log = structlog.get_logger(__name__)

_TRANSIENT = (StoreError, ChatModelError, OSError)

# Told what a turn's memory work changed, and the user's profile after it (a session
# keeps both: see ``Session.absorb``).
OnDone = Callable[[Sequence[SaveResult], UserProfile], None]
_Job = tuple[ConversationTurn, int | None, OnDone | None]


class MemoryWorker:
    """One per process: a queue of turns and a task that works through it."""

    def __init__(
        self,
        conversations: ConversationStore,
        memories: MemoryService,
        profiles: ProfileService,
        chat_model: ChatModel,
        clock: Clock,
        *,
        rag: RAGService | None = None,
        known_memories: int = 0,
        attempts: int = 4,
        backoff_seconds: float = 0.05,
    ) -> None:
        self._conversations = conversations
        self._memories = memories
        self._profiles = profiles
        self._model = chat_model
        self._clock = clock
        # How many related stored memories the extracting model sees (0: none). A model
        # that reads them keys updates to the memory they replace; the pattern extractor
        # keys by slot already, so the container sets this only for a remote model.
        self._rag = rag
        self._known = known_memories if rag is not None else 0
        self._attempts = max(attempts, 1)
        self._backoff = backoff_seconds
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self.processed = 0
        self.failed = 0

    async def process(
        self, turn: ConversationTurn, position: int | None = None, on_done: OnDone | None = None
    ) -> list[SaveResult]:
        """Do the memory work of one turn, then mark it processed in the journal.

        At most one model call: extraction, which sees the related stored memories;
        reconciliation is then done locally. The profile is read once, and only when
        the related memories or the candidates need it. ``on_done`` hears what changed.
        """
        profile: UserProfile | None = None
        known: list[Memory] = []
        if self._known and self._rag is not None:
            profile = await self._profiles.get(turn.user_id)
            known = await self._related(self._rag, turn, profile)
        if known:
            candidates = await self._model.extract_memories(turn.text, known)
        else:
            candidates = await self._model.extract_memories(turn.text)
        results: list[SaveResult] = []
        if candidates:
            if profile is None:
                profile = await self._profiles.get(turn.user_id)
            results = await self._memories.remember(
                turn.user_id,
                candidates,
                thread=str(turn.session_id),
                position=position if position is not None else await self._position(turn),
                at=turn.created_at,
                participants=profile.participants,
            )
            profile = await self._fold_into_profile(turn, results, profile)
        await self._conversations.mark_processed(turn.user_id, turn.id, self._clock.now())
        self.processed += 1
        if on_done is not None and profile is not None:
            on_done(results, profile)
        return results

    async def _related(
        self, rag: RAGService, turn: ConversationTurn, profile: UserProfile
    ) -> list[Memory]:
        found = await rag.retrieve(
            turn.user_id,
            search_tail(turn.text, MAX_QUERY),
            limit=self._known,
            record_access=False,
            participants=profile.participants,
        )
        return [scored.memory for scored in found]

    async def _position(self, turn: ConversationTurn) -> int:
        turns = await self._conversations.turns(turn.user_id, turn.session_id)
        ids = [t.id for t in turns]
        return ids.index(turn.id) if turn.id in ids else len(ids)

    async def _fold_into_profile(
        self, turn: ConversationTurn, results: list[SaveResult], profile: UserProfile
    ) -> UserProfile:
        learned = [r.memory for r in results if r.change in (Change.ADDED, Change.UPDATED)]
        forgotten = [r.memory for r in results if r.change is Change.DELETED]
        if forgotten:
            profile = await self._profiles.forget_memories(turn.user_id, forgotten, profile=profile)
        if learned:
            profile = await self._profiles.apply_memories(turn.user_id, learned, profile=profile)
        return profile

    async def _process_with_retries(
        self, turn: ConversationTurn, position: int | None = None, on_done: OnDone | None = None
    ) -> bool:
        for attempt in range(self._attempts):
            try:
                await self.process(turn, position, on_done)
            except _TRANSIENT as exc:
                if attempt + 1 == self._attempts:
                    # Left pending in the journal: the next start recovers it.
                    self.failed += 1
                    log.error("memory_work_failed", error=type(exc).__name__, attempts=attempt + 1)
                    return False
                await asyncio.sleep(self._backoff * 2**attempt)
            else:
                return True
        return False

    def submit(
        self,
        turn: ConversationTurn,
        *,
        position: int | None = None,
        on_done: OnDone | None = None,
    ) -> None:
        """Queue a journalled turn for memory work; returns at once.

        ``position`` is the turn's index in its session when the caller knows it (saves
        reading the session's transcript); otherwise it is looked up. ``on_done`` is
        told what the work changed (the session's ``absorb``).
        """
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(self._queue))
        self._queue.put_nowait((turn, position, on_done))

    async def _run(self, queue: asyncio.Queue[_Job]) -> None:
        while True:
            turn, position, on_done = await queue.get()
            try:
                await self._process_with_retries(turn, position, on_done)
            except Exception:  # a bug in one turn must not stop the others
                self.failed += 1
                log.exception("memory_work_crashed")
            finally:
                queue.task_done()

    async def drain(self, within: float | None = None) -> bool:
        """Wait until every submitted turn is processed; False if ``within`` seconds ran out."""
        if self._queue is None:
            return True
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            return False
        return True

    async def recover(self, limit: int = 10_000) -> int:
        """Process turns left pending by an earlier process; returns how many were done."""
        done = 0
        for turn in await self._conversations.pending_turns(limit):
            if await self._process_with_retries(turn):
                done += 1
        if done:
            log.info("memory_journal_recovered", turns=done)
        return done

    async def close(self, within: float) -> bool:
        """Finish queued work within ``within`` seconds, then stop; False if work remains.

        Whatever is left stays pending in the journal and is recovered on the next start.
        """
        finished = await self.drain(within)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not finished:
            log.warning("memory_work_left_for_next_start", queued=self._queue_size())
        return finished

    def _queue_size(self) -> int:
        return 0 if self._queue is None else self._queue.qsize()
