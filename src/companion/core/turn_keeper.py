"""TurnKeeper: what is said while the store is unreachable is kept here, then sent.

The companion keeps answering when PostgreSQL or Supabase is down (the model needs no
database). A turn the store could not take is appended to the machine's spool before
the reply, so a process killed during the outage loses nothing it answered; the spool is
sent to the journal, in the order it was kept, when the store answers again (at a
session's start, by the background sweep, and before any recovery), and the turns'
memory work is then done as for any pending turn. Sending is idempotent: a turn the
store holds already (the write-behind buffer sent it) is simply taken out of the spool.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

import structlog

from companion.domain.errors import Conflict, InvalidInput, StoreError
from companion.domain.models import ConversationTurn
from companion.ports.conversation_store import ConversationStore
from companion.ports.turn_spool import TurnSpool

log = structlog.get_logger(__name__)

_BATCH = 200


class TurnKeeper:
    """The spool of this machine and the journal its turns go to."""

    def __init__(self, spool: TurnSpool, journal: ConversationStore) -> None:
        """``journal``: the conversation store that takes each turn at once (not a
        write-behind buffer: a turn leaves the spool only once it is stored)."""
        self._spool = spool
        self._journal = journal
        self._lock = asyncio.Lock()
        # Whether the spool may hold turns: unknown at first (another process may have
        # left some), then known from what this process kept and sent.
        self._maybe_waiting = True
        self.kept = 0
        self.sent = 0

    async def keep(self, turn: ConversationTurn) -> None:
        """Keep a turn the store could not take; it is on disk when this returns."""
        await self._spool.keep(turn)
        self._maybe_waiting = True
        self.kept += 1
        log.warning("turn_kept_on_this_machine", role=turn.role.value)

    async def waiting(self) -> int:
        """How many kept turns wait to be sent."""
        return await self._spool.count()

    async def send(self) -> int:
        """Send kept turns to the journal, oldest first, until none are left or the store
        fails; returns how many left the spool. Never raises for the store being down."""
        if not self._maybe_waiting:
            return 0
        async with self._lock:
            sent = 0
            while True:
                turns = await self._spool.oldest(_BATCH)
                if not turns:
                    self._maybe_waiting = False
                    break
                done, stopped = await self._send(turns)
                await self._spool.remove(done)
                sent += len(done)
                if stopped:
                    break
            if sent:
                self.sent += sent
                log.info("kept_turns_sent", turns=sent)
            return sent

    async def _send(self, turns: list[ConversationTurn]) -> tuple[list[UUID], bool]:
        done: list[UUID] = []
        for turn in turns:
            try:
                await self._journal.append_turn(turn)
            except Conflict:  # stored already (the write-behind buffer sent it): done
                done.append(turn.id)
                continue
            except InvalidInput as exc:  # the store will never take it: logged, let go
                log.error("kept_turn_refused", error=type(exc).__name__, turn_id=str(turn.id))
            except (StoreError, OSError, TimeoutError) as exc:
                log.warning("kept_turns_wait_for_the_store", error=type(exc).__name__)
                return done, True
            done.append(turn.id)
        return done, False
