"""Answering questions about the user from memories, honestly, and acknowledging facts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import make_memory

from companion.adapters.local.answering import acknowledge, answer_question
from companion.adapters.local.extraction import extract_candidates
from companion.adapters.local.questions import Question, QuestionKind, parse_question
from companion.domain.models import Memory, MemoryCandidate, MemoryCategory, UserProfile
from companion.domain.phrasing import to_second_person

USER = uuid.UUID(int=7)
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def remember(text: str, *, at: datetime = T0) -> list[Memory]:
    """The memories a store would hold after the user said ``text``."""
    return [memory_from(c, at=at) for c in extract_candidates(text)]


def memory_from(candidate: MemoryCandidate, *, at: datetime = T0) -> Memory:
    return make_memory(
        USER,
        candidate.text,
        key=candidate.key,
        value=candidate.value,
        category=candidate.category,
        importance=candidate.importance,
        at=at,
    )


def profile(name: str | None = None, **extra: tuple[str, ...]) -> UserProfile:
    return UserProfile(user_id=USER, created_at=T0, updated_at=T0, name=name, **extra)


def ask(text: str, memories: list[Memory], who: UserProfile | None = None) -> str:
    question = parse_question(text)
    assert question is not None, text
    return answer_question(question, memories, who)


@pytest.mark.parametrize(
    ("text", "target", "kind"),
    [
        ("What's my dog called?", "pet.dog", QuestionKind.COLLECTION),
        ("What is my dog's name?", "pet.dog", QuestionKind.COLLECTION),
        ("What is my favourite colour?", "favourite.colour", QuestionKind.SLOT),
        ("what's my favorite color", "favourite.colour", QuestionKind.SLOT),
        ("What's my name?", "name", QuestionKind.SLOT),
        ("Who am I?", "name", QuestionKind.SLOT),
        ("Do you remember my name?", "name", QuestionKind.SLOT),
        ("Where do I live?", "location.home", QuestionKind.SLOT),
        ("Where do I work?", "work.", QuestionKind.COLLECTION),
        ("What do I like?", "likes.", QuestionKind.COLLECTION),
        ("Do I have any pets?", "pet.", QuestionKind.COLLECTION),
        ("What are my goals?", "goal.", QuestionKind.COLLECTION),
        ("Who is my sister?", "family.sister", QuestionKind.COLLECTION),
        ("What do you know about me?", "", QuestionKind.EVERYTHING),
        ("What do you remember about me?", "", QuestionKind.EVERYTHING),
        ("When is my exam?", "", QuestionKind.OPEN),
    ],
)
def test_questions_about_the_user_are_recognised(
    text: str, target: str, kind: QuestionKind
) -> None:
    question = parse_question(text)
    assert question is not None
    assert (question.target, question.kind) == (target, kind)


@pytest.mark.parametrize(
    "text",
    [
        "My name is Ada",
        "Remember my name is Ada.",
        "I like hiking",
        "How are you?",
        "What's the weather like?",
        "Tell me a joke",
        "",
    ],
)
def test_statements_and_questions_about_other_things_are_not_about_the_user(text: str) -> None:
    assert parse_question(text) is None


def test_the_worked_example_is_answered_from_memory() -> None:
    memories = remember(
        "Hi! My name is Ada and my favourite colour is green. I have a dog called Biscuit."
    )

    assert ask("What's my dog called?", memories) == "Your dog is called Biscuit."
    assert ask("What is my favourite colour?", memories) == "Your favourite colour is green."
    assert ask("What's my name?", memories) == "Your name is Ada."


def test_what_was_never_said_is_not_invented() -> None:
    memories = remember("My name is Ada and my favourite colour is green.")

    reply = ask("What's my dog called?", memories)
    assert reply == "I don't know that yet \u2014 you haven't told me what your dog is called."
    food = ask("What is my favourite food?", memories)
    assert "don't know" in food
    assert "green" not in food
    assert "don't know" in ask("Where do I live?", [])


def test_the_most_recent_value_of_a_single_valued_key_wins() -> None:
    memories = remember("I live in Paris", at=T0) + remember(
        "I moved to Berlin", at=T0 + timedelta(days=3)
    )
    assert ask("Where do I live?", list(reversed(memories))) == "You live in Berlin."


def test_several_pets_are_all_listed() -> None:
    memories = remember("I have a dog called Biscuit and two cats called Tom and Jerry.")

    assert (
        ask("Do I have any pets?", memories)
        == "Yes \u2014 your dog is called Biscuit and your cats are called Tom and Jerry."
    )
    assert ask("What are my cats called?", memories) == "Your cats are called Tom and Jerry."


def test_likes_goals_and_work_are_said_back_in_the_second_person() -> None:
    memories = remember(
        "I love hiking and I don't like mushrooms. I want to learn Spanish. "
        "I work at Acme as an engineer."
    )

    assert ask("What do I like?", memories) == "You told me you like hiking."
    assert ask("What don't I like?", memories) == "You told me you don't like mushrooms."
    assert ask("What are my goals?", memories) == "You told me that you want to learn Spanish."
    assert ask("Where do I work?", memories) == "You work at Acme as an engineer."


def test_what_do_you_know_lists_a_few_things_or_admits_nothing() -> None:
    memories = remember("My name is Ada. I have a dog called Biscuit. I live in Lahore.")

    reply = ask("What do you know about me?", memories)
    assert reply.startswith("Here's what I remember about you: ")
    for fact in ("your name is Ada", "you have a dog called Biscuit", "you live in Lahore"):
        assert fact in reply
    assert ask("What do you know about me?", []) == "I don't know anything about you yet."


def test_the_profile_answers_when_no_memory_does() -> None:
    assert ask("What's my name?", [], profile("Ada")) == "Your name is Ada."
    interested = profile(None, interests=("chess", "jazz"))
    assert ask("What do I like?", [], interested) == (
        "You told me you're interested in chess and jazz."
    )


def test_an_uncovered_question_is_answered_from_the_memory_sharing_its_words() -> None:
    memories = remember("Tomorrow I have an exam. My name is Ada.")

    assert ask("When is my exam?", memories) == "Here's what I remember: Has an exam tomorrow."
    assert ask("When is my dentist appointment?", memories) == "I don't know that yet."


def test_remembered_questions_are_not_offered_as_answers() -> None:
    turn = make_memory(
        USER, "When is my exam?", category=MemoryCategory.OBSERVATION, importance=3, at=T0
    )
    assert ask("When is my exam?", [turn]) == "I don't know that yet."


def test_acknowledgement_greets_a_new_name_and_says_what_it_will_remember() -> None:
    candidates = extract_candidates(
        "Hi! My name is Ada and my favourite colour is green. I have a dog called Biscuit."
    )
    assert acknowledge(candidates, None) == (
        "Nice to meet you, Ada! I'll remember that your favourite colour is green "
        "and that you have a dog called Biscuit."
    )


def test_acknowledgement_uses_the_name_the_profile_already_holds() -> None:
    reply = acknowledge(extract_candidates("I moved to Berlin"), profile("Ada"))
    assert reply == "Thanks for telling me, Ada! I'll remember that you live in Berlin."
    assert acknowledge(extract_candidates("my name is Ada"), None) == (
        "Nice to meet you, Ada! I'll remember your name."
    )


def test_memory_texts_turn_into_second_person() -> None:
    assert to_second_person("Has a dog called Biscuit") == "you have a dog called Biscuit"
    assert to_second_person("Favourite colour is green") == "your favourite colour is green"
    assert to_second_person("Needs to finish my thesis") == "you need to finish your thesis"
    assert to_second_person("The user likes tea") is None


def test_questions_match_their_key_and_everything_under_their_prefix() -> None:
    pets = Question(QuestionKind.COLLECTION, "pet.")
    dogs = Question(QuestionKind.COLLECTION, "pet.dog")
    assert pets.matches("pet.dog.biscuit")
    assert dogs.matches("pet.dog.biscuit")
    assert dogs.matches("pet.dog")
    assert not dogs.matches("pet.dogfish.x")
    assert not pets.matches(None)
    assert not pets.matches("petting.zoo")
