"""Write-behind: a conversation's writes leave in one call, with the search a turn makes.

On a networked database every statement is a round trip. A turn used to make several:
the journal entry, the search, the reply's entry, the processed mark, each memory, the
profile. Here the stores' writes are held per user as their final state (one per
memory, profile and summary; turns in order) and sent as one :class:`WriteBatch`:

- with the next search of that user (``candidates``), in the same call, so a turn's
  journal entry, the previous turn's memory work and the turn's retrieval cost one round
  trip, and the journal entry is stored before the reply, as before;
- before any read of that user the pending writes could change (a listing, a
  transcript), unless the pending writes answer it themselves (a memory by id or key,
  the profile);
- when the caller settles the user (:meth:`WriteBehind.flush`: the end of a session),
  after ``delay`` seconds of waiting, and at shutdown.

Nothing said is lost to a crash in between: a user turn is in the journal before the
reply, and its memory work is marked processed in the same batch as the memories it
wrote, so work lost with the process is done again by the next start's recovery. What
a crash can lose is bookkeeping: the companion's own reply line, access counts.

A batch the database refuses as a whole (a key taken by another process, say) is applied
write by write through the plain stores; a memory write that still fails keeps the
batch's turns pending, so recovery redoes their work with fresh reads. When the database
is unreachable, the writes stay pending and the error reaches the caller.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import structlog

from companion.adapters.postgres.write_batch import (
    MemoryWrite,
    Touch,
    TurnWrite,
    WriteBatch,
    WriteBatchStore,
)
from companion.domain.errors import NotFound, StoreUnavailable
from companion.domain.models import (
    Candidate,
    ConversationSummary,
    ConversationTurn,
    Embedding,
    Memory,
    MemoryCategory,
    MemoryQuery,
    ParkedTurn,
    Role,
    UserProfile,
)
from companion.ports.conversation_store import ConversationStore
from companion.ports.memory_store import MemoryStore
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class _Pending:
    """One user's writes not sent yet, folded to their final state."""

    since: float
    # memory id -> (inserted: not in the database yet, its newest state)
    memories: dict[UUID, tuple[bool, MemoryWrite]] = field(default_factory=dict)
    turns: dict[UUID, TurnWrite] = field(default_factory=dict)
    processed: dict[UUID, datetime] = field(default_factory=dict)
    touches: dict[UUID, tuple[datetime, int]] = field(default_factory=dict)  # latest, uses
    profile: UserProfile | None = None
    summaries: dict[UUID, ConversationSummary] = field(default_factory=dict)
    releases: dict[str, None] = field(default_factory=dict)  # owners giving up the claim

    def batch(self, user_id: UUID) -> WriteBatch:
        by_time: dict[datetime, list[UUID]] = {}
        for memory_id, (when, uses) in self.touches.items():
            by_time.setdefault(when, []).extend([memory_id] * uses)  # each use counts
        return WriteBatch(
            memory_updates=[w for inserted, w in self.memories.values() if not inserted],
            memory_inserts=[w for inserted, w in self.memories.values() if inserted],
            turns=list(self.turns.values()),
            processed=[(user_id, turn, when) for turn, when in self.processed.items()],
            touches=[Touch(user_id, tuple(ids), when) for when, ids in by_time.items()],
            profiles=[] if self.profile is None else [self.profile],
            summaries=list(self.summaries.values()),
            claim_releases=[(user_id, owner) for owner in self.releases],
        )

    def size(self) -> int:
        return (
            len(self.memories)
            + len(self.turns)
            + len(self.processed)
            + len(self.touches)
            + (self.profile is not None)
            + len(self.summaries)
            + len(self.releases)
        )


class WriteBehind:
    """The pending writes of every user of a process, and the calls that send them.

    ``memories``, ``conversations`` and ``profiles`` are the plain stores: reads go to
    them, and so does a batch the database refused as a whole, write by write.
    """

    def __init__(
        self,
        target: WriteBatchStore,
        *,
        memories: MemoryStore,
        conversations: ConversationStore,
        profiles: ProfileStore,
        delay: float = 10.0,
        max_pending: int = 500,
        coalesce_seconds: float = 0.25,
        key_directory_seconds: float | None = None,
        key_directory_users: int = 1000,
    ) -> None:
        self._target = target
        self.memories = memories
        self.conversations = conversations
        self.profiles = profiles
        self._delay = delay
        self._max_pending = max_pending
        self._pending: dict[UUID, _Pending] = {}
        # A user's lock lives while someone holds or waits on it (a long-lived worker
        # that has served 10,000 users keeps none of theirs); rider locks, taken without
        # `async with`, are held strongly until released.
        self._locks: weakref.WeakValueDictionary[UUID, asyncio.Lock] = weakref.WeakValueDictionary()
        self._held: dict[UUID, asyncio.Lock] = {}
        self._timer: asyncio.Task[None] | None = None
        # Users whose writes should leave with the next call of anyone (a session ended,
        # or they waited ``delay``), and who waits for them to be stored.
        self._due: dict[UUID, None] = {}
        self._waiters: dict[UUID, list[asyncio.Future[None]]] = {}
        self._coalesce = coalesce_seconds
        self._coalescer: asyncio.Task[None] | None = None
        # Per user: which slot keys are taken, and by which memory (loaded once, kept by
        # this process's writes; reloaded after a batch is refused, e.g. for a key another
        # process took, and after ``key_directory_seconds`` when set). A key it does not
        # hold needs no read to be known free.
        self._directory: OrderedDict[UUID, tuple[float, dict[str, UUID]]] = OrderedDict()
        # Per user: the keyed memories the last search returned, as they stood then and
        # as this process changed them since (what reconciling the turn's facts reads).
        self._seen: OrderedDict[UUID, dict[str, Memory]] = OrderedDict()
        self._directory_seconds = key_directory_seconds
        self._directory_users = key_directory_users
        self.writes_deferred = 0
        self.batches_alone = 0  # sent on their own: one statement each
        self.batches_with_search = 0  # sent with a search the turn made anyway
        self.batches_split = 0

    # -- stats ---------------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        """Writes deferred, the batches that carried them, and what waits now.

        ``writes_saved``: statements the writes did not cost (each write would have been
        one; a batch alone is one, a batch with a search costs nothing extra).
        """
        return {
            "writes_deferred": self.writes_deferred,
            "write_batches_alone": self.batches_alone,
            "write_batches_with_search": self.batches_with_search,
            "write_batches_split": self.batches_split,
            "writes_pending": sum(p.size() for p in self._pending.values()),
            "writes_saved": self.writes_deferred - self.batches_alone,
        }

    # -- queueing ------------------------------------------------------------------------

    def check(self, batch: WriteBatch) -> None:
        """InvalidInput now for a write the database could not take later."""
        self._target.check(batch)

    async def pending(self, user_id: UUID) -> _Pending | None:
        """This user's writes not sent yet, if any, once a send in flight is done (for
        reads answered from them, or unaffected by them)."""
        async with self._lock(user_id):
            return self._pending.get(user_id)

    async def defer(self, user_id: UUID, fold: Callable[[_Pending], None]) -> None:
        """Fold one write into the user's pending writes; send them when they pile up."""
        pending = self._pending.get(user_id)
        if pending is None:
            pending = self._pending[user_id] = _Pending(since=time.monotonic())
        fold(pending)
        self.writes_deferred += 1
        if pending.size() >= self._max_pending:
            await self.flush(user_id)
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(self._flush_when_due())

    # -- the key directory -----------------------------------------------------------------

    async def key_directory(self, user_id: UUID) -> dict[str, UUID]:
        """Which of the user's slot keys are taken in the database (and its pending writes)."""
        held = self._directory.get(user_id)
        now = time.monotonic()
        fresh = self._directory_seconds is None or (
            held is not None and now - held[0] < self._directory_seconds
        )
        if held is not None and fresh:
            self._directory.move_to_end(user_id)
            return held[1]
        keys = dict(await self.memories.keys(user_id))
        pending = self._pending.get(user_id)
        if pending is not None:  # writes not sent yet are part of what this process knows
            for _, write in pending.memories.values():
                _place(keys, write.memory)
        self._directory[user_id] = (now, keys)
        while len(self._directory) > self._directory_users:
            self._directory.popitem(last=False)
        return keys

    def seen(self, user_id: UUID, key: str) -> Memory | None:
        """The memory filling ``key`` as the user's last search returned it, if it did."""
        held = self._seen.get(user_id)
        return None if held is None else held.get(key)

    def _saw(self, user_id: UUID, found: builtins.list[Candidate]) -> builtins.list[Candidate]:
        self._seen[user_id] = {c.memory.key: c.memory for c in found if c.memory.key is not None}
        self._seen.move_to_end(user_id)
        while len(self._seen) > self._directory_users:
            self._seen.popitem(last=False)
        return found

    def noted(self, memory: Memory) -> None:
        """A memory's new state was written (or deferred): keep the directory true."""
        self.dropped(memory.user_id, memory.id)  # its key may have changed
        if memory.key is None:
            return
        held = self._directory.get(memory.user_id)
        if held is not None:
            held[1][memory.key] = memory.id
        seen = self._seen.get(memory.user_id)
        if seen is not None:
            seen[memory.key] = memory

    def dropped(self, user_id: UUID, memory_id: UUID) -> None:
        """A memory was deleted: its key is free."""
        held = self._directory.get(user_id)
        if held is not None:
            for key in [k for k, v in held[1].items() if v == memory_id]:
                del held[1][key]
        seen = self._seen.get(user_id)
        if seen is not None:
            for key in [k for k, m in seen.items() if m.id == memory_id]:
                del seen[key]

    def erased(self, user_id: UUID) -> None:
        """Every memory of this user was deleted: forget their keys and what was seen."""
        self._directory.pop(user_id, None)
        self._seen.pop(user_id, None)

    # -- sending -------------------------------------------------------------------------

    def _lock(self, user_id: UUID) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = self._locks[user_id] = asyncio.Lock()
        return lock

    def _release(self, rider: UUID) -> None:
        """Release a rider's lock taken by :meth:`_take_riders`."""
        self._held.pop(rider).release()

    async def flush(self, user_id: UUID) -> None:
        """Send this user's pending writes now (with other users' writes that are due);
        returns once any send of this user's writes in flight is done, too."""
        async with self._lock(user_id):
            await self._send(user_id, None)

    async def settle(self, user_id: UUID, *, everything: bool) -> None:
        """Send the user's journal entries now, or (``everything``) all their writes soon.

        A reply waits for its turn's journal entry only; when the turn's search carried
        it, this sends nothing (access counts the search recorded can wait). At the end
        of a session every write leaves with the next search of any user of this
        process, or within ``coalesce_seconds`` in one call with the writes of every
        other user settled meanwhile; this returns once they are stored.
        """
        pending = self._pending.get(user_id)
        if not everything:
            if pending is not None and pending.turns:
                await self.flush(user_id)
            return
        if pending is None:
            async with self._lock(user_id):  # a send of this user's writes in flight
                return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(user_id, []).append(waiter)
        self._due[user_id] = None
        if self._coalescer is None or self._coalescer.done():
            self._coalescer = asyncio.get_running_loop().create_task(self._send_due_soon())
        await waiter

    async def flush_all(self) -> None:
        """Send every user's pending writes (shutdown, recovery scans)."""
        for user_id in builtins.list(self._pending):
            self._due[user_id] = None
        await self._send_due()
        for user_id in builtins.list(self._pending):  # any whose lock was busy just now
            await self.flush(user_id)

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        """The user's pending writes and a search after them, in one call."""
        async with self._lock(user_id):
            return self._saw(user_id, await self._send(user_id, query))

    async def _send(self, user_id: UUID, query: MemoryQuery | None) -> builtins.list[Candidate]:
        """One call: the user's writes, those of other users that are due, then the search.

        The caller holds the user's lock; riders' locks are taken here without waiting
        (a user whose writes are being sent elsewhere stays for the next call).
        """
        self._due.pop(user_id, None)
        own = self._pending.pop(user_id, None)
        parts = ([] if own is None else [(user_id, own)]) + await self._take_riders()
        try:
            if not parts:
                return [] if query is None else await self.memories.candidates(user_id, query)
            return await self._apply(parts, user_id, query)
        finally:
            for rider, _ in parts:
                if rider != user_id:
                    self._release(rider)

    async def _take_riders(self) -> builtins.list[tuple[UUID, _Pending]]:
        riders = []
        for rider in builtins.list(self._due):
            lock = self._lock(rider)
            if lock.locked() or rider not in self._due:
                continue
            # Free: taken at once (a task about to take it goes first; it never waits
            # for a lock this task holds, so this cannot deadlock).
            await lock.acquire()
            self._held[rider] = lock
            self._due.pop(rider, None)
            pending = self._pending.pop(rider, None)
            if pending is None:  # sent meanwhile
                self._release(rider)
                self._resolve(rider, None)
                continue
            riders.append((rider, pending))
        return riders

    async def _apply(
        self,
        parts: builtins.list[tuple[UUID, _Pending]],
        user_id: UUID,
        query: MemoryQuery | None,
    ) -> builtins.list[Candidate]:
        batch = _combined([pending.batch(owner) for owner, pending in parts])
        try:
            if query is None:
                self.batches_alone += 1
                await self._target.apply(batch)
                found: builtins.list[Candidate] = []
            else:
                self.batches_with_search += 1
                found = await self._target.apply_then_candidates(batch, user_id, query)
        except (StoreUnavailable, asyncio.CancelledError) as exc:
            # Unreachable, or the caller gave up mid-call: whether the batch landed is
            # unknown, so it is sent again (a repeat is refused as a whole and applied
            # write by write; its turns' work is then redone by recovery, idempotently).
            for owner, pending in parts:
                self._requeue(owner, pending)
                if isinstance(exc, StoreUnavailable):
                    self._resolve(owner, exc)
                elif owner in self._waiters:
                    self._due[owner] = None  # still settling: the timer sends it
            raise
        except Exception as exc:
            log.warning("write_batch_refused", error=type(exc).__name__, writes=len(batch))
            self.batches_split += 1
            for owner, _ in parts:
                self._directory.pop(owner, None)  # e.g. a key another process took
                self._seen.pop(owner, None)
            try:
                kept = await self._apply_one_by_one(parts)
            except StoreUnavailable as down:
                # Down half-way: every write goes back (a batch sent again is idempotent).
                for owner, pending in parts:
                    self._requeue(owner, pending)
                    self._resolve(owner, down)
                raise
            unsent = StoreUnavailable("a journal entry could not be stored; it is kept")
            for owner, pending in kept:
                self._requeue(owner, pending)
                self._resolve(owner, unsent)
            if any(owner == user_id for owner, _ in kept):
                raise unsent from None
            found = [] if query is None else await self.memories.candidates(user_id, query)
        for owner, _ in parts:
            self._resolve(owner, None)
        return found

    def _resolve(self, user_id: UUID, error: BaseException | None) -> None:
        for waiter in self._waiters.pop(user_id, []):
            if not waiter.done():
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(error)

    async def _send_due(self) -> None:
        """The writes of every user that is due and not being sent, in one call."""
        parts = await self._take_riders()
        if not parts:
            return
        try:
            await self._apply(parts, parts[0][0], None)
        finally:
            for owner, _ in parts:
                self._release(owner)

    async def _send_due_soon(self) -> None:
        while self._due:
            await asyncio.sleep(self._coalesce)
            try:
                await self._send_due()
            except Exception as exc:  # kept pending, waiters told; the timer retries
                log.warning("write_behind_flush_failed", error=type(exc).__name__)
                return

    def _requeue(self, user_id: UUID, pending: _Pending) -> None:
        """Put writes back in front of any made meanwhile (those are newer)."""
        newer = self._pending.pop(user_id, None)
        if newer is not None:
            for memory_id, (inserted, write) in newer.memories.items():
                older = pending.memories.get(memory_id)
                if older is not None:
                    inserted, write = older[0], _merged(older[1], write)
                pending.memories[memory_id] = (inserted, write)
            pending.turns.update(newer.turns)
            pending.processed.update(newer.processed)
            for memory_id, (when, uses) in newer.touches.items():
                latest, before = pending.touches.get(memory_id, (when, 0))
                pending.touches[memory_id] = (max(latest, when), before + uses)
            pending.profile = newer.profile or pending.profile
            pending.summaries.update(newer.summaries)
            pending.releases.update(newer.releases)
        self._pending[user_id] = pending

    async def _apply_one_by_one(
        self, parts: builtins.list[tuple[UUID, _Pending]]
    ) -> builtins.list[tuple[UUID, _Pending]]:
        """Each owner's writes, one by one; the journal entries that could not be stored,
        kept by owner (never dropped). StoreUnavailable ends it: the caller keeps all."""
        kept: builtins.list[tuple[UUID, _Pending]] = []
        for owner, pending in parts:
            batch = pending.batch(owner)
            memory_failed = False
            for write in batch.memory_updates:
                memory_failed |= not await _attempt(
                    self.memories.update(write.memory, write.embedding)
                )
            for write in batch.memory_inserts:
                memory_failed |= not await _attempt(
                    self.memories.add(write.memory, write.embedding)
                )
            unsent: dict[UUID, TurnWrite] = {}
            for turn in batch.turns:
                if not await _attempt(self.conversations.append_turn(turn.turn)):
                    unsent[turn.turn.id] = turn
                    continue
                if turn.processed_at is not None and not memory_failed:
                    await _attempt(
                        self.conversations.mark_processed(
                            turn.turn.user_id, turn.turn.id, turn.processed_at
                        )
                    )
            if not memory_failed:  # else recovery redoes these turns' work with fresh reads
                for user_id, turn_id, when in batch.processed:
                    await _attempt(self.conversations.mark_processed(user_id, turn_id, when))
            for touch in batch.touches:
                await _attempt(self.memories.touch(touch.user_id, touch.memory_ids, touch.when))
            for profile in batch.profiles:
                await _attempt(self.profiles.save(profile))
            for summary in batch.summaries:
                await _attempt(self.conversations.save_summary(summary))
            for user_id, claimant in batch.claim_releases:
                await _attempt(self.conversations.release_user(user_id, claimant))
            if unsent:
                kept.append((owner, _Pending(since=time.monotonic(), turns=unsent)))
        return kept

    async def _flush_when_due(self) -> None:
        while self._pending:
            now = time.monotonic()
            oldest = min(p.since for p in self._pending.values())
            # At least a moment: a user whose writes are being sent elsewhere stays due.
            await asyncio.sleep(max(oldest + self._delay - now, 0.01))
            now = time.monotonic()
            for user_id, pending in builtins.list(self._pending.items()):
                if pending.since + self._delay <= now:
                    self._due[user_id] = None
            try:
                await self._send_due()
            except Exception as exc:  # kept pending (or split); tried again later
                log.warning("write_behind_flush_failed", error=type(exc).__name__)
                await asyncio.sleep(self._delay)

    async def close(self) -> None:
        """Send everything pending and stop the timers.

        When the database cannot take them, they are logged as unsent and dropped, so
        shutdown goes on. A user turn is among them only if its own turn already failed
        for that reason (each is sent before its reply); a turn whose memory work is
        among them stays pending in the journal and is redone by recovery.
        """
        for task in (self._timer, self._coalescer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            await self.flush_all()
        except Exception as exc:
            unsent = sum(p.size() for p in self._pending.values())
            log.error("write_behind_unsent", writes=unsent, error=type(exc).__name__)
            self._pending.clear()


async def _attempt(write: Awaitable[object]) -> bool:
    """One write of a refused batch: False if refused (the caller keeps what matters),
    StoreUnavailable raised (the database is gone: nothing is dropped)."""
    try:
        await write
    except NotFound:
        return True  # an update of a memory deleted meanwhile: the delete won
    except StoreUnavailable:
        raise
    except Exception as exc:
        log.error("deferred_write_refused", error=type(exc).__name__)
        return False
    return True


def _combined(batches: builtins.list[WriteBatch]) -> WriteBatch:
    """Several users' batches as one (their rows are disjoint; each keeps its order)."""
    if len(batches) == 1:
        return batches[0]
    merged = WriteBatch()
    for batch in batches:
        merged.memory_deletes += batch.memory_deletes
        merged.memory_updates += batch.memory_updates
        merged.memory_inserts += batch.memory_inserts
        merged.turns += batch.turns
        merged.processed += batch.processed
        merged.touches += batch.touches
        merged.profiles += batch.profiles
        merged.summaries += batch.summaries
        merged.claim_releases += batch.claim_releases
    return merged


def _place(keys: dict[str, UUID], memory: Memory) -> None:
    for key in [k for k, v in keys.items() if v == memory.id and k != memory.key]:
        del keys[key]
    if memory.key is not None:
        keys[memory.key] = memory.id


def _merged(previous: MemoryWrite | None, write: MemoryWrite) -> MemoryWrite:
    """A later state of a memory; its vector stays when its text did not change."""
    same_text = previous is not None and write.memory.text == previous.memory.text
    if previous is not None and same_text and write.embedding is None:
        return MemoryWrite(write.memory, previous.embedding)
    return write


# -- the stores ----------------------------------------------------------------------------


class WriteBehindMemoryStore(MemoryStore):
    """A MemoryStore whose adds, updates and touches wait for the user's next batch."""

    def __init__(self, writes: WriteBehind) -> None:
        self._writes = writes
        self._store = writes.memories

    def stats(self) -> dict[str, object]:
        """The write-behind figures, with the read batcher's when the store has one."""
        inner = getattr(self._store, "stats", None)
        figures: dict[str, object] = dict(inner()) if callable(inner) else {}
        reads_saved = figures.get("queries_saved", 0)
        figures.update(self._writes.stats())
        writes_saved = self._writes.writes_deferred - self._writes.batches_alone
        figures["queries_saved"] = (
            reads_saved if isinstance(reads_saved, int) else 0
        ) + writes_saved
        return figures

    async def add(self, memory: Memory, embedding: Embedding | None) -> None:
        """Deferred: a taken id or key surfaces when the batch is sent (see the module)."""
        write = MemoryWrite(memory, embedding)
        self._writes.check(WriteBatch(memory_inserts=[write]))

        def fold(p: _Pending) -> None:
            p.memories[memory.id] = (True, write)

        await self._writes.defer(memory.user_id, fold)
        self._writes.noted(memory)

    async def update(self, memory: Memory, embedding: Embedding | None) -> None:
        """Deferred: an update of a memory that is gone by then is skipped (a delete won)."""
        write = MemoryWrite(memory, embedding)
        self._writes.check(WriteBatch(memory_updates=[write]))

        def fold(p: _Pending) -> None:
            p.touches.pop(memory.id, None)  # the new state replaces the row, counts too
            before = p.memories.get(memory.id)
            if before is None:
                p.memories[memory.id] = (False, write)
            else:
                p.memories[memory.id] = (before[0], _merged(before[1], write))

        await self._writes.defer(memory.user_id, fold)
        self._writes.noted(memory)

    async def delete(self, user_id: UUID, memory_id: UUID) -> bool:
        await self._writes.flush(user_id)
        existed = await self._store.delete(user_id, memory_id)
        self._writes.dropped(user_id, memory_id)
        return existed

    async def erase_user(self, user_id: UUID) -> int:
        # The pending writes land first, so none of them can arrive after the erasure.
        await self._writes.flush(user_id)
        try:
            return await self._store.erase_user(user_id)
        finally:
            self._writes.erased(user_id)

    async def set_embedding(self, user_id: UUID, memory_id: UUID, embedding: Embedding) -> None:
        await self._writes.flush(user_id)
        await self._store.set_embedding(user_id, memory_id, embedding)

    async def touch(self, user_id: UUID, memory_ids: Sequence[UUID], when: datetime) -> None:
        if not memory_ids:
            return

        self._writes.check(WriteBatch(touches=[Touch(user_id, tuple(memory_ids), when)]))

        def fold(p: _Pending) -> None:
            for memory_id in memory_ids:
                latest, uses = p.touches.get(memory_id, (when, 0))
                p.touches[memory_id] = (max(latest, when), uses + 1)

        await self._writes.defer(user_id, fold)

    async def get(self, user_id: UUID, memory_id: UUID) -> Memory | None:
        pending = await self._writes.pending(user_id)
        if pending is not None and memory_id in pending.memories:
            return pending.memories[memory_id][1].memory
        return await self._store.get(user_id, memory_id)

    async def find_by_key(self, user_id: UUID, key: str) -> Memory | None:
        pending = await self._writes.pending(user_id)
        if pending is not None:
            for _, write in reversed(pending.memories.values()):
                if write.memory.key == key:
                    return write.memory
        # The directory follows pending writes too: a key it holds is filled by a memory
        # whose stored row is current (a pending one was answered above).
        if key not in await self._writes.key_directory(user_id):
            return None  # no memory of this user fills it: nothing to read
        seen = self._writes.seen(user_id, key)
        if seen is not None:  # the turn's own search returned it (a fact restated)
            return seen
        return await self._store.find_by_key(user_id, key)

    async def keys(self, user_id: UUID) -> dict[str, UUID]:
        await self._writes.flush(user_id)
        return await self._store.keys(user_id)

    async def list(
        self,
        user_id: UUID,
        *,
        category: MemoryCategory | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        await self._writes.flush(user_id)
        return await self._store.list(user_id, category=category, limit=limit, offset=offset)

    async def count(self, user_id: UUID) -> int:
        await self._writes.flush(user_id)
        return await self._store.count(user_id)

    async def candidates(self, user_id: UUID, query: MemoryQuery) -> builtins.list[Candidate]:
        return await self._writes.candidates(user_id, query)

    async def embedding_models(self, user_id: UUID) -> dict[str | None, int]:
        await self._writes.flush(user_id)
        return await self._store.embedding_models(user_id)

    async def close(self) -> None:
        await self._writes.close()
        await self._store.close()


class WriteBehindConversationStore(ConversationStore):
    """A ConversationStore whose journal entries, marks and summaries wait for a batch."""

    def __init__(self, writes: WriteBehind) -> None:
        self._writes = writes
        self._store = writes.conversations

    async def append_turn(self, turn: ConversationTurn) -> None:
        self._writes.check(WriteBatch(turns=[TurnWrite(turn)]))

        def fold(p: _Pending) -> None:
            p.turns[turn.id] = TurnWrite(turn)

        await self._writes.defer(turn.user_id, fold)

    async def mark_processed(self, user_id: UUID, turn_id: UUID, when: datetime) -> None:
        self._writes.check(WriteBatch(processed=[(user_id, turn_id, when)]))

        def fold(p: _Pending) -> None:
            queued = p.turns.get(turn_id)
            if queued is None:
                p.processed.setdefault(turn_id, when)
            elif queued.processed_at is None:
                p.turns[turn_id] = replace(queued, processed_at=when)

        await self._writes.defer(user_id, fold)

    async def save_summary(self, summary: ConversationSummary) -> None:
        self._writes.check(WriteBatch(summaries=[summary]))

        def fold(p: _Pending) -> None:
            p.summaries[summary.session_id] = summary

        await self._writes.defer(summary.user_id, fold)

    async def turns(self, user_id: UUID, session_id: UUID) -> list[ConversationTurn]:
        return await self._after_flush(user_id, lambda: self._store.turns(user_id, session_id))

    async def recent_turns(self, user_id: UUID, limit: int) -> list[ConversationTurn]:
        return await self._after_flush(user_id, lambda: self._store.recent_turns(user_id, limit))

    async def pending_turns(
        self, limit: int, user_id: UUID | None = None
    ) -> list[ConversationTurn]:
        if user_id is None:
            await self._writes.flush_all()
            return await self._store.pending_turns(limit)
        return await self._after_flush(user_id, lambda: self._store.pending_turns(limit, user_id))

    async def park_turn(self, user_id: UUID, turn_id: UUID, reason: str, when: datetime) -> None:
        # Rare, and its journal entry may still be here: send the user's writes, then park.
        await self._after_flush(
            user_id, lambda: self._store.park_turn(user_id, turn_id, reason, when)
        )

    async def parked_turns(self, user_id: UUID | None, limit: int) -> list[ParkedTurn]:
        return await self._store.parked_turns(user_id, limit)

    async def claim_user(
        self,
        user_id: UUID,
        owner: str,
        lease_seconds: float,
        limit: int = 1000,
        *,
        take_over: str | None = None,
    ) -> list[ConversationTurn] | None:
        # The pending turns it reads are the journal's as this process's writes not sent
        # yet will make it: their processed marks taken off, their user turns added. A
        # release of the same claim not sent yet must not undo this claim when it leaves.
        waiting = await self._writes.pending(user_id)
        if waiting is not None:
            waiting.releases.pop(owner, None)
        claimed = await self._store.claim_user(
            user_id, owner, lease_seconds, limit, take_over=take_over
        )
        if claimed is None or waiting is None:
            return claimed
        done = set(waiting.processed)
        done.update(t for t, w in waiting.turns.items() if w.processed_at is not None)
        stored = {turn.id for turn in claimed}
        unsent = [
            w.turn
            for w in waiting.turns.values()
            if w.turn.role is Role.USER and w.processed_at is None and w.turn.id not in stored
        ]
        return [turn for turn in claimed if turn.id not in done] + unsent

    async def claim_holder(self, user_id: UUID) -> str | None:
        return await self._store.claim_holder(user_id)

    async def release_user(self, user_id: UUID, owner: str) -> None:
        # Rides with the user's next batch (a session's end sends one); until it lands,
        # the claim stays this process's, which is what it would be if it had expired.
        self._writes.check(WriteBatch(claim_releases=[(user_id, owner)]))

        def fold(p: _Pending) -> None:
            p.releases[owner] = None

        await self._writes.defer(user_id, fold)

    async def unpark_turns(self, user_id: UUID | None) -> int:
        return await self._store.unpark_turns(user_id)

    async def latest_summary(self, user_id: UUID) -> ConversationSummary | None:
        return await self._after_flush(user_id, lambda: self._store.latest_summary(user_id))

    async def summaries(self, user_id: UUID, limit: int) -> list[ConversationSummary]:
        return await self._after_flush(user_id, lambda: self._store.summaries(user_id, limit))

    async def erase_user(self, user_id: UUID) -> int:
        await self._writes.flush(user_id)  # nothing pending may land after the erasure
        return await self._store.erase_user(user_id)

    async def _after_flush(self, user_id: UUID, read: Callable[[], Awaitable[T]]) -> T:
        # Only the journal and summaries change what these read; a pending profile or
        # memory write (a session's start records the user as seen) can wait.
        pending = await self._writes.pending(user_id)
        if pending is not None and (pending.turns or pending.processed or pending.summaries):
            await self._writes.flush(user_id)
        return await read()

    async def close(self) -> None:
        await self._writes.close()
        await self._store.close()


class WriteBehindProfileStore(ProfileStore):
    """A ProfileStore whose saves wait for the user's next batch."""

    def __init__(self, writes: WriteBehind) -> None:
        self._writes = writes
        self._store = writes.profiles

    async def get(self, user_id: UUID) -> UserProfile | None:
        pending = await self._writes.pending(user_id)
        if pending is not None and pending.profile is not None:
            return pending.profile
        return await self._store.get(user_id)

    async def save(self, profile: UserProfile) -> None:
        self._writes.check(WriteBatch(profiles=[profile]))

        def fold(p: _Pending) -> None:
            p.profile = profile

        await self._writes.defer(profile.user_id, fold)

    async def delete(self, user_id: UUID) -> bool:
        await self._writes.flush(user_id)
        return await self._store.delete(user_id)

    async def close(self) -> None:
        await self._writes.close()
        await self._store.close()
