"""Query expansion, participant-name masking, and what a query singles out."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from companion.domain.answer_type import AnswerType
from companion.domain.query import (
    QueryFocus,
    expand_query,
    focus_of,
    mask_names,
    named_participants,
)
from companion.domain.temporal import TimeWindow
from companion.domain.text import STOP_WORDS, search_tail


def test_terms_drop_stop_words_and_possessives() -> None:
    q = expand_query("When did Caroline's sister go to the LGBTQ support group?")
    assert q.terms == ("caroline", "sister", "go", "lgbtq", "support", "group")
    assert "lgbtq support" in q.phrases and "support group" in q.phrases
    # words separated by a stop word never form a phrase
    assert not any("go" in p.split() and "lgbtq" in p.split() for p in q.phrases)


def test_phrases_can_be_switched_off() -> None:
    assert expand_query("support group meeting", phrases=False).phrases == ()


@given(st.text(max_size=300))
def test_expansion_never_fails_and_never_keeps_stop_words(text: str) -> None:
    q = expand_query(text)
    assert len(q.terms) == len(set(q.terms)) <= 16
    assert not set(q.terms) & STOP_WORDS
    assert all(len(p.split()) == 2 for p in q.phrases)
    assert len(q.phrases) <= 8


def test_participants_are_masked_whole_words_only() -> None:
    names = ["Caroline", "Mel"]
    assert (
        mask_names("Caroline told Mel about Caroline's trip to Melbourne", names)
        == "they told they about their trip to Melbourne"
    )
    assert mask_names("caroline", names) == "they"
    assert mask_names("nothing to mask", []) == "nothing to mask"


@given(st.text(max_size=200), st.lists(st.text(min_size=1, max_size=20), max_size=4))
def test_masking_never_fails_and_removes_every_name(text: str, names: list[str]) -> None:
    masked = mask_names(text, names)
    assert isinstance(masked, str)
    if not [n for n in names if n.strip()]:
        assert masked == text


def test_participants_names_are_not_search_terms() -> None:
    q = expand_query("What did Caroline's sister Maria paint?", participants=["Caroline", "Mel"])
    assert q.terms == ("sister", "maria", "paint")
    assert "caroline sister" not in q.phrases and "sister maria" in q.phrases


@given(text=st.text(min_size=1, max_size=300), limit=st.integers(1, 120))
def test_search_tail_is_the_end_of_the_text_and_fits(text: str, limit: int) -> None:
    tail = search_tail(text, limit)
    assert len(tail) <= limit
    assert tail in text.strip()
    assert text.strip().endswith(tail)
    if len(text.strip()) <= limit:
        assert tail == text.strip()
    elif text.strip():
        assert tail  # something is always searched


def test_a_question_about_one_participant_names_them() -> None:
    people = ("Caroline", "Melanie")
    assert named_participants("What did Caroline's sister paint?", people) == ("caroline",)
    assert named_participants("what did MELANIE paint", people) == ("melanie",)
    # Naming everybody, or nobody, singles nobody out.
    assert named_participants("What do Caroline and Melanie both like?", people) == ()
    assert named_participants("What did she paint?", people) == ()
    assert named_participants("What did Carolineville build?", people) == ()
    assert named_participants("What did Caroline paint?", ()) == ()


@given(st.text(max_size=200), st.lists(st.text(max_size=12), max_size=4))
def test_named_participants_are_some_but_never_all(text: str, people: list[str]) -> None:
    named = named_participants(text, people)
    everyone = {p.strip().casefold() for p in people if p.strip()}
    assert set(named) <= everyone
    assert not everyone or set(named) != everyone


def test_focus_joins_the_time_window_and_the_names() -> None:
    now = datetime(2024, 1, 10, tzinfo=UTC)
    focus = focus_of(
        "What did Maria donate in December 2023?",
        now=now,
        participants=("Maria", "John"),
        slack_days=0,
    )
    assert focus == QueryFocus(
        window=TimeWindow(datetime(2023, 12, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
        names=("maria",),
    )
    pattern = focus.names_pattern()
    assert pattern is not None and pattern.search("Maria started aerial yoga")
    assert not pattern.search("Mariachi band")
    assert focus_of("hello", now=now) == QueryFocus()
    # A statement's date is when its news happened, not which memories to recall.
    assert focus_of("I'm off to Paris in December 2023", now=now).window is None
    assert focus_of("When did I start yoga?", now=now).answer is AnswerType.TIME
    assert QueryFocus().names_pattern() is None
