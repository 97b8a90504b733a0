"""The ConversationStore port: turns of each session and the summaries of past sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from companion.domain.models import ConversationSummary, ConversationTurn


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

    async def pending_turns(self, limit: int) -> list[ConversationTurn]:
        """User turns of any user whose memory work is not done yet, oldest first.

        The turns table is the memory journal: a turn is appended before the reply and
        marked processed when its memories are saved, so nothing said is lost to a crash.
        """
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

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
