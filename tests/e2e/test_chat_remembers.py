"""The foundation's promise: tell it things once, and the next session remembers them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Run

FIRST = "Hi! My name is Ada and my favourite colour is green. I have a dog called Biscuit.\n"
SECOND = "What's my dog called?\nWhat is my favourite colour?\n"


def test_second_session_is_greeted_and_gets_the_facts_back(run: Run) -> None:
    first = run("chat", "--user", "ada", stdin=FIRST)
    assert first.returncode == 0, first.stderr
    greeting, reply = first.stdout.strip().splitlines()
    assert "name" in greeting.lower()  # a new user is asked their name
    assert "Ada" in reply and "Biscuit" in reply

    second = run("chat", "--user", "ada", stdin=SECOND)
    assert second.returncode == 0, second.stderr
    greeting, dog, colour = second.stdout.strip().splitlines()
    assert greeting.startswith("Welcome back, Ada")
    assert "Biscuit" in greeting and "green" in greeting  # it refers to the first conversation
    assert "Biscuit" in dog
    assert "green" in colour
    assert second.stderr == ""


def test_memories_are_listed_searched_exported_imported_and_forgotten(
    run: Run, tmp_path: Path
) -> None:
    assert run("chat", "--user", "ada", stdin=FIRST).returncode == 0

    listed = run("memories", "list", "--user", "ada", "--json")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    by_key = {r["key"]: r for r in records}
    assert by_key["name"]["value"] == "Ada"
    assert by_key["favourite.colour"]["value"] == "green"
    assert by_key["pet.dog.biscuit"]["value"] == "Biscuit"
    assert len(records) == 3

    found = run("memories", "search", "--user", "ada", "--json", "what pets do I have")
    assert json.loads(found.stdout)[0]["key"] == "pet.dog.biscuit"

    export_file = tmp_path / "ada.jsonl"
    assert run("memories", "export", "--user", "ada", "--out", str(export_file)).returncode == 0
    assert len(export_file.read_text().splitlines()) == 3
    imported = run("memories", "import", "--user", "grace", "--json", str(export_file))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout) == {"added": 3, "updated": 0, "skipped": 0}
    again = run("memories", "import", "--user", "grace", "--json", str(export_file))
    assert json.loads(again.stdout) == {"added": 0, "updated": 0, "skipped": 3}

    dog_id = by_key["pet.dog.biscuit"]["id"]
    forgot = run("memories", "forget", "--user", "ada", dog_id)
    assert forgot.returncode == 0 and "Biscuit" in forgot.stdout
    remaining = json.loads(run("memories", "list", "--user", "ada", "--json").stdout)
    assert {r["key"] for r in remaining} == {"name", "favourite.colour"}
    # Grace's copy is her own: forgetting Ada's dog did not touch it.
    grace = json.loads(run("memories", "list", "--user", "grace", "--json").stdout)
    assert "pet.dog.biscuit" in {r["key"] for r in grace}

    reindexed = run("memories", "reindex", "--user", "ada", "--json")
    assert json.loads(reindexed.stdout) == {
        "reindexed": 2,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "retried": 0,  # no parked turn to retry
        "done": 0,
    }


def test_quit_ends_the_session_and_later_lines_are_ignored(run: Run) -> None:
    result = run("chat", "--user", "bob", stdin="My name is Bob.\n/quit\nI live in Oslo.\n")
    assert result.returncode == 0
    assert len(result.stdout.strip().splitlines()) == 2
    listed = json.loads(run("memories", "list", "--user", "bob", "--json").stdout)
    assert [r["key"] for r in listed] == ["name"]


def test_python_dash_m_runs_the_same_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "companion", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("companion-agent ")


def test_importing_the_library_has_no_side_effects_and_no_cloud_sdks() -> None:
    code = (
        "import sys, companion, companion.domain.models, companion.ports, "
        "companion.main.container, companion.inbound.cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'livekit', 'openai', 'supabase', 'redis', 'torch'})\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert result.stderr == ""
