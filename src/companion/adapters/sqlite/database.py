"""SqliteDatabase: one SQLite file, one connection, one worker thread that owns it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar, TypeVarTuple

from companion.adapters.sqlite._checkpointer import WalCheckpointer
from companion.adapters.sqlite._migrations import load_migrations, migrate
from companion.domain.errors import CompanionError, StoreError, StoreUnavailable

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

BUSY_TIMEOUT_SECONDS = 5.0
# SQLite's page cache per connection (PRAGMA cache_size), in KiB: a ceiling, filled as
# the file is read. COMPANION_SQLITE_CACHE_MIB sets it; docs/benchmarks.md ("A long-lived
# worker's memory") measures what it costs and saves.
CACHE_KIB = 8 * 1024

# Primary result codes (the low byte of an extended code) that mean "another connection
# holds the lock": worth retrying later, unlike a corrupt file or a broken query.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6


def translate_error(exc: sqlite3.Error, what: str) -> StoreError:
    """The domain error for a sqlite3 error raised while doing ``what``."""
    code = getattr(exc, "sqlite_errorcode", None)
    busy = code is not None and (code & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)
    text = str(exc)
    if busy or (isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)):
        return StoreUnavailable(f"SQLite database is busy, could not {what}: {text}")
    return StoreError(f"SQLite could not {what}: {text}")


_WORKER_PREFIX = "companion-sqlite"


class SqliteDatabase:
    """An open companion database: WAL mode, migrated, accessed from one worker thread.

    Every use of the connection runs on a single dedicated thread, so concurrent
    coroutines in this process are serialized without blocking the event loop, and
    ``sqlite3``'s same-thread check stays on as a guard. Other processes may open the
    same file: writers take the write lock up front (``BEGIN IMMEDIATE``) and wait up to
    the busy timeout for each other.
    """

    def __init__(
        self,
        path: Path,
        executor: ThreadPoolExecutor,
        conn: sqlite3.Connection,
        version: int,
        checkpointer: WalCheckpointer | None = None,
    ) -> None:
        """Use :meth:`open`; this wires already-opened parts together."""
        self._path = path
        self._executor: ThreadPoolExecutor | None = executor
        self._conn: sqlite3.Connection | None = conn
        self._version = version
        self._checkpointer = checkpointer

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        cache_kib: int = CACHE_KIB,
    ) -> SqliteDatabase:
        """Open (creating if needed) the database at ``path`` and bring its schema up to date.

        ``cache_kib`` is the connection's page cache ceiling (``PRAGMA cache_size``).

        Raises SchemaError when the file's schema is newer than this code knows, and
        StoreError/StoreUnavailable when it cannot be opened.
        """
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for the database {path}: {exc}") from exc
        if isinstance(cache_kib, bool) or not isinstance(cache_kib, int) or cache_kib < 1:
            raise ValueError(
                f"the SQLite page cache must be a positive number of KiB, got {cache_kib!r}"
            )
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_WORKER_PREFIX)
        try:
            conn, version = executor.submit(_connect, path, busy_timeout, cache_kib).result()
        except BaseException:
            executor.shutdown(wait=True)
            raise
        checkpointer = WalCheckpointer(path, busy_timeout=busy_timeout)
        checkpointer.start()
        return cls(path, executor, conn, version, checkpointer)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def schema_version(self) -> int:
        """The schema version after migrations (``PRAGMA user_version``)."""
        return self._version

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._executor is None

    async def run(self, fn: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T:
        """Run ``fn(conn, *args)`` on the worker thread, outside any transaction.

        For reads: each statement sees the latest committed data. sqlite3 errors become
        StoreUnavailable (locked/busy) or StoreError; domain errors pass through.
        """
        return await self._submit(fn, args, write=False)

    async def write(self, fn: Callable[[sqlite3.Connection, *Ts], T], *args: *Ts) -> T:
        """Run ``fn(conn, *args)`` on the worker thread in a ``BEGIN IMMEDIATE`` transaction.

        Commits when ``fn`` returns, rolls back when it raises (and re-raises).
        """
        return await self._submit(fn, args, write=True)

    async def _submit(
        self, fn: Callable[[sqlite3.Connection, *Ts], T], args: tuple[*Ts], *, write: bool
    ) -> T:
        executor = self._executor
        if executor is None:
            raise StoreError(f"the SQLite database {self._path} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, self._call, fn, args, write)
        except RuntimeError as exc:
            # The executor refuses new work once close() shut it down.
            if self._executor is None:
                raise StoreError(f"the SQLite database {self._path} is closed") from exc
            raise

    def _call(self, fn: Callable[[sqlite3.Connection, *Ts], T], args: tuple[*Ts], write: bool) -> T:
        conn = self._conn
        if conn is None:
            raise StoreError(f"the SQLite database {self._path} is closed")
        what = _describe(fn)
        try:
            if not write:
                return fn(conn, *args)
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, *args)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result
        except CompanionError:
            raise
        except sqlite3.Error as exc:
            raise translate_error(exc, what) from exc

    def close(self) -> None:
        """Close the connection and stop the worker thread (idempotent).

        Work already submitted finishes first; later calls raise StoreError. Nothing new
        is submitted to the worker here: close may run from a garbage-collection
        finaliser, and submitting to an executor there can deadlock on
        concurrent.futures' global lock if the collection interrupted a submit.
        """
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if self._checkpointer is not None:
            self._checkpointer.stop()
        on_worker = threading.current_thread().name.startswith(_WORKER_PREFIX)
        executor.shutdown(wait=not on_worker)
        self._close_connection()

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"schema {self._version}"
        return f"SqliteDatabase({str(self._path)!r}, {state})"


def _describe(fn: Callable[..., object]) -> str:
    """A readable name for an operation: ``_add_memory`` -> ``add memory``."""
    name = getattr(fn, "__name__", "run a query")
    return name.strip("_").replace("_", " ") or "run a query"


def _enable_wal(conn: sqlite3.Connection, busy_timeout: float) -> object:
    """Switch to WAL; the resulting journal mode.

    While another process is creating or switching the same file, SQLite reports the
    pragma as locked at once instead of calling the busy handler, so it is retried here
    for up to the busy timeout (two processes opening a fresh file together).
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if not isinstance(translate_error(exc, ""), StoreUnavailable):
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def _connect(
    path: Path, busy_timeout: float, cache_kib: int = CACHE_KIB
) -> tuple[sqlite3.Connection, int]:
    """Open, configure and migrate; runs on the worker thread that will own the connection."""
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the module never opens
        # an implicit transaction that would hold a lock across awaits.
        # Used only from the worker thread, but closed from the caller once the worker has
        # stopped (see close), so the same-thread check must be off.
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise translate_error(exc, f"open the database {path}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = _enable_wal(conn, busy_timeout)
        if str(mode).lower() != "wal":
            raise StoreError(f"SQLite could not switch {path} to WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous = NORMAL")
        # Checkpoints run on their own thread (WalCheckpointer), not inside a commit.
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA foreign_keys = ON")
        # What is deleted (a forgotten memory, an erased user) is overwritten with zeros in
        # the file, not left in free space for a reader of the raw file to find.
        conn.execute("PRAGMA secure_delete = ON")
        # A ceiling, not an allocation: it fills as the file is read and stays filled.
        conn.execute(f"PRAGMA cache_size = -{cache_kib}")
        version = migrate(conn, load_migrations())
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise translate_error(exc, f"open the database {path}") from exc
        raise
    return conn, version
