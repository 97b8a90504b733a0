"""Checkpoints the write-ahead log on a thread of its own, so no request pays for it.

SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages, and
with the embedded default that commit is often a turn's journal write, on the critical
path before the reply: it added up to ~10 ms to one turn in fifty (measured with
``scripts/bench_critical_path.py``). With automatic checkpoints off, this thread runs a
PASSIVE checkpoint every ``interval`` seconds on its own connection. PASSIVE never
blocks readers or writers; it copies what no reader still needs and leaves the rest for
the next round.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

CHECKPOINT_INTERVAL_SECONDS = 1.0


class WalCheckpointer:
    """A daemon thread checkpointing one database file's WAL until stopped."""

    def __init__(
        self, path: Path, *, busy_timeout: float, interval: float = CHECKPOINT_INTERVAL_SECONDS
    ) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="companion-wal-checkpoint", daemon=True
        )
        self.rounds = 0  # checkpoints that ran (for tests and curiosity)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (a checkpoint in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=self._busy_timeout + self._interval)

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, timeout=self._busy_timeout, isolation_level=None)
        except sqlite3.Error:
            log.warning("wal_checkpointer_not_started", exc_info=True)
            return
        try:
            while not self._stop.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.rounds += 1
                except sqlite3.Error:
                    # Busy or locked now: the next round tries again; nothing is lost,
                    # the WAL only grows until a checkpoint gets through.
                    log.debug("wal_checkpoint_skipped", exc_info=True)
        finally:
            conn.close()
