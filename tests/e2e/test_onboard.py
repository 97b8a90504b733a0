"""`companion-agent onboard`: a new user set up from a form, then greeted by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.conftest import Run

FORM = {
    "name": "Ada",
    "interests": ["chess", "hiking"],
    "goals": ["learn Spanish"],
    "preferences": {"colour": "green"},
    "language": "en",
}


def test_onboarding_sets_up_profile_and_memories_once(run: Run, tmp_path: Path) -> None:
    form = tmp_path / "form.json"
    form.write_text(json.dumps(FORM))
    first = run("onboard", "--user", "ada", str(form), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["name"] == "Ada" and report["interests"] == ["chess", "hiking"]
    assert report["memories"] == {"added": 5, "updated": 0, "unchanged": 0}
    again = json.loads(run("onboard", "--user", "ada", str(form), "--json").stdout)
    assert again["memories"] == {"added": 0, "updated": 0, "unchanged": 5}

    chat = run("chat", "--user", "ada", stdin="What do I like?\nWhat is my favourite colour?\n")
    greeting, likes, colour = chat.stdout.strip().splitlines()
    assert greeting.startswith("Hi Ada")
    assert "chess" in likes and "hiking" in likes
    assert "green" in colour


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"name": "Ada", "age": 30}', "age"),
        ('{"interests": [""]}', "interests"),
        ('["a list"]', "onboarding"),
    ],
)
def test_bad_forms_are_one_clear_line_and_write_nothing(
    run: Run, tmp_path: Path, content: str, needle: str
) -> None:
    form = tmp_path / "form.json"
    form.write_text(content)
    result = run("onboard", "--user", "ada", str(form))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
    listed = run("memories", "list", "--user", "ada")
    assert listed.stdout.strip() == "No memories."
