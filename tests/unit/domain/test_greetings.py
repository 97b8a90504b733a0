"""Greetings pick up where the last conversation left off, and know how long ago it was."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from companion.domain.greetings import (
    compose_greeting,
    elapsed_phrase,
    summarize_session,
    without_forgotten,
)
from companion.domain.models import (
    ConversationTurn,
    GreetingKind,
    Memory,
    MemoryCategory,
    Role,
    UserProfile,
)

T = datetime(2026, 6, 1, 9, tzinfo=UTC)
USER, SESSION = uuid.UUID(int=1), uuid.UUID(int=2)


def learned(key: str, value: str, text: str, importance: int) -> Memory:
    return Memory(
        id=uuid.uuid4(),
        user_id=USER,
        category=MemoryCategory.FACT,
        text=text,
        importance=importance,
        created_at=T,
        updated_at=T,
        key=key,
        value=value,
    )


def turn(text: str) -> ConversationTurn:
    return ConversationTurn(uuid.uuid4(), USER, SESSION, Role.USER, text, T)


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(minutes=5), "so soon"),
        (timedelta(hours=3), "earlier today"),
        (timedelta(hours=20), "yesterday"),
        (timedelta(days=4), "four days"),
        (timedelta(days=21), "three weeks"),
        (timedelta(days=95), "three months"),
        (timedelta(days=800), "two years"),
    ],
)
def test_elapsed_phrase(elapsed: timedelta, expected: str) -> None:
    assert expected in elapsed_phrase(elapsed)


def test_new_user_is_welcomed_and_asked_their_name() -> None:
    greeting = compose_greeting(user_id=USER, profile=None, last_summary=None, now=T)
    assert greeting.kind is GreetingKind.NEW_USER
    assert "name" in greeting.text


def test_returning_user_hears_about_last_time() -> None:
    summary = summarize_session(
        user_id=USER,
        session_id=SESSION,
        turns=[turn("My name is Ada. I have a dog called Biscuit.")],
        learned=[
            learned("name", "Ada", "Name is Ada", 9),
            learned("pet.dog.biscuit", "Biscuit", "Has a dog called Biscuit", 7),
            learned("favourite.colour", "green", "Favourite colour is green", 5),
        ],
        started_at=T,
        ended_at=T + timedelta(minutes=10),
    )
    profile = UserProfile(user_id=USER, created_at=T, updated_at=T, name="Ada")
    greeting = compose_greeting(
        user_id=USER, profile=profile, last_summary=summary, now=T + timedelta(days=21)
    )
    assert greeting.kind is GreetingKind.RETURNING
    assert greeting.refers_to_session == SESSION
    assert "Welcome back, Ada" in greeting.text
    assert "three weeks" in greeting.text
    assert "dog called Biscuit" in greeting.text
    assert "favourite colour is green" in greeting.text


def test_session_without_new_facts_quotes_the_last_thing_said() -> None:
    summary = summarize_session(
        user_id=USER,
        session_id=SESSION,
        turns=[turn("I had a rough day at work")],
        learned=[],
        started_at=T,
        ended_at=T,
    )
    greeting = compose_greeting(user_id=USER, profile=None, last_summary=summary, now=T)
    assert "rough day at work" in greeting.text


def test_plans_left_out_of_the_topics_are_picked_up_next_time() -> None:
    summary = summarize_session(
        user_id=USER,
        session_id=SESSION,
        turns=[turn("I'm Ada, I live in Lahore, my sister is Zara, and I have an exam tomorrow")],
        learned=[
            learned("name", "Ada", "Name is Ada", 9),
            learned("location.home", "Lahore", "Lives in Lahore", 8),
            learned("family.sister.zara", "Zara", "Has a sister called Zara", 7),
            learned("plan.exam_tomorrow", "exam tomorrow", "Has an exam tomorrow", 6),
        ],
        started_at=T,
        ended_at=T,
    )
    assert summary.open_threads == ("you have an exam tomorrow",)
    greeting = compose_greeting(user_id=USER, profile=None, last_summary=summary, now=T)
    assert "You also mentioned you have an exam tomorrow." in greeting.text
    assert "sister called Zara" in greeting.text  # the topics are still there


def test_a_forgotten_memory_leaves_the_summary_and_the_next_greeting() -> None:
    home = learned("location.home", "Paris", "Lives in Paris", 8)
    sea = learned("likes.sea", "the sea", "Loves the sea", 5)
    told = summarize_session(
        user_id=USER, session_id=SESSION, turns=[], learned=[home, sea], started_at=T, ended_at=T
    )
    assert "Paris" in told.summary
    scrubbed = without_forgotten(told, [home])
    assert scrubbed is not None
    assert "Paris" not in f"{scrubbed.summary} {scrubbed.next_greeting} {scrubbed.topics}"
    assert "sea" in scrubbed.summary and scrubbed.id == told.id
    assert without_forgotten(scrubbed, [home]) is None  # nothing left to take out
    # The session that asked to forget never quotes the request (whatever its case).
    quiet = summarize_session(
        user_id=USER,
        session_id=SESSION,
        turns=[turn("Forget that I live in paris.")],
        learned=[],
        started_at=T,
        ended_at=T,
        forgotten=[home],
    )
    assert (quiet.summary, quiet.next_greeting) == ("We chatted.", "Last time we chatted.")
