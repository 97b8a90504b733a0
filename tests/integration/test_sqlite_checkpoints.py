"""The WAL is checkpointed by a thread of its own, never inside a request's commit."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from companion.adapters.sqlite._checkpointer import WalCheckpointer
from companion.adapters.sqlite.database import SqliteDatabase


async def test_the_request_connection_never_checkpoints(tmp_path: Path) -> None:
    db = SqliteDatabase.open(tmp_path / "companion.db")
    try:
        setting = await db.run(lambda c: c.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        assert setting == 0
    finally:
        db.close()


def test_the_checkpointer_moves_the_wal_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,) for _ in range(5000)])
    conn.execute("COMMIT")
    before = path.stat().st_size  # everything is still in the WAL
    assert path.with_name("wal.db-wal").stat().st_size > before

    checkpointer = WalCheckpointer(path, busy_timeout=5, interval=0.01)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 30  # a safety net, not a timing claim
        while path.stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        checkpointer.stop()
        conn.close()
    assert path.stat().st_size > before
    assert checkpointer.rounds >= 1
    with sqlite3.connect(path) as fresh:
        assert fresh.execute("SELECT count(*) FROM t").fetchone()[0] == 5000
