"""PostgresConversationStore: the turn journal and session summaries in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from companion.adapters.postgres._codec import (
    check_id,
    check_int,
    check_optional_text,
    check_text,
    check_time,
    dump_string_list,
    load_string_list,
)
from companion.adapters.postgres.database import PostgresDatabase
from companion.adapters.postgres.schema_json.rows import (
    CLAIM_MEMORY_WORK,
    claim_params,
    claimed_turns,
)
from companion.domain.errors import Conflict, InvalidInput, StoreError
from companion.domain.models import ConversationSummary, ConversationTurn, ParkedTurn, Role
from companion.domain.validation import park_reason, positive_limit
from companion.ports.conversation_store import ConversationStore

_SELECT_TURNS = "SELECT id, user_id, session_id, role, text, created_at FROM companion_turns"
_INSERT_TURN = (
    "INSERT INTO companion_turns (id, user_id, session_id, role, text, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_RECENT_TURNS = (
    "SELECT id, user_id, session_id, role, text, created_at FROM (SELECT seq, id, user_id,"
    " session_id, role, text, created_at FROM companion_turns WHERE user_id = $1"
    " ORDER BY seq DESC LIMIT $2) AS t ORDER BY seq"
)
_SELECT_SUMMARIES = (
    "SELECT id, user_id, session_id, summary, topics, open_threads, started_at, ended_at,"
    " turn_count, next_greeting FROM companion_summaries"
)
# The WHERE keeps another user's session untouched: no row comes back, and that is a
# Conflict. A summary id already used by another session violates the primary key.
_UPSERT_SUMMARY = (
    "INSERT INTO companion_summaries AS s (id, user_id, session_id, summary, topics,"
    " open_threads, started_at, ended_at, turn_count, next_greeting)"
    " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10)"
    " ON CONFLICT (session_id) DO UPDATE SET id = excluded.id, summary = excluded.summary,"
    " topics = excluded.topics, open_threads = excluded.open_threads,"
    " started_at = excluded.started_at, ended_at = excluded.ended_at,"
    " turn_count = excluded.turn_count, next_greeting = excluded.next_greeting"
    " WHERE s.user_id = excluded.user_id"
    " RETURNING 1"
)
_BY_RECENCY = "ORDER BY ended_at DESC, session_id DESC"
_ROLES = {role.value: role for role in Role}
_MAX_LIMIT = 2**63 - 1  # a bigint; larger limits mean the same: everything


class PostgresConversationStore(ConversationStore):
    """Conversation turns (in append order) and per-session summaries; one statement each."""

    def __init__(self, db: PostgresDatabase) -> None:
        """A store over an open pool; it does not own (or close) the pool."""
        self._db = db
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("conversation store is closed")

    async def append_turn(self, turn: ConversationTurn) -> None:
        """Append one turn; Conflict if its id was used before."""
        self._check_open()
        if not isinstance(turn, ConversationTurn):
            raise InvalidInput(f"expected a ConversationTurn, got {type(turn).__name__}")
        try:
            role = Role(turn.role).value
        except ValueError:
            raise InvalidInput(f"unknown turn role {turn.role!r}") from None
        turn_id = check_id(turn.id, what="turn id")
        try:
            await self._db.execute(
                _INSERT_TURN,
                turn_id,
                check_id(turn.user_id, what="user id"),
                check_id(turn.session_id, what="session id"),
                role,
                check_text(turn.text, what="turn text"),
                check_time(turn.created_at, what="created_at"),
            )
        except Conflict:
            raise Conflict(f"turn {turn_id} already exists") from None

    async def turns(self, user_id: UUID, session_id: UUID) -> list[ConversationTurn]:
        """The turns of one session of this user, oldest first."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        sid = check_id(session_id, what="session id")
        rows = await self._db.fetch(
            _SELECT_TURNS + " WHERE user_id = $1 AND session_id = $2 ORDER BY seq", uid, sid
        )
        return [_turn_from_row(row) for row in rows]

    async def recent_turns(self, user_id: UUID, limit: int) -> list[ConversationTurn]:
        """This user's last ``limit`` turns across sessions, oldest first."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        if not positive_limit(limit):
            return []
        rows = await self._db.fetch(
            _RECENT_TURNS,
            uid,
            min(limit, _MAX_LIMIT),
        )
        return [_turn_from_row(row) for row in rows]

    async def pending_turns(
        self, limit: int, user_id: UUID | None = None
    ) -> list[ConversationTurn]:
        """User turns whose memory work is not done yet and that are not parked, oldest
        first (of one user when given)."""
        self._check_open()
        if not positive_limit(limit):
            return []
        rows = await self._db.fetch(
            _SELECT_TURNS + " WHERE processed_at IS NULL AND role = 'user' AND parked_at IS NULL"
            " AND ($2::uuid IS NULL OR user_id = $2) ORDER BY seq LIMIT $1",
            min(limit, _MAX_LIMIT),
            None if user_id is None else check_id(user_id, what="user id"),
        )
        return [_turn_from_row(row) for row in rows]

    async def park_turn(self, user_id: UUID, turn_id: UUID, reason: str, when: datetime) -> None:
        """Set a pending user turn aside with why (the first reason stays)."""
        self._check_open()
        await self._db.execute(
            "UPDATE companion_turns SET parked_at = $3, park_reason = $4"
            " WHERE id = $2 AND user_id = $1 AND processed_at IS NULL AND role = 'user'"
            " AND parked_at IS NULL",
            check_id(user_id, what="user id"),
            check_id(turn_id, what="turn id"),
            check_time(when, what="when"),
            park_reason(reason),
        )

    async def parked_turns(self, user_id: UUID | None, limit: int) -> list[ParkedTurn]:
        """Parked turns, oldest first (of one user when given)."""
        self._check_open()
        if not positive_limit(limit):
            return []
        rows = await self._db.fetch(
            "SELECT id, user_id, session_id, role, text, created_at, parked_at, park_reason"
            " FROM companion_turns WHERE processed_at IS NULL AND role = 'user'"
            " AND parked_at IS NOT NULL"
            " AND ($2::uuid IS NULL OR user_id = $2) ORDER BY seq LIMIT $1",
            min(limit, _MAX_LIMIT),
            None if user_id is None else check_id(user_id, what="user id"),
        )
        return [ParkedTurn(_turn_from_row(row), row[7], row[6]) for row in rows]

    async def unpark_turns(self, user_id: UUID | None) -> int:
        """Put parked turns back in the pending ones; how many."""
        self._check_open()
        status = await self._db.execute(
            "UPDATE companion_turns SET parked_at = NULL, park_reason = NULL"
            " WHERE processed_at IS NULL AND role = 'user' AND parked_at IS NOT NULL"
            " AND ($1::uuid IS NULL OR user_id = $1)",
            None if user_id is None else check_id(user_id, what="user id"),
        )
        return int(status.rsplit(" ", 1)[-1])

    async def claim_user(
        self,
        user_id: UUID,
        owner: str,
        lease_seconds: float,
        limit: int = 1000,
        *,
        take_over: str | None = None,
    ) -> list[ConversationTurn] | None:
        """Take or renew the user's memory-work lease (``companion_claim_memory_work``, one
        statement); None when another owner's lease still runs by the database's clock."""
        self._check_open()
        params = claim_params(user_id, owner, lease_seconds, limit, take_over)
        answer = await self._db.fetchval(
            f"SELECT {CLAIM_MEMORY_WORK}($1, $2, $3, $4, $5)", *_claim_args(params)
        )
        return claimed_turns(answer)

    async def claim_holder(self, user_id: UUID) -> str | None:
        """Who holds an unexpired lease on the user's memory work, if anyone."""
        self._check_open()
        holder: str | None = await self._db.fetchval(
            "SELECT owner FROM companion_memory_claims"
            " WHERE user_id = $1 AND lease_until > clock_timestamp()",
            check_id(user_id, what="user id"),
        )
        return holder

    async def release_user(self, user_id: UUID, owner: str) -> None:
        """Give up ``owner``'s lease on the user's memory work."""
        self._check_open()
        params = claim_params(user_id, owner, 1.0, 0)
        await self._db.execute(
            "DELETE FROM companion_memory_claims WHERE user_id = $1 AND owner = $2",
            *_claim_args(params)[:2],
        )

    async def mark_processed(self, user_id: UUID, turn_id: UUID, when: datetime) -> None:
        """Record that the memory work for this turn is done (idempotent)."""
        self._check_open()
        await self._db.execute(
            "UPDATE companion_turns SET processed_at = $3"
            " WHERE id = $2 AND user_id = $1 AND processed_at IS NULL",
            check_id(user_id, what="user id"),
            check_id(turn_id, what="turn id"),
            check_time(when, what="when"),
        )

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every turn, summary and lease of this user in one transaction
        (migration 0009)."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        return int(await self._db.fetchval("SELECT companion_erase_conversations($1)", uid))

    async def save_summary(self, summary: ConversationSummary) -> None:
        """Insert or replace the summary of ``summary.session_id``.

        Conflict if that session's summary belongs to another user, or the summary's id
        is already used by another session's summary.
        """
        self._check_open()
        if not isinstance(summary, ConversationSummary):
            raise InvalidInput(f"expected a ConversationSummary, got {type(summary).__name__}")
        summary_id = check_id(summary.id, what="summary id")
        session_id = check_id(summary.session_id, what="session id")
        try:
            saved = await self._db.fetchval(
                _UPSERT_SUMMARY,
                summary_id,
                check_id(summary.user_id, what="user id"),
                session_id,
                check_text(summary.summary, what="summary text"),
                dump_string_list(summary.topics, what="summary topics"),
                dump_string_list(summary.open_threads, what="summary open threads"),
                check_time(summary.started_at, what="started_at"),
                check_time(summary.ended_at, what="ended_at"),
                check_int(summary.turn_count, what="turn count", low=0, high=2**31 - 1),
                check_optional_text(summary.next_greeting, what="next greeting"),
            )
        except Conflict:
            raise Conflict(f"summary {summary_id} already exists for another session") from None
        if saved is None:
            raise Conflict(f"session {session_id} belongs to another user")

    async def latest_summary(self, user_id: UUID) -> ConversationSummary | None:
        """The summary of this user's most recently ended session, or None."""
        found = await self.summaries(user_id, 1)
        return found[0] if found else None

    async def summaries(self, user_id: UUID, limit: int) -> list[ConversationSummary]:
        """This user's last ``limit`` summaries, newest first (by end time)."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        if not positive_limit(limit):
            return []
        rows = await self._db.fetch(
            _SELECT_SUMMARIES + " WHERE user_id = $1 " + _BY_RECENCY + " LIMIT $2",
            uid,
            min(limit, _MAX_LIMIT),
        )
        return [_summary_from_row(row) for row in rows]

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the pool stays open."""
        self._closed = True


def _claim_args(params: dict[str, Any]) -> tuple[Any, ...]:
    return (
        UUID(params["p_user_id"]),
        params["p_owner"],
        params["p_lease_seconds"],
        params["p_limit"],
        params["p_take_over"],
    )


def _turn_from_row(row: Any) -> ConversationTurn:
    return ConversationTurn(
        id=row[0],
        user_id=row[1],
        session_id=row[2],
        role=_ROLES.get(row[3]) or Role(row[3]),
        text=row[4],
        created_at=row[5],
    )


def _summary_from_row(row: Any) -> ConversationSummary:
    return ConversationSummary(
        id=row[0],
        user_id=row[1],
        session_id=row[2],
        summary=row[3],
        topics=load_string_list(row[4]),
        open_threads=load_string_list(row[5]),
        started_at=row[6],
        ended_at=row[7],
        turn_count=row[8],
        next_greeting=row[9],
    )
