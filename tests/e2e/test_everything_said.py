"""Nothing said is unfindable: a turn no extractor keeps is still found, and used by the
reply in a later session; forgetting a memory forgets the turn it came from too."""

from __future__ import annotations

import json

from tests.e2e.conftest import Run

BOOK = "The book I'm reading is called The Overstory."


def test_a_fact_no_extractor_keeps_is_found_and_used_in_a_later_session(run: Run) -> None:
    assert run("chat", "--user", "ada", stdin=f"{BOOK}\n").returncode == 0
    learned = json.loads(run("memories", "list", "--user", "ada", "--json").stdout)
    assert not any("Overstory" in m["text"] for m in learned)  # nothing was extracted

    found = json.loads(
        run("memories", "search", "--user", "ada", "which book am I reading", "--json").stdout
    )
    assert found and found[0]["text"] == BOOK
    assert found[0]["category"] == "observation"
    assert found[0]["metadata"]["turn"]  # the turn it keeps

    later = run("chat", "--user", "ada", stdin="What book am I reading?\n")
    assert later.returncode == 0, later.stderr
    assert "You told me on" in later.stdout and "The Overstory" in later.stdout
    assert "Overstory" not in run("memories", "search", "--user", "bo", "book").stdout


def test_forgetting_a_memory_forgets_the_turn_it_came_from(run: Run) -> None:
    said = "I live in Paris.\nI love the sea.\n"
    assert run("chat", "--user", "ada", stdin=said).returncode == 0
    (home,) = [
        m
        for m in json.loads(run("memories", "list", "--user", "ada", "--json").stdout)
        if m["key"] == "location.home"
    ]
    assert home["metadata"]["source_turns"]  # provenance: the turn it was said in
    before = run("memories", "search", "--user", "ada", "Paris", "--json").stdout
    # The memory and its turn are one finding: the memory, once.
    assert [m["text"] for m in json.loads(before) if "Paris" in m["text"]] == ["Lives in Paris"]

    forgot = run("chat", "--user", "ada", stdin="Forget that I live in Paris.\n")
    assert forgot.returncode == 0
    assert "Paris" in forgot.stdout.splitlines()[0]  # the greeting, before it was forgotten
    # Neither the next greeting nor any session summary brings it back.
    again = run("chat", "--user", "ada", stdin="hello\n")
    assert "Paris" not in again.stdout, again.stdout
    exported = json.loads(run("users", "export", "--user", "ada").stdout)
    assert not any("Paris" in json.dumps(s) for s in exported["summaries"])
    after = json.loads(run("memories", "search", "--user", "ada", "Paris", "--json").stdout)
    assert not any("Paris" in m["text"] for m in after), after
    assert any(
        "sea" in m["text"]
        for m in after
        + json.loads(run("memories", "search", "--user", "ada", "sea", "--json").stdout)
    )
