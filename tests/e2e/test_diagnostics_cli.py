"""`doctor`, `stats` and `db migrate` as a user runs them."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import asyncpg
from tests.e2e.conftest import Run
from tests.servers.postgres import PostgresServer
from tests.servers.redis import RedisServer

from companion.domain.validation import user_id_for_name


def test_doctor_on_the_embedded_default_reports_every_backend(run: Run) -> None:
    done = run("doctor", "--json", env={"COMPANION_EMBEDDER": "hashing"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    names = [c["name"] for c in report["checks"]]
    assert names[:2] == ["store", "schema"]
    assert {"embedder", "chat model", "cache", "livekit"} <= set(names)
    assert report["ok"] is True

    table = run("doctor", env={"COMPANION_EMBEDDER": "hashing"})
    assert table.stdout.splitlines()[0].split() == ["CHECK", "BACKEND", "STATUS", "TIME", "DETAIL"]


def test_doctor_fails_on_an_unreachable_model_without_leaking_its_key(run: Run) -> None:
    key = "sk-e2e-doctor-0123456789abcdef"
    done = run(
        "doctor",
        env={
            "COMPANION_EMBEDDER": "hashing",
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_API_KEY": key,
        },
    )
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if x.startswith("chat model"))
    assert "FAIL" in line and "cannot be reached" in line
    assert key not in done.stdout + done.stderr


def test_stats_shows_what_a_user_has_told_the_companion(run: Run) -> None:
    env = {"COMPANION_EMBEDDER": "hashing"}
    said = run("chat", "--user", "ada", stdin="I have a dog called Biscuit.\n", env=env)
    assert said.returncode == 0, said.stderr
    done = run("stats", "--user", "ada", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["memory"]["total"] >= 1
    assert report["cache"]["configured"] is True
    assert report["connection_pool"] == {"configured": False}
    text = run("stats", "--user", "ada", env=env).stdout
    assert "memory.total:" in text and "cache.backend: memory" in text


def test_a_parked_turn_is_shown_by_stats_and_doctor_and_retried_by_memories_retry(
    run: Run, tmp_path: Path
) -> None:
    env = {"COMPANION_EMBEDDER": "hashing"}
    said = run("chat", "--user", "ada", stdin="I have a dog called Biscuit.\n", env=env)
    assert said.returncode == 0, said.stderr
    # A turn a crashed process journalled and a later one set aside (as the worker does
    # when retrying cannot fix it): every command still works, and it is shown.
    ada = str(user_id_for_name("ada"))
    with sqlite3.connect(tmp_path / "data" / "companion.db") as db:
        db.execute(
            "INSERT INTO conversation_turns (id, user_id, session_id, role, text, created_at,"
            " parked_at, park_reason) VALUES (?, ?, ?, 'user', 'I live in Oslo.', 1, 2, ?)",
            (str(uuid.uuid4()), ada, str(uuid.uuid4()), "EmbeddingModelMismatch: hashing-256"),
        )
    listed = run("memories", "list", "--user", "ada", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    stats = json.loads(run("stats", "--user", "ada", "--json", env=env).stdout)
    assert stats["journal"]["parked"] == 1
    assert stats["journal"]["parked_turns"][0]["reason"].startswith("EmbeddingModelMismatch")
    doctor = run("doctor", env=env)
    assert doctor.returncode == 0 and "1 parked (EmbeddingModelMismatch)" in doctor.stdout
    retried = run("memories", "retry", "--user", "ada", "--json", env=env)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {"retried": 1, "done": 1}
    homes = run("memories", "list", "--user", "ada", "--json", env=env).stdout
    assert "Oslo" in homes


def test_db_migrate_needs_a_dsn(run: Run) -> None:
    done = run("db", "migrate")
    assert done.returncode == 2
    assert done.stderr.strip() == "companion-agent: error: db migrate needs --dsn or DATABASE_URL"


async def test_db_migrate_applies_once_then_has_nothing_to_do(
    run: Run, postgres_server: PostgresServer
) -> None:
    dsn = postgres_server.dsn("e2e_migrate")
    admin = await asyncpg.connect(postgres_server.dsn("postgres"))
    try:
        await admin.execute("DROP DATABASE IF EXISTS e2e_migrate")
        await admin.execute("CREATE DATABASE e2e_migrate")
    finally:
        await admin.close()
    first = run("db", "migrate", "--dsn", dsn)
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout and "migration(s) applied now" in first.stdout
    again = run("db", "migrate", env={"DATABASE_URL": dsn})
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("nothing to apply.")
    assert "already applied" in again.stdout


def test_doctor_and_stats_against_real_postgres_and_redis(
    run: Run, postgres_dsn: str, redis_server: RedisServer
) -> None:
    env = {
        "COMPANION_EMBEDDER": "hashing",
        "DATABASE_URL": postgres_dsn,
        "REDIS_URL": redis_server.url,
    }
    said = run("chat", "--user", "ada", stdin="I have a dog called Biscuit.\n", env=env)
    assert said.returncode == 0, said.stderr
    doctor = run("doctor", "--json", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    rows = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert {rows[n]["status"] for n in ("store", "schema", "pgvector", "dimensions", "cache")} == {
        "ok"
    }
    assert rows["store"]["backend"] == "postgres" and rows["cache"]["backend"] == "redis"

    stats = run("stats", "--user", "ada", "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    report = json.loads(stats.stdout)
    assert report["connection_pool"]["postgres"]["size"] >= 1
    assert report["cache"]["backend"] == "redis" and report["cache"]["state"] == "closed"
    assert report["database_batching"]["configured"] is True
    assert report["memory"]["total"] == 1
