"""The Clock port: where "now" comes from, so time is injectable in tests."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...
