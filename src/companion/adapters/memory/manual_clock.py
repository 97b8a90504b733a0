"""ManualClock: a Clock that moves only when told to (tests, benchmarks, replays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from companion.domain.validation import require_aware
from companion.ports.clock import Clock


class ManualClock(Clock):
    """Returns a set time; ``advance`` moves it forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = require_aware(start or datetime(2026, 1, 1, 9, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = require_aware(moment)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now
