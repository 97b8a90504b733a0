"""SystemClock: the machine's wall clock, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from companion.ports.clock import Clock


class SystemClock(Clock):
    """The current UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)
