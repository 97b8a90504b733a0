"""Remembered facts are said back to the user in the second person, and listed naturally."""

from __future__ import annotations

import uuid

import pytest
from tests.conftest import make_memory

from companion.domain.phrasing import describe_for_user, join_phrases, to_second_person

USER = uuid.UUID(int=3)


@pytest.mark.parametrize(
    ("key", "value", "text", "expected"),
    [
        ("name", "Ada", "Name is Ada", "your name is Ada"),
        # The text wins where it can be said back: it keeps its detail.
        ("location.home", "Berlin", "Lives near Berlin", "you live near Berlin"),
        ("work.employer", "Acme", "Works for Acme", "you work for Acme"),
        # Texts that cannot be turned round fall back to the key's template.
        ("location.home", "Berlin", "Home: Berlin", "you live in Berlin"),
        ("work.employer", "Acme", "Employer: Acme", "you work at Acme"),
        (
            "pet.guinea_pig.squeak",
            "Squeak",
            "Pet guinea pig Squeak",
            "you have a guinea pig called Squeak",
        ),
        ("pet.iguana.iggy", "Iggy", "Pet: Iggy", "you have an iguana called Iggy"),
        ("pet.dog.biscuit", "Biscuit", "Has a dog called Biscuit", "you have a dog called Biscuit"),
        (
            "favourite.ice_cream",
            "mint",
            "Favourite ice cream is mint",
            "your favourite ice cream is mint",
        ),
        ("family.sister.zara", "Zara", "Has a sister called Zara", "you have a sister called Zara"),
        ("family.sister.zara", "Zara", "Sister: Zara", "your sister is called Zara"),
        ("family.mother.amina", "Amina", "Mother is called Amina", "your mother is called Amina"),
        ("friend.sam", "Sam", "Has a friend called Sam", "you have a friend called Sam"),
        ("friend.sam", "Sam", "Friend: Sam", "your friend is called Sam"),
    ],
)
def test_a_keyed_memory_is_described_from_its_text_or_its_key(
    key: str, value: str, text: str, expected: str
) -> None:
    memory = make_memory(USER, text, key=key, value=value)
    assert describe_for_user(memory) == expected


@pytest.mark.parametrize(
    ("key", "value", "text", "expected"),
    [
        ("likes.hiking", "hiking", "Likes hiking.", "you like hiking"),
        (
            "goal.finish_thesis",
            "finish my thesis",
            "Wants to finish my thesis",
            "you want to finish your thesis",
        ),
        ("plan.exam", "exam tomorrow", "Has an exam tomorrow", "you have an exam tomorrow"),
        ("location.origin", "Karachi", "Is from Karachi!", "you're from Karachi"),
        # A template key without a value says what the text says.
        ("name", None, "Name is Ada", "your name is Ada"),
        (None, None, "Favourite colour is green", "your favourite colour is green"),
    ],
)
def test_other_memories_are_their_text_in_the_second_person(
    key: str | None, value: str | None, text: str, expected: str
) -> None:
    memory = make_memory(USER, text, key=key, value=value)
    assert describe_for_user(memory) == expected


def test_text_that_cannot_be_turned_round_is_lower_cased_without_its_full_stop() -> None:
    memory = make_memory(USER, "The user had a rough day at work.")
    assert to_second_person(memory.text) is None
    assert describe_for_user(memory) == "the user had a rough day at work"


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], ""),
        (["tea"], "tea"),
        (["tea", "jazz"], "tea and jazz"),
        (["tea", "jazz", "chess"], "tea, jazz and chess"),
        (["tea", "", "chess"], "tea and chess"),
    ],
)
def test_phrases_are_joined_with_commas_and_a_final_and(items: list[str], expected: str) -> None:
    assert join_phrases(items) == expected


def test_the_joining_word_can_be_changed() -> None:
    assert join_phrases(("tea", "coffee", "juice"), word="or") == "tea, coffee or juice"
