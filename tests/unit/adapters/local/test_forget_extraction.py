"""Requests to forget: read only from requests, keyed like the statement they name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from companion.adapters.local.extraction import extract_candidates
from companion.domain.errors import InvalidInput
from companion.domain.models import MemoryCandidate, MemoryCategory
from companion.domain.validation import validate_candidate


@pytest.mark.parametrize(
    ("said", "keys"),
    [
        ("Forget that I live in Paris", [("location.home", "Paris")]),
        ("please forget my dog's name", [("pet.dog.", None)]),
        ("forget about my sister", [("family.sister.", None)]),
        ("Forget about my sister Zara.", [("family.sister.zara", "Zara")]),
        ("Forget that I have a dog called Rex!", [("pet.dog.rex", "Rex")]),
        ("Please forget my name", [("name", None)]),
        ("forget my favourite colour", [("favourite.colour", None)]),
        ("Forget where I work", [("work.employer", None), ("work.role", None)]),
        ("forget my best friend", [("friend.", None)]),
    ],
)
def test_a_request_to_forget_names_the_key_the_statement_would_fill(
    said: str, keys: list[tuple[str, str | None]]
) -> None:
    found = extract_candidates(said)
    assert all(c.forget for c in found)
    assert [(c.key, c.value) for c in found] == keys


@pytest.mark.parametrize(
    "said",
    [
        "I live in Paris",
        "Don't forget that I live in Paris",
        "I forget where I parked",
        "I always forget my keys",
        "Can you forget my name?",
        "Did I ask you to forget my dog's name?",
        "Why did you forget that I live in Paris?",
        "Forget it",
        "forget about it, never mind",
        "My dog's name is Biscuit",
    ],
)
def test_questions_and_statements_never_ask_to_forget(said: str) -> None:
    assert not any(c.forget for c in extract_candidates(said))


def test_a_family_key_is_allowed_only_when_forgetting() -> None:
    family = MemoryCandidate(MemoryCategory.RELATIONSHIP, "Forget my dogs", key="pet.dog.")
    with pytest.raises(InvalidInput):
        validate_candidate(family)
    assert validate_candidate(replace(family, forget=True)).key == "pet.dog."
    with pytest.raises(InvalidInput):
        validate_candidate(MemoryCandidate(MemoryCategory.FACT, "Forget it", forget=True))
