"""A progress bar on stderr: redrawn in place on a terminal, a line per step otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30


class Progress:
    """Counts work done out of a known total and shows it on ``stream``."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self._total = max(total, 1)
        self._label = label
        self._done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._last = 0.0
        self._started = time.perf_counter()

    def advance(self, n: int = 1, label: str | None = None) -> None:
        """Record ``n`` more steps done, optionally renaming the current phase."""
        self._done = min(self._done + n, self._total)
        if label is not None:
            self._label = label
        now = time.perf_counter()
        finished = self._done == self._total
        # A redraw per step would cost more than some steps do; a few per second suffice.
        if finished or now - self._last >= (0.1 if self._tty else 5.0):
            self._last = now
            self._draw(finished)

    def _draw(self, finished: bool) -> None:
        filled = int(_WIDTH * self._done / self._total)
        bar = "#" * filled + "." * (_WIDTH - filled)
        elapsed = time.perf_counter() - self._started
        text = f"[{bar}] {100 * self._done / self._total:5.1f}%  {elapsed:6.1f}s  {self._label}"
        if self._tty:
            self._stream.write("\r" + text.ljust(100) + ("\n" if finished else ""))
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
