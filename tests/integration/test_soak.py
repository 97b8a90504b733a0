"""The soak, bounded for CI: several processes on one store, a scripted remote model whose
extraction is slow and fails at times, random kill -9, PostgreSQL restarted and Redis
stopped mid-run, and every answered word accounted for afterwards (scripts/soak.py runs
it longer)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from tests.servers.postgres import start_server
from tests.servers.redis import start_redis_server

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from soak import soak


@pytest.mark.slow
async def test_processes_killed_at_random_lose_nothing_they_answered(tmp_path: Path) -> None:
    report = await soak(
        processes=4, users=10, turns=60, kill=0.35, seed=7, data_dir=tmp_path / "data"
    )
    print("\n" + report.line())
    assert report.problems == []
    assert report.kills >= 3 and report.turns_answered >= 40
    # The remote model was on the path, slow and failing at times.
    assert report.extractions >= report.turns_answered // 2 and report.extraction_failures > 0
    assert report.facts_checked >= report.turns_answered // 2


@pytest.mark.slow
async def test_on_postgres_and_redis_with_a_restart_and_an_outage_nothing_answered_is_lost(
    tmp_path: Path,
) -> None:
    # Servers of this test alone: one is restarted, the other stopped for a while.
    database = start_server()
    redis = start_redis_server()

    def restart_postgres() -> None:
        database.pause()
        time.sleep(3)
        database.resume()

    def stop_redis() -> None:
        redis.stop()
        time.sleep(3)
        redis.start()

    try:
        report = await soak(
            processes=4,
            users=8,
            turns=50,
            kill=0.3,
            seed=11,
            data_dir=tmp_path / "data",
            env_extra={"DATABASE_URL": database.dsn(), "REDIS_URL": redis.url},
            disruptions={15: restart_postgres, 30: stop_redis},
        )
    finally:
        redis.close()
        database.stop()
    print("\n" + report.line())
    assert report.problems == []
    assert report.disruptions == 2 and report.kills >= 2
    assert report.extractions >= report.turns_answered // 2 and report.extraction_failures > 0
    assert report.turns_answered >= 25
