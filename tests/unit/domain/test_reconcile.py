"""Reconciliation: a new value updates and keeps the old one; a repeat changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from tests.conftest import T0, make_memory

from companion.domain.models import MemoryCandidate, MemoryCategory, MemoryRevision
from companion.domain.reconcile import Action, is_restatement, reconcile

ADA = uuid.UUID(int=1)
DAY = timedelta(days=1)
PARIS = make_memory(
    ADA, "Lives in Paris", key="location.home", value="Paris", category=MemoryCategory.PERSONAL
)


def said(text: str, value: str | None, *, forget: bool = False) -> MemoryCandidate:
    return MemoryCandidate(MemoryCategory.PERSONAL, text, 8, "location.home", value, forget)


def test_a_new_key_is_added() -> None:
    decision = reconcile(said("Lives in Paris", "Paris"), None, now=T0)
    assert (decision.action, decision.memory) == (Action.ADD, None)


def test_the_same_thing_said_again_in_other_case_and_spacing_changes_nothing() -> None:
    decision = reconcile(said("lives  in PARIS", "paris"), PARIS, now=T0)
    assert (decision.action, decision.memory) == (Action.NOOP, PARIS)
    # Said again later, the fact is the same; only when it was last said moves (event
    # time: a late statement of another value must not count as the newest word).
    later = reconcile(said("lives  in PARIS", "paris"), PARIS, now=T0 + DAY)
    assert (later.action, later.memory) == (Action.RESTATE, replace(PARIS, updated_at=T0 + DAY))


def test_a_new_value_updates_and_keeps_the_old_one_with_when_it_was_true() -> None:
    decision = reconcile(said("Lives in Berlin", "Berlin"), PARIS, now=T0 + DAY)
    assert decision.action is Action.UPDATE and decision.memory is not None
    berlin = decision.memory
    assert (berlin.id, berlin.text, berlin.value) == (PARIS.id, "Lives in Berlin", "Berlin")
    assert (berlin.updated_at, berlin.valid_from, berlin.created_at) == (T0 + DAY, T0 + DAY, T0)
    assert berlin.history == (MemoryRevision("Lives in Paris", "Paris", T0, T0 + DAY),)

    rome = reconcile(said("Lives in Rome", "Rome"), berlin, now=T0 + 3 * DAY).memory
    assert rome is not None
    assert [(h.value, h.valid_from, h.valid_to) for h in rome.history] == [
        ("Paris", T0, T0 + DAY),
        ("Berlin", T0 + DAY, T0 + 3 * DAY),
    ]


def test_a_rewording_of_the_same_value_is_not_history() -> None:
    decision = reconcile(said("Lives near Paris", "Paris"), PARIS, now=T0 + DAY)
    assert decision.action is Action.UPDATE and decision.memory is not None
    assert (decision.memory.text, decision.memory.history) == ("Lives near Paris", ())
    assert decision.memory.valid_from is None


def test_forgetting_deletes_only_the_value_named() -> None:
    assert reconcile(said("Lives in Paris", "Paris", forget=True), PARIS, now=T0).action is (
        Action.DELETE
    )
    assert reconcile(said("Forget my home", None, forget=True), PARIS, now=T0).action is (
        Action.DELETE
    )
    kept = reconcile(said("Lives in Rome", "Rome", forget=True), PARIS, now=T0)
    assert (kept.action, kept.memory) == (Action.NOOP, PARIS)
    assert reconcile(said("Lives in Rome", "Rome", forget=True), None, now=T0).action is (
        Action.NOOP
    )


def test_importance_never_drops_on_update() -> None:
    important = replace(PARIS, importance=10)
    decision = reconcile(said("Lives in Berlin", "Berlin"), important, now=T0 + DAY)
    assert decision.memory is not None and decision.memory.importance == 10


@pytest.mark.parametrize(
    ("new", "stored", "similarity", "expected"),
    [
        ("had a rough day at work!!", "Had a rough day at work.", 0.911, True),
        ("Had a rough day at work", "I had a really rough day at work", 0.963, True),
        ("Started learning the guitar", "Started learning guitar", 0.981, True),
        # a new word is new information, however close the vectors
        ("Went to Paris in June", "Went to Paris in May", 0.953, False),
        ("Went to Paris with Ana", "Went to Paris", 0.95, False),
        ("My brother lives in Lahore", "My sister lives in Lahore", 0.867, False),
        # the same words but vectors that disagree: not trusted either
        ("Work was rough today", "Had a rough day at work", 0.879, False),
        ("!!!", "Had a rough day", 0.99, False),
    ],
)
def test_a_restatement_adds_no_word_and_means_the_same(
    new: str, stored: str, similarity: float, expected: bool
) -> None:
    assert is_restatement(new, stored, similarity, floor=0.9) is expected
