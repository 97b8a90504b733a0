"""The ``companion-agent`` console script.

This module imports only the standard library, so starting the program loads nothing
heavy before the command line is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``companion-agent``; returns the exit status."""
    from companion.inbound.cli._main import run

    return run(argv)
