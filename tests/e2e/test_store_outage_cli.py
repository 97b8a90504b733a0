"""`companion-agent chat` on PostgreSQL, the database stopped mid-session, as a user sees
it: every line is answered, nothing but the answers reaches the conversation, and what
was said survives `kill -9` before the database is back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.conftest import _CLOUD_ENV, SCRIPT, Run
from tests.servers.postgres import PostgresServer, start_server


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    database = start_server()  # this test's own: it is stopped and started again
    yield database
    database.stop()


@pytest.mark.slow
def test_chat_answers_through_a_database_outage_and_a_kill_loses_nothing(
    run: Run, tmp_path: Path, server: PostgresServer
) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in _CLOUD_ENV}
    env.update(DATABASE_URL=server.dsn(), COMPANION_EMBEDDER="hashing")
    chat = subprocess.Popen(
        [str(SCRIPT), "chat", "--user", "noor", "--data-dir", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env=env,
    )
    assert chat.stdin is not None and chat.stdout is not None
    lines: list[str] = []
    try:
        lines.append(chat.stdout.readline())  # the greeting
        for n, said in enumerate(
            ["My name is Noor.", "I live in Quetta.", "I have a cat called Miso."]
        ):
            if n == 1:
                server.pause()  # the database goes away mid-session
            chat.stdin.write(said + "\n")
            chat.stdin.flush()
            lines.append(chat.stdout.readline())
        os.kill(chat.pid, signal.SIGKILL)  # before the database is back
    finally:
        chat.kill()
        chat.wait(timeout=30)
    assert chat.returncode == -signal.SIGKILL
    assert all(line.strip() for line in lines), lines  # every line answered
    conversation = "".join(lines)
    for noise in ("Traceback", "asyncpg", "Error", "error"):
        assert noise not in conversation, conversation
    assert chat.stderr is not None
    logged = chat.stderr.read()  # the terminal shows it too: warnings, no tracebacks
    assert "Traceback" not in logged, logged

    server.resume()
    listed = run(
        "memories",
        "list",
        "--user",
        "noor",
        "--json",
        "--data-dir",
        str(data),
        data=False,
        env={"DATABASE_URL": server.dsn(), "COMPANION_EMBEDDER": "hashing"},
    )
    assert listed.returncode == 0, listed.stderr
    stored = {m["key"]: m["value"] for m in json.loads(listed.stdout)}
    assert stored.get("location.home") == "Quetta", stored
    assert stored.get("pet.cat.miso") == "Miso", stored
    assert stored.get("name") == "Noor", stored
