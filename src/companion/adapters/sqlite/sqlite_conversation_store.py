"""SqliteConversationStore: conversation turns and session summaries in SQLite."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from typing import Any
from uuid import UUID

from companion.adapters.sqlite._codec import (
    check_optional_text,
    check_text,
    dump_string_list,
    from_micros,
    id_text,
    load_string_list,
    to_micros,
)
from companion.adapters.sqlite.database import SqliteDatabase
from companion.domain.errors import Conflict, InvalidInput, StoreError
from companion.domain.models import ConversationSummary, ConversationTurn, ParkedTurn, Role
from companion.domain.validation import lease_terms, park_reason, positive_limit
from companion.ports.conversation_store import ConversationStore

_SELECT_TURNS = "SELECT id, user_id, session_id, role, text, created_at FROM conversation_turns"
_INSERT_TURN = (
    "INSERT INTO conversation_turns (id, user_id, session_id, role, text, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SELECT_SUMMARIES = (
    "SELECT id, user_id, session_id, summary, topics, open_threads, started_at, ended_at,"
    " turn_count, next_greeting FROM conversation_summaries"
)
_UPSERT_SUMMARY = (
    "INSERT INTO conversation_summaries (id, user_id, session_id, summary, topics,"
    " open_threads, started_at, ended_at, turn_count, next_greeting)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (session_id) DO UPDATE SET id = excluded.id, summary = excluded.summary,"
    " topics = excluded.topics, open_threads = excluded.open_threads,"
    " started_at = excluded.started_at, ended_at = excluded.ended_at,"
    " turn_count = excluded.turn_count, next_greeting = excluded.next_greeting"
)
# Newest first; the session id breaks ties between sessions that ended at the same time.
_BY_RECENCY = "ORDER BY ended_at DESC, session_id DESC"


class SqliteConversationStore(ConversationStore):
    """Conversation turns (in append order) and per-session summaries in SQLite."""

    def __init__(self, db: SqliteDatabase) -> None:
        """A store over an open database; it does not own (or close) the database."""
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
        params = (
            id_text(turn.id, what="turn id"),
            id_text(turn.user_id, what="user id"),
            id_text(turn.session_id, what="session id"),
            role,
            check_text(turn.text, what="turn text"),
            to_micros(turn.created_at, what="created_at"),
        )
        await self._db.write(_append_turn, params)

    async def turns(self, user_id: UUID, session_id: UUID) -> list[ConversationTurn]:
        """The turns of one session of this user, oldest first."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        sid = id_text(session_id, what="session id")
        rows = await self._db.run(_session_turns, uid, sid)
        return [_turn_from_row(row, user_id) for row in rows]

    async def recent_turns(self, user_id: UUID, limit: int) -> list[ConversationTurn]:
        """This user's last ``limit`` turns across sessions, oldest first."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        if not positive_limit(limit):
            return []
        rows = await self._db.run(_recent_turns, uid, limit)
        return [_turn_from_row(row, user_id) for row in rows]

    async def pending_turns(
        self, limit: int, user_id: UUID | None = None
    ) -> list[ConversationTurn]:
        """User turns whose memory work is not done yet and that are not parked, oldest
        first (of one user when given)."""
        self._check_open()
        if not positive_limit(limit):
            return []
        uid = None if user_id is None else id_text(user_id, what="user id")
        rows = await self._db.run(_pending_turns, limit, uid)
        return [_turn_from_row(row, UUID(row[1])) for row in rows]

    async def park_turn(self, user_id: UUID, turn_id: UUID, reason: str, when: datetime) -> None:
        """Set a pending user turn aside with why (the first reason stays)."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        tid = id_text(turn_id, what="turn id")
        stamp = to_micros(when, what="when")
        await self._db.write(_park, uid, tid, park_reason(reason), stamp)

    async def parked_turns(self, user_id: UUID | None, limit: int) -> list[ParkedTurn]:
        """Parked turns, oldest first (of one user when given)."""
        self._check_open()
        if not positive_limit(limit):
            return []
        uid = None if user_id is None else id_text(user_id, what="user id")
        rows = await self._db.run(_parked_turns, limit, uid)
        return [
            ParkedTurn(_turn_from_row(row, UUID(row[1])), row[7], from_micros(row[6]))
            for row in rows
        ]

    async def unpark_turns(self, user_id: UUID | None) -> int:
        """Put parked turns back in the pending ones; how many."""
        self._check_open()
        uid = None if user_id is None else id_text(user_id, what="user id")
        count: int = await self._db.write(_unpark, uid)
        return count

    async def claim_user(
        self,
        user_id: UUID,
        owner: str,
        lease_seconds: float,
        limit: int = 1000,
        *,
        take_over: str | None = None,
    ) -> list[ConversationTurn] | None:
        """Take or renew the user's memory-work lease under ``BEGIN IMMEDIATE`` (one
        writer at a time on this file); None when another owner's lease still runs."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        owner, seconds = lease_terms(owner, lease_seconds)
        gone = None if take_over is None else lease_terms(take_over, 1.0)[0]
        if not positive_limit(limit):
            limit = 0
        rows = await self._db.write(_claim, uid, owner, gone, int(seconds * 1_000_000), limit)
        if rows is None:
            return None
        return [_turn_from_row(row, user_id) for row in rows]

    async def claim_holder(self, user_id: UUID) -> str | None:
        """Who holds an unexpired lease on the user's memory work, if anyone."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        holder: str | None = await self._db.run(_holder, uid)
        return holder

    async def release_user(self, user_id: UUID, owner: str) -> None:
        """Give up ``owner``'s lease on the user's memory work."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        owner, _ = lease_terms(owner, 1.0)
        await self._db.write(_release, uid, owner)

    async def mark_processed(self, user_id: UUID, turn_id: UUID, when: datetime) -> None:
        """Record that the memory work for this turn is done (idempotent)."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        tid = id_text(turn_id, what="turn id")
        stamp = to_micros(when, what="when")
        await self._db.write(_mark_processed, uid, tid, stamp)

    async def erase_user(self, user_id: UUID) -> int:
        """Delete every turn, summary and lease of this user, in one transaction."""
        self._check_open()
        erased = await self._db.write(_erase_user, id_text(user_id, what="user id"))
        # The write-ahead log still holds the pages as they were before the deletes (and
        # earlier erasures' by other stores): copy it into the file and empty it now.
        await self._db.run(_truncate_wal)
        return erased

    async def save_summary(self, summary: ConversationSummary) -> None:
        """Insert or replace the summary of ``summary.session_id``.

        Conflict if that session's summary belongs to another user, or the summary's id
        is already used by another session's summary.
        """
        self._check_open()
        if not isinstance(summary, ConversationSummary):
            raise InvalidInput(f"expected a ConversationSummary, got {type(summary).__name__}")
        turn_count = summary.turn_count
        if isinstance(turn_count, bool) or not isinstance(turn_count, int) or turn_count < 0:
            raise InvalidInput(f"turn count must be a non-negative integer, got {turn_count!r}")
        params = (
            id_text(summary.id, what="summary id"),
            id_text(summary.user_id, what="user id"),
            id_text(summary.session_id, what="session id"),
            check_text(summary.summary, what="summary text"),
            dump_string_list(summary.topics, what="summary topics"),
            dump_string_list(summary.open_threads, what="summary open threads"),
            to_micros(summary.started_at, what="started_at"),
            to_micros(summary.ended_at, what="ended_at"),
            turn_count,
            check_optional_text(summary.next_greeting, what="next greeting"),
        )
        await self._db.write(_save_summary, params)

    async def latest_summary(self, user_id: UUID) -> ConversationSummary | None:
        """The summary of this user's most recently ended session, or None."""
        found = await self.summaries(user_id, 1)
        return found[0] if found else None

    async def summaries(self, user_id: UUID, limit: int) -> list[ConversationSummary]:
        """This user's last ``limit`` summaries, newest first (by end time)."""
        self._check_open()
        uid = id_text(user_id, what="user id")
        if not positive_limit(limit):
            return []
        rows = await self._db.run(_summaries, uid, limit)
        return [_summary_from_row(row, user_id) for row in rows]

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the database stays open."""
        self._closed = True


def _turn_from_row(row: tuple[Any, ...], user_id: UUID) -> ConversationTurn:
    return ConversationTurn(
        id=UUID(row[0]),
        user_id=user_id,
        session_id=UUID(row[2]),
        role=Role(row[3]),
        text=row[4],
        created_at=from_micros(row[5]),
    )


def _summary_from_row(row: tuple[Any, ...], user_id: UUID) -> ConversationSummary:
    return ConversationSummary(
        id=UUID(row[0]),
        user_id=user_id,
        session_id=UUID(row[2]),
        summary=row[3],
        topics=load_string_list(row[4]),
        open_threads=load_string_list(row[5]),
        started_at=from_micros(row[6]),
        ended_at=from_micros(row[7]),
        turn_count=int(row[8]),
        next_greeting=row[9],
    )


def _append_turn(conn: sqlite3.Connection, params: tuple[Any, ...]) -> None:
    if conn.execute("SELECT 1 FROM conversation_turns WHERE id = ?", (params[0],)).fetchone():
        raise Conflict(f"turn {params[0]} already exists")
    conn.execute(_INSERT_TURN, params)


_WHERE_PENDING = " WHERE processed_at IS NULL AND role = 'user' AND parked_at IS NULL"
_SELECT_PARKED = (
    "SELECT id, user_id, session_id, role, text, created_at, parked_at, park_reason"
    " FROM conversation_turns WHERE processed_at IS NULL AND role = 'user'"
    " AND parked_at IS NOT NULL"
)
_UNPARK = (
    "UPDATE conversation_turns SET parked_at = NULL, park_reason = NULL"
    " WHERE processed_at IS NULL AND role = 'user' AND parked_at IS NOT NULL"
)


def _pending_turns(conn: sqlite3.Connection, limit: int, user_id: str | None) -> list[Any]:
    mine = "" if user_id is None else " AND user_id = ?"
    return conn.execute(
        _SELECT_TURNS + _WHERE_PENDING + mine + " ORDER BY seq LIMIT ?",
        ((user_id, limit) if user_id is not None else (limit,)),
    ).fetchall()


def _park(conn: sqlite3.Connection, user_id: str, turn_id: str, reason: str, when: int) -> None:
    conn.execute(
        "UPDATE conversation_turns SET parked_at = ?, park_reason = ?"
        " WHERE id = ? AND user_id = ? AND processed_at IS NULL AND role = 'user'"
        " AND parked_at IS NULL",
        (when, reason, turn_id, user_id),
    )


def _parked_turns(conn: sqlite3.Connection, limit: int, user_id: str | None) -> list[Any]:
    mine = "" if user_id is None else " AND user_id = ?"
    return conn.execute(
        _SELECT_PARKED + mine + " ORDER BY seq LIMIT ?",
        ((user_id, limit) if user_id is not None else (limit,)),
    ).fetchall()


def _unpark(conn: sqlite3.Connection, user_id: str | None) -> int:
    mine = "" if user_id is None else " AND user_id = ?"
    cursor = conn.execute(
        _UNPARK + mine,
        () if user_id is None else (user_id,),
    )
    return cursor.rowcount


def _claim(
    conn: sqlite3.Connection,
    user_id: str,
    owner: str,
    gone: str | None,
    micros: int,
    limit: int,
) -> list[Any] | None:
    now = time.time_ns() // 1000
    held = conn.execute(
        "SELECT owner, lease_until FROM memory_claims WHERE user_id = ?", (user_id,)
    ).fetchone()
    if held is not None and held[0] not in (owner, gone) and held[1] > now:
        return None
    conn.execute(
        "INSERT INTO memory_claims (user_id, owner, lease_until) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET owner = excluded.owner,"
        " lease_until = excluded.lease_until",
        (user_id, owner, now + micros),
    )
    return _pending_turns(conn, limit, user_id) if limit > 0 else []


def _holder(conn: sqlite3.Connection, user_id: str) -> str | None:
    row = conn.execute(
        "SELECT owner FROM memory_claims WHERE user_id = ? AND lease_until > ?",
        (user_id, time.time_ns() // 1000),
    ).fetchone()
    return None if row is None else str(row[0])


def _release(conn: sqlite3.Connection, user_id: str, owner: str) -> None:
    conn.execute("DELETE FROM memory_claims WHERE user_id = ? AND owner = ?", (user_id, owner))


def _erase_user(conn: sqlite3.Connection, user_id: str) -> int:
    return sum(
        conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,)).rowcount  # noqa: S608
        for table in ("conversation_turns", "conversation_summaries", "memory_claims")
    )


def _truncate_wal(conn: sqlite3.Connection) -> None:
    # Best effort: a reader in another process can keep part of the log alive; the
    # background checkpointer copies the rest within a second.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def _mark_processed(conn: sqlite3.Connection, user_id: str, turn_id: str, when: int) -> None:
    conn.execute(
        "UPDATE conversation_turns SET processed_at = ? WHERE id = ? AND user_id = ?"
        " AND processed_at IS NULL",
        (when, turn_id, user_id),
    )


def _session_turns(conn: sqlite3.Connection, user_id: str, session_id: str) -> list[Any]:
    return conn.execute(
        _SELECT_TURNS + " WHERE user_id = ? AND session_id = ? ORDER BY seq",
        (user_id, session_id),
    ).fetchall()


def _recent_turns(conn: sqlite3.Connection, user_id: str, limit: int) -> list[Any]:
    rows = conn.execute(
        _SELECT_TURNS + " WHERE user_id = ? ORDER BY seq DESC LIMIT ?",
        (user_id, limit),
    ).fetchall()
    rows.reverse()
    return rows


def _save_summary(conn: sqlite3.Connection, params: tuple[Any, ...]) -> None:
    summary_id, user_id, session_id = params[0], params[1], params[2]
    owner = conn.execute(
        "SELECT user_id FROM conversation_summaries WHERE session_id = ?", (session_id,)
    ).fetchone()
    if owner is not None and owner[0] != user_id:
        raise Conflict(f"session {session_id} belongs to another user")
    other = conn.execute(
        "SELECT 1 FROM conversation_summaries WHERE id = ? AND session_id != ?",
        (summary_id, session_id),
    ).fetchone()
    if other is not None:
        raise Conflict(f"summary {summary_id} already exists for another session")
    conn.execute(_UPSERT_SUMMARY, params)


def _summaries(conn: sqlite3.Connection, user_id: str, limit: int) -> list[Any]:
    return conn.execute(
        _SELECT_SUMMARIES + " WHERE user_id = ? " + _BY_RECENCY + " LIMIT ?",
        (user_id, limit),
    ).fetchall()
