"""`companion-agent users export|erase` as a user runs them, on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Run


def test_a_user_is_exported_whole_then_erased_and_another_user_keeps_everything(
    run: Run, tmp_path: Path
) -> None:
    said = "I live in Lahore.\nMy favourite animal is the quetzalcoatlus.\n"
    assert run("chat", "--user", "ada", stdin=said).returncode == 0
    assert run("chat", "--user", "bo", stdin="I live in Oslo.\n").returncode == 0

    out = tmp_path / "ada.json"
    assert run("users", "export", "--user", "ada", "--out", str(out)).returncode == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["format"] == "companion-user-export/1"
    assert [t["text"] for t in exported["turns"] if t["role"] == "user"] == said.splitlines()
    assert {m["value"] for m in exported["memories"]} >= {"Lahore"}
    assert exported["profile"]["user_id"] == exported["user_id"]
    assert exported["summaries"]  # the chat ended: its summary is there

    refused = run("users", "erase", "--user", "ada")
    assert refused.returncode == 2
    assert "cannot be undone: add --yes" in refused.stderr
    listed = json.loads(run("memories", "list", "--user", "ada", "--json").stdout)
    learned = [m for m in exported["memories"] if m["category"] != "observation"]
    assert len(listed) == len(learned)  # nothing was erased
    # Every turn said is in the export twice over: in the journal, and kept for retrieval.
    kept = [m["text"] for m in exported["memories"] if m["category"] == "observation"]
    assert kept == said.splitlines()

    erased = run("users", "erase", "--user", "ada", "--yes", "--json")
    assert erased.returncode == 0, erased.stderr
    report = json.loads(erased.stdout)
    assert report["memories"] == len(exported["memories"])
    assert report["conversation_rows"] == len(exported["turns"]) + len(exported["summaries"])
    after = json.loads(run("users", "export", "--user", "ada").stdout)
    assert (after["profile"], after["memories"], after["turns"], after["summaries"]) == (
        None,
        [],
        [],
        [],
    )
    found = run("memories", "search", "--user", "ada", "quetzalcoatlus", "--json")
    assert json.loads(found.stdout) == []
    bo = json.loads(run("memories", "list", "--user", "bo", "--json").stdout)
    assert [m["value"] for m in bo if m["key"] == "location.home"] == ["Oslo"]
    assert "users needs an action" in run("users").stderr
