"""DirtyLedger: the shared cache's possibly stale keys, kept on this machine's disk.

A write that could not reach Redis leaves Redis holding a value that may no longer be
true. The process that saw it repairs the key when Redis answers again; if that process
exits first (killed, redeployed, its job ended), the key would stay stale for every other
process until its TTL. So each such key is also appended to a file in the data directory,
and every process on this machine repairs what the file lists when it first reaches
Redis, then takes what it repaired out of the file. ``*`` stands for "clear everything
this cache owns" (more keys piled up than are worth listing).

Appends are single ``write`` calls of whole lines (atomic for small writes on a local
file); the read-modify-write of a repair holds an exclusive ``flock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

EVERYTHING = "*"
_MAX_KEY_LINE = 1024


class DirtyLedger:
    """Keys whose shared copy may be stale, durable across this machine's processes."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    @property
    def path(self) -> Path:
        """Where the ledger lives."""
        return self._path

    def add(self, keys: Iterable[str]) -> None:
        """Record keys (or :data:`EVERYTHING`) as possibly stale in the shared cache."""
        lines = "".join(f"{key}\n" for key in keys if key and "\n" not in key)
        if not lines:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, lines.encode())
        finally:
            os.close(fd)

    def read(self) -> set[str]:
        """Every key the ledger lists (empty when there is no ledger)."""
        with self._locked() as handle:
            return _keys(handle.read()) if handle is not None else set()

    def discard(self, repaired: Iterable[str]) -> None:
        """Take keys that were repaired out of the ledger (others' entries stay)."""
        gone = set(repaired)
        if not gone:
            return
        with self._locked() as handle:
            if handle is None:
                return
            left = _keys(handle.read()) - gone
            if EVERYTHING in gone:
                left.clear()
            handle.seek(0)
            handle.truncate()
            handle.write("".join(f"{key}\n" for key in sorted(left)))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[TextIO | None]:
        try:
            handle = open(self._path, "r+", encoding="utf-8")  # noqa: SIM115
        except FileNotFoundError:
            yield None
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _keys(text: str) -> set[str]:
    return {line for line in text.splitlines() if line and len(line) <= _MAX_KEY_LINE}
