"""A question's answer type, and which memories could hold such an answer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.answer_type import AnswerType, answer_type, is_question, may_answer


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did Caroline go to the support group?", AnswerType.TIME),
        ("so, when did I start yoga", AnswerType.TIME),
        ("Remind me what year we went to Lahore?", AnswerType.TIME),
        ("How long has Tim been playing the piano?", AnswerType.TIME),
        ("How many children does Melanie have?", AnswerType.NUMBER),
        ("how often do I go running", AnswerType.NUMBER),
        ("Where did Nate take his turtles?", AnswerType.PLACE),
        ("Which country did Tim visit most?", AnswerType.PLACE),
        ("What states has Maria vacationed at?", AnswerType.PLACE),
        ("What did Caroline paint?", None),
        ("Tell me about the time when we met", None),  # "when" not asked
        ("I'll call you when I'm home", None),
        ("", None),
    ],
)
def test_answer_type_of_a_question(question: str, kind: AnswerType | None) -> None:
    assert answer_type(question) is kind


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("Started aerial yoga last week", AnswerType.TIME, True),
        ("Went camping in June 2023", AnswerType.TIME, True),
        ("Her birthday party is on Saturday", AnswerType.TIME, True),
        ("The trip was in May", AnswerType.TIME, True),
        ("She may go camping", AnswerType.TIME, False),
        ("Loves painting sunsets", AnswerType.TIME, False),
        ("Has three kids", AnswerType.NUMBER, True),
        ("Runs 5 km", AnswerType.NUMBER, True),
        ("Goes to the gym twice", AnswerType.NUMBER, True),
        ("Has kids", AnswerType.NUMBER, False),
        ("Took the turtles to the beach in Tampa", AnswerType.PLACE, True),
        ("Visited the Smoky Mountains", AnswerType.PLACE, True),
        ("Loves the beach", AnswerType.PLACE, False),
        ("Caroline went to the support group", AnswerType.PLACE, False),
    ],
)
def test_may_answer(text: str, kind: AnswerType, expected: bool) -> None:
    assert may_answer(text, kind) is expected


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("What did I do in June?", True),
        ("what did i do in june", True),
        ("So, where did we go last year", True),
        ("Do you remember my trip last week", True),
        ("Tell me about last week", True),
        ("remind me what I said yesterday", True),
        ("since when have I had the dog", True),
        ("I told you about it yesterday?", True),
        ("I'm going to Paris in June", False),
        ("Last week I started yoga", False),
        ("Whatever, I went there in 2023", False),
        ("", False),
    ],
)
def test_is_question(text: str, asks: bool) -> None:
    assert is_question(text) is asks


@given(st.text(max_size=300), st.sampled_from(AnswerType))
def test_never_fails_on_any_text(text: str, kind: AnswerType) -> None:
    assert answer_type(text) in (None, *AnswerType)
    assert is_question(text) in (True, False)
    # Every question with an answer type is a question.
    assert answer_type(text) is None or is_question(text)
    assert may_answer(text, kind) in (True, False)
