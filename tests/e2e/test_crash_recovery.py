"""Nothing said is lost: kill -9 right after a reply, and the next process still has it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.conftest import SCRIPT, Run

STATEMENTS = {
    "My name is Kim.": ("name", "Kim"),
    "I live in Oslo.": ("location.home", "Oslo"),
    "I have a cat called Miso.": ("pet.cat.miso", "Miso"),
    "My favourite food is ramen.": ("favourite.food", "ramen"),
}


def test_facts_survive_sigkill_right_after_the_last_reply(run: Run, tmp_path: Path) -> None:
    data = tmp_path / "data"
    chat = subprocess.Popen(
        [str(SCRIPT), "chat", "--user", "kim", "--data-dir", str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert chat.stdin is not None and chat.stdout is not None
    try:
        assert chat.stdout.readline()  # the greeting
        for statement in STATEMENTS:
            chat.stdin.write(statement + "\n")
            chat.stdin.flush()
            assert chat.stdout.readline().strip()  # its reply: the turn is journalled by now
        os.kill(chat.pid, signal.SIGKILL)
    finally:
        chat.kill()
        chat.wait(timeout=30)
    assert chat.returncode == -signal.SIGKILL

    listed = run("memories", "list", "--user", "kim", "--json", "--data-dir", str(data), data=False)
    assert listed.returncode == 0, listed.stderr
    stored = {m["key"]: m["value"] for m in json.loads(listed.stdout)}
    for key, value in STATEMENTS.values():
        assert stored.get(key) == value, (key, stored)
    assert len(stored) == len(STATEMENTS)  # and nothing twice
    with sqlite3.connect(data / "companion.db") as conn:
        pending = conn.execute(
            "SELECT count(*) FROM conversation_turns WHERE role = 'user' AND processed_at IS NULL"
        ).fetchone()[0]
    assert pending == 0

    # The killed session was never ended; the next one still greets by picking it up.
    again = run("chat", "--user", "kim", "--data-dir", str(data), stdin="", data=False)
    assert again.returncode == 0, again.stderr
    greeting = again.stdout.splitlines()[0]
    assert greeting.startswith("Welcome back, Kim!"), greeting
    assert "Last time you told me that" in greeting and "Oslo" in greeting, greeting
