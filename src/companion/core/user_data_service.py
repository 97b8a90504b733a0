"""UserDataService: a user's whole record, to take away (export) or to delete (erase)."""

from __future__ import annotations

from uuid import UUID

import structlog

from companion.core.cache_aside import (
    greeting_key,
    profile_key,
    recent_memories_key,
    session_closed_key,
)
from companion.domain.errors import Conflict
from companion.domain.models import UserErased, UserExport
from companion.ports.cache import Cache
from companion.ports.clock import Clock
from companion.ports.conversation_store import ConversationStore
from companion.ports.memory_store import MemoryStore
from companion.ports.profile_store import ProfileStore
from companion.ports.turn_spool import TurnSpool

log = structlog.get_logger(__name__)

# "All of them" for the stores' limits: every backend takes a 64-bit limit.
_ALL = 2**62
# How long the erasure holds the user's memory-work lease (it gives it up when done).
_LEASE_SECONDS = 120.0


class UserDataService:
    """Export and erasure of one user, across every store, the cache and the spool.

    Erasure takes the user's memory-work lease first, so no worker of any process is
    writing memories for them meanwhile; a lease held by another process is a Conflict,
    and nothing is deleted. Each store deletes its rows in one transaction; should a
    store fail part way, the error says so and running the erasure again finishes it
    (every step is idempotent). A session of that user still going on in another process
    keeps what it says after the erasure: erase a user who is not talking.
    """

    def __init__(
        self,
        memories: MemoryStore,
        conversations: ConversationStore,
        profiles: ProfileStore,
        cache: Cache,
        clock: Clock,
        owner: str,
        spool: TurnSpool | None = None,
    ) -> None:
        self._memories = memories
        self._conversations = conversations
        self._profiles = profiles
        self._cache = cache
        self._clock = clock
        self._owner = owner
        self._spool = spool

    async def export(self, user_id: UUID) -> UserExport:
        """Everything held of this user (profile, memories with history, turns,
        summaries, parked turns); an unknown user exports empty."""
        exported_at = self._clock.now()
        return UserExport(
            user_id=user_id,
            exported_at=exported_at,
            profile=await self._profiles.get(user_id),
            memories=tuple(reversed(await self._memories.list(user_id))),  # oldest first
            turns=tuple(await self._conversations.recent_turns(user_id, _ALL)),
            summaries=tuple(await self._conversations.summaries(user_id, _ALL)),
            parked=tuple(await self._conversations.parked_turns(user_id, _ALL)),
        )

    async def erase(self, user_id: UUID) -> UserErased:
        """Delete every record of this user: memories (their vectors and index entries),
        turns, summaries, the lease, the profile, the cache entries, spooled turns.
        Other users are untouched. Conflict while another process works their memory."""
        claimed = await self._conversations.claim_user(user_id, self._owner, _LEASE_SECONDS, 1)
        if claimed is None:
            holder = await self._conversations.claim_holder(user_id)
            raise Conflict(
                f"user {user_id}'s memory work is in progress in another process"
                f" ({holder or 'unknown'}); nothing was erased: try again when it is done"
            )
        try:
            # The spool first: a turn waiting there must not reach the store afterwards.
            spooled = await self._erase_spooled(user_id)
            memories = await self._memories.erase_user(user_id)
            profile = await self._profiles.delete(user_id)
            # Last, the journal: the lease goes with it (not counted: it was this one's).
            rows = max(0, await self._conversations.erase_user(user_id) - 1)
        except BaseException:
            await self._conversations.release_user(user_id, self._owner)
            raise
        cached = await self._cache.delete(
            profile_key(user_id),
            greeting_key(user_id),
            session_closed_key(user_id),
            recent_memories_key(user_id),
        )
        erased = UserErased(
            user_id=user_id,
            memories=memories,
            conversation_rows=rows,
            profile=profile,
            cache_entries=cached,
            spooled_turns=spooled,
        )
        log.info(
            "user_erased",
            memories=memories,
            conversation_rows=rows,
            profile=profile,
            spooled_turns=spooled,
        )
        return erased

    async def _erase_spooled(self, user_id: UUID) -> int:
        if self._spool is None:
            return 0
        waiting = await self._spool.oldest(max(await self._spool.count(), 1))
        theirs = [turn.id for turn in waiting if turn.user_id == user_id]
        if theirs:
            await self._spool.remove(theirs)
        return len(theirs)
