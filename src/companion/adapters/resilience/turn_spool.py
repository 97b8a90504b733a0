"""SqliteTurnSpool: journal entries kept in a small SQLite file while the database is down.

When PostgreSQL or Supabase cannot be reached, a turn the user said must still survive
the process (the reply acknowledges it). It is appended here, in the data directory,
with ``synchronous=FULL`` so it is on disk before the reply, and sent, in order, when the
store answers again (see ``core/turn_keeper.py``). Every process of the machine opens
the same file (WAL, a busy timeout), so a process started after one was killed sends
what that one kept.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from uuid import UUID

from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import ConversationTurn, Role
from companion.domain.validation import positive_limit, require_aware
from companion.ports.turn_spool import TurnSpool

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kept_turns ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " turn TEXT NOT NULL)"
)
# A row that cannot be read back (the file was damaged) is moved here, for a person to
# look at, so it never holds up the turns after it.
_UNREADABLE = "CREATE TABLE IF NOT EXISTS unreadable_turns (seq INTEGER PRIMARY KEY, turn TEXT)"


class SqliteTurnSpool(TurnSpool):
    """Kept turns in ``path`` (created on first use), one connection per process."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self._path = Path(path)
        self._timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_SCHEMA)
            conn.execute(_UNREADABLE)
            self._conn = conn
        return self._conn

    async def _run(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        def run() -> list[tuple[object, ...]]:
            with self._lock:
                try:
                    return self._connection().execute(sql, params).fetchall()
                except sqlite3.Error as exc:
                    raise StoreError(f"the turn spool failed ({type(exc).__name__})") from None

        return await asyncio.to_thread(run)

    async def keep(self, turn: ConversationTurn) -> None:
        if not isinstance(turn, ConversationTurn):
            raise InvalidInput(f"expected a ConversationTurn, got {type(turn).__name__}")
        require_aware(turn.created_at, what="created_at")
        record = {
            "id": str(turn.id),
            "user_id": str(turn.user_id),
            "session_id": str(turn.session_id),
            "role": Role(turn.role).value,
            "text": turn.text,
            "created_at": turn.created_at.isoformat(),
        }
        await self._run(
            "INSERT INTO kept_turns (id, turn) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
            (str(turn.id), json.dumps(record, ensure_ascii=False)),
        )

    async def oldest(self, limit: int) -> list[ConversationTurn]:
        if not positive_limit(limit):
            return []
        rows = await self._run("SELECT seq, turn FROM kept_turns ORDER BY seq LIMIT ?", (limit,))
        turns: list[ConversationTurn] = []
        for seq, text in rows:
            try:
                turns.append(_turn(str(text)))
            except StoreError:
                await self._run(
                    "INSERT OR REPLACE INTO unreadable_turns SELECT seq, turn FROM kept_turns"
                    " WHERE seq = ?",
                    (seq,),
                )
                await self._run("DELETE FROM kept_turns WHERE seq = ?", (seq,))
        return turns

    async def remove(self, turn_ids: Sequence[UUID]) -> None:
        ids = [str(UUID(str(t))) for t in turn_ids]
        if ids:  # one JSON array parameter, whatever the number of ids
            await self._run(
                "DELETE FROM kept_turns WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            )

    async def count(self) -> int:
        rows = await self._run("SELECT count(*) FROM kept_turns")
        (count,) = rows[0]
        return count if isinstance(count, int) else 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _turn(text: str) -> ConversationTurn:
    try:
        row = json.loads(text)
        return ConversationTurn(
            id=UUID(row["id"]),
            user_id=UUID(row["user_id"]),
            session_id=UUID(row["session_id"]),
            role=Role(row["role"]),
            text=str(row["text"]),
            created_at=datetime.fromisoformat(row["created_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"a kept turn is malformed ({type(exc).__name__})") from None
