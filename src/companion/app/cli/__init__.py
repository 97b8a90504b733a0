"""The ``companion-agent`` console script.

This module imports only the standard library, so that :func:`main` can set process
defaults before NumPy (and its BLAS) is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

# OpenBLAS keeps its worker threads spinning for a while after each call; on a 2-core
# machine that steals the core the SQLite thread needs right after embedding a query.
# A short spin measured retrieval p95 at 10,000 memories 13-14 ms instead of 16-19 ms.
# It is read once, when OpenBLAS loads, and a value the user set wins.
_PROCESS_DEFAULTS = {"OPENBLAS_THREAD_TIMEOUT": "4"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``companion-agent``; returns the exit status."""
    for name, value in _PROCESS_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from companion.app.cli._main import run

    return run(argv)
