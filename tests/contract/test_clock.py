"""The Clock contract, run against every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from companion.adapters.local.system_clock import SystemClock
from companion.adapters.memory import ManualClock
from companion.ports.clock import Clock


@pytest.fixture(params=["system", "manual"])
def clock(request: pytest.FixtureRequest) -> Clock:
    return SystemClock() if request.param == "system" else ManualClock()


def test_now_is_aware_utc_and_never_goes_back(clock: Clock) -> None:
    first = clock.now()
    second = clock.now()
    assert first.tzinfo is not None and first.utcoffset() == timedelta(0)
    assert second >= first


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 5, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 5, 1, tzinfo=UTC)
    assert clock.advance(timedelta(days=21)) == datetime(2026, 5, 22, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        ManualClock(datetime(2026, 5, 1))
