"""The soak, bounded for CI: several processes on one SQLite file, random kill -9, and
every answered word accounted for afterwards (scripts/soak.py runs it longer)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from soak import soak


@pytest.mark.slow
async def test_processes_killed_at_random_lose_nothing_they_answered(tmp_path: Path) -> None:
    report = await soak(
        processes=4, users=10, turns=60, kill=0.35, seed=7, data_dir=tmp_path / "data"
    )
    assert report.problems == []
    assert report.kills >= 3 and report.turns_answered >= 40
    assert report.facts_checked >= report.turns_answered // 2
