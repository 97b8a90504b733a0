"""InMemoryConversationStore: turns and summaries in lists (tests and fallback)."""

from __future__ import annotations

import time
from datetime import datetime
from uuid import UUID

from companion.domain.errors import Conflict, StoreError
from companion.domain.models import ConversationSummary, ConversationTurn, ParkedTurn, Role
from companion.domain.validation import lease_terms, park_reason, positive_limit, require_aware
from companion.ports.conversation_store import ConversationStore


class InMemoryConversationStore(ConversationStore):
    """Conversations in process memory: same contract as the durable stores, lost on exit."""

    def __init__(self) -> None:
        self._turns: list[ConversationTurn] = []
        self._turn_ids: set[UUID] = set()
        self._summaries: dict[UUID, ConversationSummary] = {}
        self._processed: set[UUID] = set()
        self._parked: dict[UUID, tuple[str, datetime]] = {}
        self._leases: dict[UUID, tuple[str, float]] = {}  # user -> owner, monotonic deadline
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("conversation store is closed")

    async def append_turn(self, turn: ConversationTurn) -> None:
        self._check_open()
        require_aware(turn.created_at, what="created_at")
        if turn.id in self._turn_ids:
            raise Conflict(f"turn {turn.id} already exists")
        self._turn_ids.add(turn.id)
        self._turns.append(turn)

    async def turns(self, user_id: UUID, session_id: UUID) -> list[ConversationTurn]:
        self._check_open()
        return [t for t in self._turns if t.user_id == user_id and t.session_id == session_id]

    async def recent_turns(self, user_id: UUID, limit: int) -> list[ConversationTurn]:
        self._check_open()
        mine = [t for t in self._turns if t.user_id == user_id]
        return mine[-limit:] if limit > 0 else []

    def _pending(self, user_id: UUID | None) -> list[ConversationTurn]:
        return [
            t
            for t in self._turns
            if t.role is Role.USER
            and t.id not in self._processed
            and (user_id is None or t.user_id == user_id)
        ]

    async def pending_turns(
        self, limit: int, user_id: UUID | None = None
    ) -> list[ConversationTurn]:
        self._check_open()
        if not positive_limit(limit):
            return []
        return [t for t in self._pending(user_id) if t.id not in self._parked][:limit]

    async def park_turn(self, user_id: UUID, turn_id: UUID, reason: str, when: datetime) -> None:
        self._check_open()
        require_aware(when, what="when")
        why = park_reason(reason)
        if any(t.id == turn_id for t in self._pending(user_id)):
            self._parked.setdefault(turn_id, (why, when))

    async def parked_turns(self, user_id: UUID | None, limit: int) -> list[ParkedTurn]:
        self._check_open()
        if not positive_limit(limit):
            return []
        parked = [
            ParkedTurn(t, *self._parked[t.id])
            for t in self._pending(user_id)
            if t.id in self._parked
        ]
        return parked[:limit]

    async def unpark_turns(self, user_id: UUID | None) -> int:
        self._check_open()
        back = [t.id for t in self._pending(user_id) if t.id in self._parked]
        for turn_id in back:
            del self._parked[turn_id]
        return len(back)

    async def claim_user(
        self,
        user_id: UUID,
        owner: str,
        lease_seconds: float,
        limit: int = 1000,
        *,
        take_over: str | None = None,
    ) -> list[ConversationTurn] | None:
        self._check_open()
        owner, seconds = lease_terms(owner, lease_seconds)
        gone = None if take_over is None else lease_terms(take_over, 1.0)[0]
        now = time.monotonic()
        held = self._leases.get(user_id)
        if held is not None and held[0] not in (owner, gone) and held[1] > now:
            return None
        self._leases[user_id] = (owner, now + seconds)
        return await self.pending_turns(limit, user_id)

    async def claim_holder(self, user_id: UUID) -> str | None:
        self._check_open()
        held = self._leases.get(user_id)
        return held[0] if held is not None and held[1] > time.monotonic() else None

    async def release_user(self, user_id: UUID, owner: str) -> None:
        self._check_open()
        owner, _ = lease_terms(owner, 1.0)
        held = self._leases.get(user_id)
        if held is not None and held[0] == owner:
            del self._leases[user_id]

    async def mark_processed(self, user_id: UUID, turn_id: UUID, when: datetime) -> None:
        self._check_open()
        require_aware(when, what="when")
        if any(t.id == turn_id and t.user_id == user_id for t in self._turns):
            self._processed.add(turn_id)

    async def erase_user(self, user_id: UUID) -> int:
        self._check_open()
        theirs = {t.id for t in self._turns if t.user_id == user_id}
        self._turns = [t for t in self._turns if t.user_id != user_id]
        self._turn_ids -= theirs
        self._processed -= theirs
        for turn_id in theirs:
            self._parked.pop(turn_id, None)
        sessions = [k for k, s in self._summaries.items() if s.user_id == user_id]
        for session_id in sessions:
            del self._summaries[session_id]
        lease = 1 if self._leases.pop(user_id, None) is not None else 0
        return len(theirs) + len(sessions) + lease

    async def save_summary(self, summary: ConversationSummary) -> None:
        self._check_open()
        require_aware(summary.started_at, what="started_at")
        require_aware(summary.ended_at, what="ended_at")
        existing = self._summaries.get(summary.session_id)
        if existing is not None and existing.user_id != summary.user_id:
            raise Conflict(f"session {summary.session_id} belongs to another user")
        if any(
            s.id == summary.id and s.session_id != summary.session_id
            for s in self._summaries.values()
        ):
            raise Conflict(f"summary {summary.id} already exists for another session")
        self._summaries[summary.session_id] = summary

    def _by_recency(self, user_id: UUID) -> list[ConversationSummary]:
        mine = [s for s in self._summaries.values() if s.user_id == user_id]
        return sorted(mine, key=lambda s: (s.ended_at, str(s.session_id)), reverse=True)

    async def latest_summary(self, user_id: UUID) -> ConversationSummary | None:
        self._check_open()
        ordered = self._by_recency(user_id)
        return ordered[0] if ordered else None

    async def summaries(self, user_id: UUID, limit: int) -> list[ConversationSummary]:
        self._check_open()
        return self._by_recency(user_id)[: max(limit, 0)]

    async def close(self) -> None:
        self._closed = True
