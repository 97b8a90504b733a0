"""The ConversationStore port: turns of each session and the summaries of past sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from companion.domain.models import ConversationSummary, ConversationTurn, ParkedTurn


class ConversationStore(Protocol):
    """Stores conversation turns and session summaries, per user."""

    async def append_turn(self, turn: ConversationTurn) -> None:
        """Append one turn (its id must be new)."""
        ...

    async def turns(self, user_id: UUID, session_id: UUID) -> list[ConversationTurn]:
        """The turns of one session of this user, oldest first."""
        ...

    async def recent_turns(self, user_id: UUID, limit: int) -> list[ConversationTurn]:
        """This user's last ``limit`` turns across sessions, oldest first."""
        ...

    async def pending_turns(
        self, limit: int, user_id: UUID | None = None
    ) -> list[ConversationTurn]:
        """User turns whose memory work is not done yet and that are not parked, oldest
        first: of every user, or of ``user_id``.

        The turns table is the memory journal: a turn is appended before the reply and
        marked processed when its memories are saved, so nothing said is lost to a crash.
        """
        ...

    async def park_turn(self, user_id: UUID, turn_id: UUID, reason: str, when: datetime) -> None:
        """Set a pending user turn aside with why (``validation.park_reason``): its memory
        work failed in a way retrying cannot fix. It leaves ``pending_turns`` until
        unparked; parking it again keeps the first reason; a processed turn stays as it is.
        """
        ...

    async def parked_turns(self, user_id: UUID | None, limit: int) -> list[ParkedTurn]:
        """Parked turns, oldest first: of every user, or of ``user_id``."""
        ...

    async def unpark_turns(self, user_id: UUID | None) -> int:
        """Put parked turns back in ``pending_turns`` (of ``user_id``, or every user's);
        returns how many."""
        ...

    async def claim_user(
        self,
        user_id: UUID,
        owner: str,
        lease_seconds: float,
        limit: int = 1000,
        *,
        take_over: str | None = None,
    ) -> list[ConversationTurn] | None:
        """Take, or renew, the lease on this user's memory work for ``owner``, for
        ``lease_seconds``: the journal is a work queue shared by every process, and one
        claimant at a time works a user's turns, in the order they were said.

        None when another owner holds a lease that has not run out (nothing changes);
        else the user's pending turns as ``pending_turns(limit, user_id)`` gives them, read
        under the lease. A lease that ran out is taken over; the store's own clock decides.
        ``take_over`` names an owner known to be gone (its process died): its lease is
        taken over at once, if it still holds it.
        """
        ...

    async def claim_holder(self, user_id: UUID) -> str | None:
        """Who holds an unexpired lease on this user's memory work, if anyone."""
        ...

    async def release_user(self, user_id: UUID, owner: str) -> None:
        """Give up ``owner``'s lease on this user's memory work (no effect if another owner
        holds it, or none does)."""
        ...

    async def mark_processed(self, user_id: UUID, turn_id: UUID, when: datetime) -> None:
        """Record that the memory work for this turn of this user is done (idempotent)."""
        ...

    async def save_summary(self, summary: ConversationSummary) -> None:
        """Insert or replace the summary of ``summary.session_id``."""
        ...

    async def latest_summary(self, user_id: UUID) -> ConversationSummary | None:
        """The summary of this user's most recently ended session, or None."""
        ...

    async def summaries(self, user_id: UUID, limit: int) -> list[ConversationSummary]:
        """This user's last ``limit`` summaries, newest first."""
        ...

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every turn (the journal, parked turns), summary and memory-work lease
        of this user; how many rows there were. Idempotent; other users are untouched."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
