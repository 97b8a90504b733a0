"""The benchmarks run as a user runs them (one LoCoMo conversation as a smoke test)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import asyncpg
import pytest
from tests.e2e.conftest import Run

LOCOMO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "locomo-dev.json"


@pytest.fixture
def locomo() -> Path:
    if not LOCOMO.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the LoCoMo dev data at {LOCOMO}")
        pytest.skip("LoCoMo dev data not beside this checkout")
    return LOCOMO


def test_locomo_smoke_on_one_conversation(run: Run, locomo: Path) -> None:
    result = run(
        "bench", "locomo", "--data", str(locomo), "--conversations", "1", "--json", timeout=600
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unit"] == "dialog" and report["conversations"] == 1
    assert report["questions"] == 197 and report["memories"] == 419
    recall = report["recall"]
    assert set(recall["all"]) == {"5", "10", "25", "50"}
    assert set(recall["by_category"]) == {"1", "2", "3", "4", "5"}
    # Far above BM25 on this conversation: a regression in ranking shows here first.
    assert recall["all"]["10"] >= 70
    assert recall["all"]["5"] <= recall["all"]["10"] <= recall["all"]["25"] <= recall["all"]["50"]
    assert report["latency_ms"]["p50"] > 0 and report["ingest_per_s"] > 0
    assert "%" in result.stderr  # the progress bar


def test_locomo_with_the_embeddings_down_answers_every_question_lexically(
    run: Run, locomo: Path
) -> None:
    args = ("bench", "locomo", "--data", str(locomo), "--conversations", "1", "--json")
    result = run(*args, "--embeddings-down", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["questions"] == 197  # not one question failed for want of a vector
    recall = report["recall"]["all"]
    assert 40 <= recall["10"] < 90  # retrieval still works, on words alone
    assert "query_embedding_unavailable_searching_lexically" in result.stderr


def test_locomo_end_to_end_says_every_turn_and_counts_by_provenance(run: Run, locomo: Path) -> None:
    args = ("bench", "locomo", "--data", str(locomo), "--conversations", "1", "--json")
    result = run(*args, "--end-to-end", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["end_to_end"] is True and report["unit"] == "dialog"
    assert report["questions"] == 197
    # Every one of the 419 turns is kept, and the offline extractor adds a few memories.
    assert report["memories"] > 419
    recall = report["recall"]["all"]
    # Found only through provenance (the turn ids in each memory): nothing counted by hand.
    assert recall["10"] >= 70
    assert recall["5"] <= recall["10"] <= recall["25"] <= recall["50"]
    observation = run(*args, "--end-to-end", "--unit", "observation")
    assert observation.returncode == 2 and "--unit dialog" in observation.stderr


def test_bench_rejects_bad_options(run: Run, locomo: Path, tmp_path: Path) -> None:
    bad_k = run("bench", "locomo", "--data", str(locomo), "--k", "5,x")
    assert bad_k.returncode == 2 and "--k" in bad_k.stderr
    missing = run("bench", "locomo", "--data", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_latency_bench_reports_percentiles_and_memory(run: Run) -> None:
    result = run("bench", "latency", "--memories", "300", "--queries", "30", "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["memories"] == 300 and report["queries"] == 30
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"]
    assert report["rss_mb"]["after"] > 0
    # The floor beside the total, from the same run: what the overhead is measured against.
    floors = report["floor_ms"]
    assert set(floors) == {"query_embedding", "candidate_search"}
    assert all(0 < f["p50"] <= f["p95"] for f in floors.values())
    ratio = report["latency_ms"]["p95"] / floors["query_embedding"]["p95"]
    assert report["p95_total_over_query_embedding"] == round(ratio, 2)


async def test_locomo_on_postgres_only_when_asked(
    run: Run, locomo: Path, postgres_dsn: str
) -> None:
    env = {"DATABASE_URL": postgres_dsn}
    args = ("bench", "locomo", "--data", str(locomo), "--conversations", "1", "--json")
    scratch = run(*args, env=env, timeout=600)
    assert scratch.returncode == 0, scratch.stderr
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM companion_memories") == 0
        on_postgres = run(*args, "--configured-backends", env=env, timeout=600)
        assert on_postgres.returncode == 0, on_postgres.stderr
        assert await conn.fetchval("SELECT count(*) FROM companion_memories") == 419
    finally:
        await conn.close()
    # The same method holds on PostgreSQL (ts_rank instead of BM25 for the lexical side).
    assert json.loads(on_postgres.stdout)["recall"]["all"]["10"] >= 70
