"""A move shows up in `memories list` as what was true before; a forget request removes it."""

from __future__ import annotations

import json
import re

from tests.e2e.conftest import Run

WAS = re.compile(
    r"^    was: Paris \(\d{4}-\d\d-\d\d \d\d:\d\d \u2013 \d{4}-\d\d-\d\d \d\d:\d\d\)$", re.M
)


def test_moving_is_listed_with_where_you_lived_before_and_forgetting_removes_it(
    run: Run,
) -> None:
    assert run("chat", "--user", "ada", stdin="I live in Paris.\n").returncode == 0
    assert run("chat", "--user", "ada", stdin="I moved to Berlin.\n").returncode == 0

    listed = run("memories", "list", "--user", "ada")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    (current,) = [i for i, line in enumerate(lines) if "Lives in Berlin" in line]
    assert WAS.match(lines[current + 1]), listed.stdout
    assert "Lives in Paris" not in listed.stdout

    (record,) = json.loads(run("memories", "list", "--user", "ada", "--json").stdout)
    assert record["value"] == "Berlin"
    assert [(h["text"], h["value"]) for h in record["history"]] == [("Lives in Paris", "Paris")]
    assert record["history"][0]["valid_to"] == record["valid_from"]

    forgot = run("chat", "--user", "ada", stdin="Forget that I live in Berlin.\n")
    assert forgot.returncode == 0 and "forgotten" in forgot.stdout.lower()
    assert json.loads(run("memories", "list", "--user", "ada", "--json").stdout) == []
