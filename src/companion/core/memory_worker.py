"""MemoryWorker: turns journalled user turns into memories, in the background, losing nothing.

A user's turn is written to the conversation store (the journal) before the reply. The
reply never waits for memory work: the worker extracts and reconciles the turn afterwards,
marks it processed, and retries with backoff when a backend fails. A turn whose work never
finished (a crash, ``kill -9``, a store outage) stays pending and is worked by
:meth:`recover`: for a user, when their next session starts, and for every user, by
the sweep each long-lived process runs in the background (:meth:`sweep_in_background`),
with retries on a schedule that outlasts a database failover. A turn that fails in a way
retrying cannot fix is parked with its reason, never fatal. Processing is idempotent:
reconciliation makes a repeated turn a no-op.

The journal is a work queue shared by every process on the store: a user's turns are
worked only under a claim on the user (a lease in the store, renewed while the work goes
on, taken over once it runs out), so one process at a time works a user's turns, in the
order they were said, and two processes never do the same work. A session's process
keeps the claim while the session is open and gives it up when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import structlog

from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.rag_service import RAGService
from companion.core.turn_keeper import TurnKeeper
from companion.domain.changes import Change, SaveResult
from companion.domain.errors import (
    CacheError,
    ChatModelError,
    Conflict,
    EmbeddingUnavailable,
    StoreError,
)
from companion.domain.models import ConversationTurn, Memory, Role, UserProfile
from companion.domain.provenance import is_observation
from companion.domain.text import search_tail
from companion.domain.validation import MAX_QUERY
from companion.ports.chat_model import ChatModel
from companion.ports.clock import Clock
from companion.ports.conversation_store import ConversationStore

log = structlog.get_logger(__name__)

# Failures retrying can fix: a backend unreachable or overloaded, a key another process
# took a moment ago. Anything else (bad data, an embedding-model mismatch, a bug) parks
# the turn instead of blocking the journal.
_TRANSIENT = (
    StoreError,
    ChatModelError,
    EmbeddingUnavailable,
    CacheError,
    Conflict,
    OSError,
    TimeoutError,
)
# Until a turn's transient failures end: the first retry after a few seconds, then each
# wait doubles up to 5 minutes, so retries outlast a database failover and go on.
RETRY_FIRST_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0
# How many turns' retry times a process keeps (the oldest are forgotten: retried soonest).
RETRY_TRACKED = 10_000
# The background sweep leaves turns younger than this to the session that said them.
SWEEP_GRACE_SECONDS = 120.0
# How long a claim on a user's memory work lasts unless renewed: a process killed while it
# held one delays that user's abandoned turns by at most this much. The claimant renews
# it when less than half is left, before working a turn.
LEASE_SECONDS = 60.0
# How many of a user's pending turns one claim reads.
CLAIM_READS = 1000
# How many users' memory work runs at once in one process (each is mostly waiting on the
# model and the store), and how many turns may wait for it in all: past that the worker
# sheds a turn (it stays journalled, pending, and the sweep works it later).
PARALLEL_USERS = 16
MAX_QUEUED = 1000
# Memory work steps aside while a reply is being prepared in this process (its CPU and
# the store's thread are the reply's first), but never for longer than this at a time.
YIELD_SECONDS = 0.05


class _Outcome(enum.Enum):
    DONE = "done"
    LATER = "later"
    PARKED = "parked"
    BUSY = "busy"  # another process holds the user's claim: its turns are its to work


class RetrySchedule:
    """When each turn that failed transiently may be tried again (bounded memory)."""

    def __init__(self) -> None:
        self._next: OrderedDict[UUID, tuple[datetime, float]] = OrderedDict()

    def later(self, turn_id: UUID, now: datetime) -> float:
        """Record one more failure of the turn; the seconds until it is due again."""
        _, waited = self._next.pop(turn_id, (now, 0.0))
        wait = RETRY_FIRST_SECONDS if waited == 0 else min(waited * 2, RETRY_MAX_SECONDS)
        self._next[turn_id] = (now + timedelta(seconds=wait), wait)
        while len(self._next) > RETRY_TRACKED:
            self._next.popitem(last=False)
        return wait

    def due(self, turn_id: UUID, now: datetime) -> bool:
        entry = self._next.get(turn_id)
        return entry is None or entry[0] <= now

    def forget(self, turn_id: UUID) -> None:
        self._next.pop(turn_id, None)

    def __len__(self) -> int:
        return len(self._next)


# Told what a turn's memory work changed, and the user's profile after it when the work
# read it (None: the turn taught nothing and the profile was not read); a session keeps
# both (see ``Session.absorb``).
OnDone = Callable[[Sequence[SaveResult], UserProfile | None], None]
# A turn, its place in its session, who hears the result, the profile's participants.
_Job = tuple[ConversationTurn, int | None, OnDone | None, tuple[str, ...] | None]


class _Lane:
    """One user's queued turns, worked in order by one task; ``idle`` is set when empty."""

    __slots__ = ("idle", "jobs", "task")

    def __init__(self) -> None:
        self.jobs: deque[_Job] = deque()
        self.task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()


class MemoryWorker:
    """One per process: a lane per user (that user's turns in the order said, one at a
    time), lanes worked in parallel up to ``parallel`` users, at most ``max_queued``
    turns waiting in all."""

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
        machine: str = "local",
        alive: Callable[[int], bool] | None = None,
        lease_seconds: float = LEASE_SECONDS,
        keeper: TurnKeeper | None = None,
        parallel: int = PARALLEL_USERS,
        max_queued: int = MAX_QUEUED,
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
        self._lanes: dict[UUID, _Lane] = {}
        self._parallel = max(parallel, 1)
        self._slots: asyncio.Semaphore | None = None
        self._max_queued = max(max_queued, 1)
        self._shedding = False
        # Replies being prepared now (TurnService.begin): memory work waits for quiet.
        self._replying = 0
        self._quiet: asyncio.Event | None = None
        self._sweeper: asyncio.Task[None] | None = None
        # Turns queued or being worked by this process (a sweep leaves them alone).
        self._active: set[UUID] = set()
        self._retry = RetrySchedule()
        # Users with a turn left pending by a failure retrying can fix (their session's
        # end is then not a clean one: the next start works it first).
        self._waiting: dict[UUID, set[UUID]] = {}
        # Who this worker is to the other processes on the journal, and the claims on
        # users' memory work it holds: user -> when (time.monotonic) the lease runs out.
        # ``machine`` names this machine (and its process namespace) to the others, and
        # ``alive(pid)`` says whether a process of it still runs: a claim a dead process
        # of this machine held is taken over at once, not when its lease runs out.
        self._machine = machine
        self._alive = alive
        # Turns kept on this machine while the store was down: sent before any recovery.
        self._keeper = keeper
        self._name = f"{machine}:{uuid4().hex[:12]}"
        self._pid = os.getpid()
        self._lease = lease_seconds
        self._leases: OrderedDict[UUID, float] = OrderedDict()
        # Per user: jobs queued or being worked here, and sessions open in this process
        # (a claim is kept while either lasts, and given up after).
        self._queued: Counter[UUID] = Counter()
        self._attending: Counter[UUID] = Counter()
        self.busy = 0
        self.shed = 0
        self.parked = 0
        self.processed = 0
        self.failed = 0

    @contextlib.asynccontextmanager
    async def replying(self) -> AsyncIterator[None]:
        """A reply is being prepared (its retrieval): memory work in this process holds
        back its next step until no reply is (bounded: see :data:`YIELD_SECONDS`)."""
        if self._quiet is None:
            self._quiet = asyncio.Event()
        self._replying += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._replying -= 1
            if not self._replying:
                self._quiet.set()

    async def _step_aside(self) -> None:
        if self._replying and self._quiet is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), YIELD_SECONDS)

    async def process(
        self,
        turn: ConversationTurn,
        position: int | None = None,
        on_done: OnDone | None = None,
        participants: tuple[str, ...] | None = None,
    ) -> list[SaveResult]:
        """Do the memory work of one turn, then mark it processed in the journal.

        At most one model call: extraction, which sees the related stored memories;
        reconciliation is then done locally. The profile is read once, and only when
        the related memories or the candidates need it. ``on_done`` hears what changed.
        """
        profile: UserProfile | None = None
        known: list[Memory] = []
        await self._step_aside()
        if self._known and self._rag is not None:
            profile = await self._profiles.get(turn.user_id)
            known = await self._related(self._rag, turn, profile)
        if known:
            candidates = await self._model.extract_memories(turn.text, known)
        else:
            candidates = await self._model.extract_memories(turn.text)
        results: list[SaveResult] = []
        replay = position is None  # recovery: the turn may have been worked before
        if replay:
            position = await self._position(turn)
        if candidates:
            await self._step_aside()
            if profile is None:
                profile = await self._profiles.get(turn.user_id)
            results = await self._memories.remember(
                turn.user_id,
                candidates,
                thread=str(turn.session_id),
                position=position,
                at=turn.created_at,
                participants=profile.participants,
                turn_id=turn.id,
            )
            profile = await self._fold_into_profile(turn, results, profile)
        # Everything said is kept for retrieval, extracted or not; but a request to forget
        # is not kept, or the words it names would be found again.
        if not any(c.forget for c in candidates):
            await self._step_aside()
            if profile is not None:
                participants = profile.participants
            await self._memories.index_turn(turn, position, participants, replay=replay)
        await self._conversations.mark_processed(turn.user_id, turn.id, self._clock.now())
        self.processed += 1
        if on_done is not None:
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
        # Kept turns are what was said, not memories the model may correct or forget.
        return [scored.memory for scored in found if not is_observation(scored.memory)]

    async def _position(self, turn: ConversationTurn) -> int:
        turns = await self._conversations.turns(turn.user_id, turn.session_id)
        ids = [t.id for t in turns if t.role is Role.USER]  # as TurnService counts them
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
        self,
        turn: ConversationTurn,
        position: int | None = None,
        on_done: OnDone | None = None,
        participants: tuple[str, ...] | None = None,
    ) -> _Outcome:
        """Work one turn: done; left for a later sweep (a failure retrying can fix, e.g. a
        database failover); or parked (one it cannot: bad data, a model mismatch, a bug)."""
        for attempt in range(self._attempts):
            try:
                await self.process(turn, position, on_done, participants)
            except _TRANSIENT as exc:
                if attempt + 1 == self._attempts:
                    return self._later(turn, exc, attempt + 1)
                await asyncio.sleep(self._backoff * 2**attempt)
            except Exception as exc:  # retrying cannot fix it: set the turn aside, go on
                outcome = await self._park(turn, exc)
                if outcome is _Outcome.PARKED:
                    self._done_waiting(turn)
                return outcome
            else:
                self._retry.forget(turn.id)
                self._done_waiting(turn)
                return _Outcome.DONE
        return _Outcome.LATER

    def _later(self, turn: ConversationTurn, exc: BaseException, attempts: int) -> _Outcome:
        self.failed += 1
        delay = self._retry.later(turn.id, self._clock.now())
        log.warning(
            "memory_work_deferred",
            error=type(exc).__name__,
            attempts=attempts,
            retry_in_s=round(delay, 1),
        )
        self._waiting.setdefault(turn.user_id, set()).add(turn.id)
        return _Outcome.LATER

    def _busy(self, turn: ConversationTurn) -> _Outcome:
        self.busy += 1
        delay = self._retry.later(turn.id, self._clock.now())
        log.info("memory_work_claimed_elsewhere", retry_in_s=round(delay, 1))
        self._waiting.setdefault(turn.user_id, set()).add(turn.id)
        return _Outcome.BUSY

    def _done_waiting(self, turn: ConversationTurn) -> None:
        waiting = self._waiting.get(turn.user_id)
        if waiting is not None:
            waiting.discard(turn.id)
            if not waiting:
                del self._waiting[turn.user_id]

    def left_pending(self, user_id: UUID) -> bool:
        """Whether a turn of this user failed in a way a retry can fix and is not done yet."""
        return user_id in self._waiting

    async def _park(self, turn: ConversationTurn, exc: Exception) -> _Outcome:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        try:
            await self._conversations.park_turn(turn.user_id, turn.id, reason, self._clock.now())
        except _TRANSIENT:  # cannot even park it now: a later sweep meets it again
            self._retry.later(turn.id, self._clock.now())
            return _Outcome.LATER
        self._retry.forget(turn.id)
        self.parked += 1
        log.error("memory_turn_parked", error=type(exc).__name__, turn_id=str(turn.id))
        return _Outcome.PARKED

    # -- claims on users' memory work ------------------------------------------------------

    @property
    def owner(self) -> str:
        """Who this worker is to the other processes on the journal: its name and process
        id (a LiveKit job process forked from the worker is another claimant)."""
        return f"{self._name}:{os.getpid()}"

    def _gone(self, holder: str) -> bool:
        """Whether ``holder`` was a worker of a process of this machine that has died."""
        parts = holder.rsplit(":", 2)
        if self._alive is None or len(parts) != 3 or parts[0] != self._machine:
            return False
        try:
            pid = int(parts[2])
        except ValueError:
            return False
        return pid != os.getpid() and pid > 0 and not self._alive(pid)

    async def _claim(self, user_id: UUID) -> tuple[bool, list[ConversationTurn] | None]:
        """Hold the user's claim before working their turns: (held, and the user's pending
        turns when the claim was just read from the journal; None when this process has
        held it all along). Renewed when less than half the lease is left."""
        if self._pid != os.getpid():  # forked: the parent's claims are not this process's
            self._pid = os.getpid()
            self._leases.clear()
        now = time.monotonic()
        deadline = self._leases.get(user_id)
        if deadline is not None and deadline - now > self._lease / 2:
            return True, None
        pending = await self._conversations.claim_user(
            user_id, self.owner, self._lease, CLAIM_READS
        )
        if pending is None:  # held: by a process of this machine that was killed?
            holder = await self._conversations.claim_holder(user_id)
            if holder is not None and self._gone(holder):
                pending = await self._conversations.claim_user(
                    user_id, self.owner, self._lease, CLAIM_READS, take_over=holder
                )
                if pending is not None:
                    log.info("memory_claim_of_a_dead_process_taken_over")
        if pending is None:
            self._leases.pop(user_id, None)
            return False, None
        self._leases[user_id] = now + self._lease  # read before the call: never too late
        self._leases.move_to_end(user_id)
        for held, until in list(self._leases.items()):  # oldest first: forget run-out ones
            if until > now:
                break
            del self._leases[held]
        return True, pending

    async def _release(self, user_id: UUID) -> None:
        if self._leases.pop(user_id, None) is None:
            return
        try:
            await self._conversations.release_user(user_id, self.owner)
        except _TRANSIENT as exc:  # it runs out by itself
            log.warning("memory_claim_kept_until_it_runs_out", error=type(exc).__name__)

    def _idle(self, user_id: UUID) -> bool:
        return not self._queued[user_id] and not self._attending[user_id]

    def claims_held(self) -> int:
        """Users whose memory work this process holds a claim on now."""
        now = time.monotonic()
        return sum(1 for until in self._leases.values() if until > now)

    def attend(self, user_id: UUID) -> None:
        """A session of this user opened in this process: a claim taken for its turns is
        kept (and renewed as they are worked) until :meth:`leave`."""
        self._attending[user_id] += 1

    async def leave(self, user_id: UUID) -> None:
        """The session closed: once none of the user's work is queued here, the claim is
        given up, so the user's next session, in any process, works its turns at once."""
        if self._attending[user_id] > 1:
            self._attending[user_id] -= 1
        else:
            self._attending.pop(user_id, None)
        if self._idle(user_id):
            await self._release(user_id)

    async def _work(
        self,
        turn: ConversationTurn,
        position: int | None,
        on_done: OnDone | None,
        participants: tuple[str, ...] | None = None,
    ) -> _Outcome:
        """A live session's turn: first the user's claim, and any older turn of theirs left
        pending (so a user's turns are worked in the order they were said), then the turn.
        Another process holding the claim works the user's turns; this one is retried."""
        try:
            held, pending = await self._claim(turn.user_id)
        except _TRANSIENT as exc:
            return self._later(turn, exc, 1)
        if not held:
            return self._busy(turn)
        now = self._clock.now()
        for older in pending or ():
            if older.id == turn.id or older.created_at > turn.created_at:
                break
            if older.id in self._active or not self._retry.due(older.id, now):
                continue
            self._active.add(older.id)
            try:
                await self._process_with_retries(older)
            finally:
                self._active.discard(older.id)
        return await self._process_with_retries(turn, position, on_done, participants)

    def submit(
        self,
        turn: ConversationTurn,
        *,
        position: int | None = None,
        on_done: OnDone | None = None,
        participants: tuple[str, ...] | None = None,
    ) -> None:
        """Queue a journalled turn for memory work in its user's lane; returns at once.

        ``position`` is the turn's index in its session when the caller knows it (saves
        reading the session's transcript); otherwise it is looked up. ``participants``
        are the profile's (masked when the turn is embedded), when the caller holds the
        profile (saves reading it); ``on_done`` is
        told what the work changed (the session's ``absorb``). When ``max_queued`` turns
        wait already the turn is shed: it stays pending in the journal and the sweep
        works it later (``on_done`` is then not told).
        """
        queued = self._queued_now()
        if queued >= self._max_queued:
            self._shed(turn, queued)
            return
        if self._shedding:
            self._shedding = False
            log.info("memory_work_accepted_again", queued=queued)
        user = turn.user_id
        lane = self._lanes.get(user)
        if lane is None:
            lane = self._lanes[user] = _Lane()
        lane.jobs.append((turn, position, on_done, participants))
        lane.idle.clear()
        self._active.add(turn.id)
        self._queued[user] += 1
        if lane.task is None or lane.task.done():
            lane.task = asyncio.get_running_loop().create_task(self._run(user, lane))

    def _queued_now(self) -> int:
        """Turns queued or being worked in this process, over every lane."""
        return sum(len(lane.jobs) for lane in self._lanes.values())

    def _shed(self, turn: ConversationTurn, queued: int) -> None:
        self.shed += 1
        self._retry.later(turn.id, self._clock.now())
        self._waiting.setdefault(turn.user_id, set()).add(turn.id)
        if not self._shedding:  # one line per overload, not one per turn
            self._shedding = True
            log.warning("memory_work_shed", queued=queued, max_queued=self._max_queued)

    async def _run(self, user: UUID, lane: _Lane) -> None:
        """Work one user's lane until it is empty (at most ``parallel`` lanes at once)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._parallel)
        try:
            while lane.jobs:
                turn, position, on_done, participants = lane.jobs[0]
                try:
                    async with self._slots:
                        await self._work(turn, position, on_done, participants)
                except Exception:  # a bug in one turn must not stop the others
                    self.failed += 1
                    log.exception("memory_work_crashed")
                finally:
                    lane.jobs.popleft()
                    self._active.discard(turn.id)
                    if self._queued[user] > 1:
                        self._queued[user] -= 1
                    else:
                        self._queued.pop(user, None)
                if not lane.jobs and self._idle(user):
                    await self._release(user)
        finally:
            if not lane.jobs:
                lane.idle.set()
                if self._lanes.get(user) is lane:
                    del self._lanes[user]

    async def drain(self, within: float | None = None, *, user_id: UUID | None = None) -> bool:
        """Wait until every submitted turn (of ``user_id``, if given) is worked; False if
        ``within`` seconds ran out first."""
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while True:
            if user_id is None:
                lanes = list(self._lanes.values())
            else:
                lanes = [self._lanes[user_id]] if user_id in self._lanes else []
            if not lanes:
                return True
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            try:
                await asyncio.wait_for(asyncio.gather(*(lane.idle.wait() for lane in lanes)), left)
            except TimeoutError:
                return False

    async def recover(
        self,
        limit: int = 10_000,
        *,
        user_id: UUID | None = None,
        older_than: timedelta | None = None,
        retry_now: bool = False,
    ) -> int:
        """Work the turns left pending (by an earlier process, an outage, a crash): of one
        user, or of every user; returns how many were done. Never raises for a turn.
        Turns kept on this machine during a store outage are sent to the journal first.

        A user's turns are worked only under the user's claim (one claimant at a time,
        across processes; a user whose claim another process holds is left to it), in the
        order they were said: a turn that has to wait (a failure retrying can fix, its
        retry not due yet) holds its user's later turns back until the next sweep; other
        users go on. The claim is given up after, unless a session of the user is open
        here. A turn this process is working on
        already (a live session's) is left to it; with ``older_than``, so is any turn
        younger than that (another process's live session is most likely on it).
        ``retry_now`` tries turns whose retry is not due yet (the user is back).
        """
        if self._keeper is not None:
            try:
                await self._keeper.send()
            except _TRANSIENT as exc:  # the spool's own file: kept turns wait
                log.warning("kept_turns_unreadable", error=type(exc).__name__)
        try:
            pending = await self._conversations.pending_turns(limit, user_id)
        except _TRANSIENT as exc:
            log.warning("memory_journal_unreadable", error=type(exc).__name__)
            return 0
        if user_id is not None and len(pending) < limit:
            self._settle_waiting(user_id, {turn.id for turn in pending})
        now = self._clock.now()
        by_user: dict[UUID, list[ConversationTurn]] = {}
        for turn in pending:
            by_user.setdefault(turn.user_id, []).append(turn)
        done = 0
        for user, turns in by_user.items():
            if not self._ready(turns[0], now, older_than, retry_now):
                continue  # no claim taken for a user with nothing to do now
            try:
                held, fresh = await self._claim(user)
            except _TRANSIENT as exc:
                log.warning("memory_claim_failed", error=type(exc).__name__)
                continue
            if not held:
                continue  # another process works this user's turns
            try:
                done += await self._work_through(
                    turns if fresh is None else fresh, now, older_than, retry_now
                )
            finally:
                if self._idle(user):
                    await self._release(user)
        if done:
            log.info("memory_journal_recovered", turns=done)
        return done

    def _ready(
        self,
        turn: ConversationTurn,
        now: datetime,
        older_than: timedelta | None,
        retry_now: bool,
    ) -> bool:
        if older_than is not None and turn.created_at > now - older_than:
            return False
        return turn.id not in self._active and (retry_now or self._retry.due(turn.id, now))

    async def _work_through(
        self,
        turns: Sequence[ConversationTurn],
        now: datetime,
        older_than: timedelta | None,
        retry_now: bool,
    ) -> int:
        """One claimed user's pending turns in order, until one has to wait."""
        done = 0
        for turn in turns:
            if not self._ready(turn, now, older_than, retry_now):
                break
            self._active.add(turn.id)
            try:
                outcome = await self._process_with_retries(turn)
            finally:
                self._active.discard(turn.id)
            if outcome is _Outcome.DONE:
                done += 1
            elif outcome is _Outcome.LATER:
                break
        return done

    def _settle_waiting(self, user_id: UUID, pending: set[UUID]) -> None:
        """Forget waiting turns of the user that are no longer pending (another process's
        claimant worked them)."""
        waiting = self._waiting.get(user_id)
        if waiting is not None:
            waiting &= pending
            if not waiting:
                del self._waiting[user_id]

    def sweep_in_background(self, every: float) -> None:
        """Keep working abandoned turns while this process lives: every ``every`` seconds,
        the journal's pending turns of every user (idempotent: started once)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(every))

    async def _sweep(self, every: float) -> None:
        # A turn younger than this is most likely still being worked by the live session
        # that said it, in this process or another: the sweep is for abandoned ones.
        grace = timedelta(seconds=max(SWEEP_GRACE_SECONDS, 2 * every))
        while True:
            await asyncio.sleep(every)
            try:
                await self.recover(older_than=grace)
                # This process's own turns that had to wait (a failure a retry can fix,
                # or another process held the user's claim), young or not, when due.
                for user_id in list(self._waiting):
                    await self.recover(user_id=user_id)
            except Exception:  # a bug in one sweep must not stop the next
                log.exception("memory_sweep_crashed")

    async def close(self, within: float) -> bool:
        """Finish queued work within ``within`` seconds, then stop and give up the claims
        held; False if work remains.

        Whatever is left stays pending in the journal and is recovered on the next start.
        """
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        finished = await self.drain(within)
        for lane in list(self._lanes.values()):
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
        left = self._queued_now()
        self._lanes.clear()
        self._queued.clear()
        for user_id in list(self._leases):  # the next process need not wait for them
            await self._release(user_id)
        if not finished:
            log.warning("memory_work_left_for_next_start", queued=left)
        return finished
