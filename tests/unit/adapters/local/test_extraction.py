"""Pattern extraction: what a user says about themselves becomes keyed memory candidates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.adapters.local.extraction import (
    extract_candidates,
    favourite_key,
    pet_key,
    slugify,
)
from companion.domain.models import MemoryCandidate, MemoryCategory
from companion.domain.validation import validate_candidate, validate_key

WORKED_EXAMPLE = "Hi! My name is Ada and my favourite colour is green. I have a dog called Biscuit."


def facts(text: str) -> dict[str | None, str | None]:
    return {c.key: c.value for c in extract_candidates(text)}


def test_the_worked_example_gives_name_colour_and_dog_in_order() -> None:
    found = extract_candidates(WORKED_EXAMPLE)

    assert [(c.key, c.value) for c in found] == [
        ("name", "Ada"),
        ("favourite.colour", "green"),
        ("pet.dog.biscuit", "Biscuit"),
    ]
    assert [c.text for c in found] == [
        "Name is Ada",
        "Favourite colour is green",
        "Has a dog called Biscuit",
    ]
    assert [c.category for c in found] == [
        MemoryCategory.PERSONAL,
        MemoryCategory.PREFERENCE,
        MemoryCategory.RELATIONSHIP,
    ]
    assert found[0].importance == 9


@pytest.mark.parametrize(
    "question",
    [
        "What's my name?",
        "Do I have a dog?",
        "What is my favourite colour?",
        "Where do I live",
        "Do you remember my name is Ada?",
        "My name is Ada?",
    ],
)
def test_questions_are_not_remembered_as_facts(question: str) -> None:
    assert extract_candidates(question) == []


@pytest.mark.parametrize(
    "text",
    ["my name is not Ada", "My name isn't Bob.", "I don't live in Paris", "I don't have a dog"],
)
def test_negated_statements_are_not_remembered(text: str) -> None:
    assert extract_candidates(text) == []


def test_not_liking_something_is_a_dislike_not_a_like() -> None:
    found = extract_candidates("I don't like mushrooms.")

    assert [(c.key, c.value, c.text) for c in found] == [
        ("dislikes.mushrooms", "mushrooms", "Doesn't like mushrooms")
    ]
    assert facts("I can't stand loud music") == {"dislikes.loud_music": "loud music"}
    assert facts("I hate rain") == {"dislikes.rain": "rain"}


def test_moving_somewhere_updates_where_the_user_lives() -> None:
    (moved,) = extract_candidates("I moved to Berlin")

    assert (moved.key, moved.value, moved.text) == ("location.home", "Berlin", "Lives in Berlin")
    assert facts("I live in Paris.") == {"location.home": "Paris"}
    assert facts("I moved to Berlin two years ago") == {"location.home": "Berlin"}


def test_american_spelling_fills_the_same_favourite_slot() -> None:
    assert facts("my favorite color is blue") == {"favourite.colour": "blue"}
    assert facts("My favourite colour is blue!") == {"favourite.colour": "blue"}
    assert facts("Green is my favourite colour") == {"favourite.colour": "Green"}
    assert favourite_key("favorite colors") == "favourite.colour"
    assert facts("my favourite film is Alien") == {"favourite.movie": "Alien"}


def test_several_facts_in_one_breath_are_all_kept() -> None:
    text = (
        "I'm Ada, I live in Paris and work at Acme as an engineer. "
        "My sister is called Maria and I love hiking, swimming and reading."
    )

    assert facts(text) == {
        "name": "Ada",
        "location.home": "Paris",
        "work.employer": "Acme",
        "work.role": "engineer",
        "family.sister.maria": "Maria",
        "likes.hiking": "hiking",
        "likes.swimming": "swimming",
        "likes.reading": "reading",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my dog's name is Biscuit", {"pet.dog.biscuit": "Biscuit"}),
        ("my cat is called tom", {"pet.cat.tom": "Tom"}),
        ("Biscuit is my dog", {"pet.dog.biscuit": "Biscuit"}),
        ("I have two cats called Tom and Jerry", {"pet.cat.tom": "Tom", "pet.cat.jerry": "Jerry"}),
        (
            "I have a dog called Biscuit and a cat called Tom",
            {"pet.dog.biscuit": "Biscuit", "pet.cat.tom": "Tom"},
        ),
        ("We have a puppy named Max", {"pet.dog.max": "Max"}),
    ],
)
def test_pets_are_keyed_by_species_and_name(text: str, expected: dict[str, str]) -> None:
    assert facts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my sister is called Maria", {"family.sister.maria": "Maria"}),
        ("my brother's name is Ali", {"family.brother.ali": "Ali"}),
        ("I love my wife Sarah", {"family.wife.sarah": "Sarah"}),
        ("my best friend is Tom", {"friend.tom": "Tom"}),
        ("my mum's name is Amina", {"family.mother.amina": "Amina"}),
    ],
)
def test_family_and_friends_are_relationships(text: str, expected: dict[str, str]) -> None:
    found = extract_candidates(text)
    assert {c.key: c.value for c in found} == expected
    assert all(c.category is MemoryCategory.RELATIONSHIP for c in found)


def test_names_are_capitalised_and_stripped_of_filler() -> None:
    assert facts("ok so my name's sam, nice to meet you") == {"name": "Sam"}
    assert facts("my name is ada lovelace and i live in new york") == {
        "name": "Ada Lovelace",
        "location.home": "New York",
    }
    assert facts("Call me Ada.") == {"name": "Ada"}


@pytest.mark.parametrize("text", ["I'm tired", "I'm British.", "Call me tomorrow", "I'm a big fan"])
def test_words_that_only_look_like_names_are_not_names(text: str) -> None:
    assert "name" not in facts(text)


def test_goals_and_dated_plans() -> None:
    (goal,) = extract_candidates("I want to learn Spanish")
    assert (goal.key, goal.category, goal.text) == (
        "goal.learn_spanish",
        MemoryCategory.GOAL,
        "Wants to learn Spanish",
    )
    assert facts("I'm learning Spanish") == {"goal.learn_spanish": "Spanish"}
    assert "goal.run_a_marathon" in facts("I'm planning to run a marathon")

    (plan,) = extract_candidates("Tomorrow I have an exam.")
    assert (plan.key, plan.category, plan.text) == (
        "plan.exam",
        MemoryCategory.EVENT,
        "Has an exam tomorrow",
    )
    assert "plan.lahore" in facts("next week I'm going to Lahore")


def test_chit_chat_and_requests_are_not_remembered() -> None:
    for text in ("Hello!", "How are you?", "I love you", "I want to know what my name is"):
        assert extract_candidates(text) == []


def test_saying_the_same_thing_twice_gives_one_memory_with_the_correction() -> None:
    found = extract_candidates("My name is Ada. My name is Ada. Actually my name is Ann.")
    assert [(c.key, c.value) for c in found] == [("name", "Ann")]


def test_text_in_other_scripts_still_gets_valid_keys() -> None:
    assert facts("\u0645\u06cc\u0631\u0627 \u0646\u0627\u0645 \u0639\u0644\u06cc \u06c1\u06d2") == {
        "name": "\u0639\u0644\u06cc"
    }
    (like,) = extract_candidates("I love \u0686\u0627\u0626\u06d2")
    assert like.key is not None
    assert validate_key(like.key) == like.key
    assert like.key == f"likes.{slugify(chr(0x686) + chr(0x627) + chr(0x626) + chr(0x6D2))}"


def test_slugs_are_short_ascii_and_stable() -> None:
    assert slugify("Crème Brûlée!") == "creme_brulee"
    assert len(slugify("word " * 40)) <= 40
    assert slugify("\u0686\u0627\u0626\u06d2") == slugify("\u0686\u0627\u0626\u06d2  ")
    assert pet_key("guinea pig", "Mr Nibbles") == "pet.guinea_pig.mr_nibbles"


VOCABULARY = (
    "my name is I'm I have a dog cat called named and , . ? ! Ada Tom live in work at as "
    "favourite color like love hate don't not want to learn next week tomorrow exam sister "
    "Sarah 30 years old from Lahore going the what where do you my dog's \u06c1\u06d2"
)
sentences = st.lists(st.sampled_from(VOCABULARY.split()), max_size=25).map(" ".join)


@given(st.one_of(st.text(), sentences))
def test_any_text_gives_valid_unique_deterministic_candidates(text: str) -> None:
    found = extract_candidates(text)

    assert all(isinstance(c, MemoryCandidate) for c in found)
    assert all(validate_candidate(c) == c for c in found)
    keys = [c.key for c in found]
    assert len(keys) == len(set(keys))
    assert extract_candidates(text) == found


def test_very_long_input_is_read_quickly_without_error() -> None:
    assert extract_candidates("my dog is called " + "Rex and " * 2_000) != []
    assert extract_candidates("a" * 50_000) == []
