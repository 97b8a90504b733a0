"""Ranking properties: bounded, monotone in relevance, recency and focus, order-invariant."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.answer_type import AnswerType
from companion.domain.errors import InvalidInput
from companion.domain.models import Candidate, Memory, MemoryCategory
from companion.domain.query import QueryFocus
from companion.domain.scoring import RankingWeights, rank, time_decay
from companion.domain.temporal import TimeWindow

NOW = datetime(2026, 6, 1, tzinfo=UTC)
USER = uuid.UUID(int=1)

signal = st.one_of(st.none(), st.floats(min_value=-5, max_value=50, allow_nan=False))


def memory(
    importance: int = 5,
    age_days: float = 1.0,
    thread: str | None = None,
    position: int | None = None,
) -> Memory:
    when = NOW - timedelta(days=age_days)
    return Memory(
        id=uuid.uuid4(),
        user_id=USER,
        category=MemoryCategory.FACT,
        text="x",
        importance=importance,
        created_at=when,
        updated_at=when,
        thread=thread,
        position=position,
    )


candidates = st.lists(
    st.builds(
        Candidate,
        memory=st.builds(
            memory,
            importance=st.integers(1, 10),
            age_days=st.floats(min_value=0, max_value=3650, allow_nan=False),
            thread=st.one_of(st.none(), st.sampled_from(["s1", "s2"])),
            position=st.one_of(st.none(), st.integers(0, 6)),
        ),
        lexical=signal,
        dense=st.one_of(st.none(), st.floats(min_value=-1, max_value=1, allow_nan=False)),
    ),
    max_size=30,
)
weights = st.builds(
    RankingWeights,
    lexical=st.floats(0.01, 1),
    dense=st.floats(0, 1),
    neighbour=st.floats(0, 2),
    thread=st.floats(0, 2),
    importance=st.floats(0, 0.45),
    recency=st.floats(0, 0.45),
    half_life_days=st.floats(0.1, 1000),
    window=st.integers(0, 3),
    temporal=st.floats(0, 3),
    named=st.floats(0, 3),
    answer=st.floats(0, 3),
)
focuses = st.builds(
    QueryFocus,
    window=st.one_of(
        st.none(),
        st.builds(
            lambda start, days: TimeWindow(start, start + timedelta(days=days)),
            st.datetimes(
                min_value=datetime(2016, 1, 1),
                max_value=datetime(2026, 6, 1),
                timezones=st.just(UTC),
            ),
            st.floats(0.01, 400),
        ),
    ),
    names=st.one_of(st.just(()), st.just(("x",)), st.just(("nobody",))),
    answer=st.one_of(st.none(), st.sampled_from(AnswerType)),
)


@given(candidates, weights, focuses)
def test_scores_are_bounded_and_sorted(
    cands: list[Candidate], w: RankingWeights, focus: QueryFocus
) -> None:
    ranked = rank(cands, now=NOW, weights=w, limit=100, focus=focus)
    assert len(ranked) == len(cands)
    assert all(0.0 <= s.score <= 1.0 for s in ranked)
    assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)


@given(candidates, weights, focuses, st.randoms())
def test_ranking_ignores_candidate_order(
    cands: list[Candidate], w: RankingWeights, focus: QueryFocus, rnd
) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    a = rank(cands, now=NOW, weights=w, limit=10, focus=focus)
    b = rank(shuffled, now=NOW, weights=w, limit=10, focus=focus)
    assert [(s.memory.id, s.score) for s in a] == [(s.memory.id, s.score) for s in b]


@given(candidates, st.floats(0, 20), st.floats(0.01, 30), focuses)
def test_more_relevant_never_scores_lower(
    cands: list[Candidate], base: float, bump: float, focus: QueryFocus
) -> None:
    target = Candidate(memory(), lexical=base, dense=0.3)
    better = Candidate(target.memory, lexical=base + bump, dense=0.3)
    w = RankingWeights()
    before = {
        s.memory.id: s.score
        for s in rank([*cands, target], now=NOW, weights=w, limit=100, focus=focus)
    }
    after = {
        s.memory.id: s.score
        for s in rank([*cands, better], now=NOW, weights=w, limit=100, focus=focus)
    }
    assert after[target.memory.id] >= before[target.memory.id] - 1e-12


@given(st.floats(0, 3650), st.floats(0.001, 100))
def test_more_recent_never_scores_lower(age: float, fresher_by: float) -> None:
    old = memory(age_days=age + fresher_by)
    new = replace(old, id=uuid.uuid4(), updated_at=old.updated_at + timedelta(days=fresher_by))
    ranked = rank(
        [Candidate(old, 1.0, 0.5), Candidate(new, 1.0, 0.5)],
        now=NOW,
        weights=RankingWeights(),
        limit=2,
    )
    scores = {s.memory.id: s.score for s in ranked}
    assert scores[new.id] >= scores[old.id]


def test_relevance_dominates_with_default_weights() -> None:
    strong, weak = memory(importance=1, age_days=300), memory(importance=10, age_days=0)
    ranked = rank(
        [Candidate(weak, lexical=0.5, dense=0.1), Candidate(strong, lexical=9.0, dense=0.8)],
        now=NOW,
        weights=RankingWeights(),
        limit=2,
    )
    assert ranked[0].memory.id == strong.id


def test_time_decay_halves_per_half_life() -> None:
    assert time_decay(0, 30) == 1.0
    assert time_decay(30 * 86400, 30) == pytest.approx(0.5)
    assert time_decay(60 * 86400, 30) == pytest.approx(0.25)


@given(candidates, st.floats(0.01, 20))
def test_a_more_relevant_neighbour_never_lowers_a_memory(
    cands: list[Candidate], bump: float
) -> None:
    reply = Candidate(memory(thread="t", position=3), lexical=None, dense=0.1)
    question = Candidate(memory(thread="t", position=2), lexical=1.0, dense=0.2)
    louder = Candidate(question.memory, lexical=1.0 + bump, dense=0.2)
    w = RankingWeights()
    before = {
        s.memory.id: s.score for s in rank([*cands, question, reply], now=NOW, weights=w, limit=100)
    }
    after = {
        s.memory.id: s.score for s in rank([*cands, louder, reply], now=NOW, weights=w, limit=100)
    }
    assert after[reply.memory.id] >= before[reply.memory.id] - 1e-12


def test_the_turn_after_a_matching_question_is_lifted() -> None:
    question = Candidate(memory(thread="t", position=2), lexical=8.0, dense=0.6)
    answer = Candidate(memory(thread="t", position=3), lexical=None, dense=0.3)
    stranger = Candidate(memory(thread="u", position=3), lexical=None, dense=0.3)
    filler = [Candidate(memory(), lexical=None, dense=0.1 + i / 100) for i in range(10)]
    ranked = rank([question, answer, stranger, *filler], now=NOW, weights=RankingWeights(), limit=3)
    ids = [s.memory.id for s in ranked]
    assert ids[:2] == [question.memory.id, answer.memory.id]
    no_context = RankingWeights(neighbour=0, thread=0)
    flat = rank([question, answer, stranger, *filler], now=NOW, weights=no_context, limit=13)
    scores = {s.memory.id: s.score for s in flat}
    assert scores[answer.memory.id] == scores[stranger.memory.id]


def test_limit_and_bad_weights() -> None:
    assert rank([Candidate(memory(), 1.0, None)], now=NOW, weights=RankingWeights(), limit=0) == []
    with pytest.raises(InvalidInput):
        RankingWeights(lexical=0, dense=0)
    with pytest.raises(InvalidInput):
        RankingWeights(importance=0.5, recency=0.5)
    with pytest.raises(InvalidInput):
        RankingWeights(half_life_days=0)
    with pytest.raises(InvalidInput):
        RankingWeights(neighbour=float("nan"))
    with pytest.raises(InvalidInput):
        RankingWeights(temporal=-0.1)
    with pytest.raises(InvalidInput):
        RankingWeights(named=float("inf"))
    with pytest.raises(InvalidInput):
        RankingWeights(date_slack_days=400)
    with pytest.raises(InvalidInput):
        RankingWeights(answer=-1)


def test_a_memory_from_the_asked_time_outranks_an_equal_one() -> None:
    december, march = memory(age_days=170), memory(age_days=80)
    window = TimeWindow(NOW - timedelta(days=175), NOW - timedelta(days=165))
    cands = [Candidate(march, lexical=2.0, dense=0.5), Candidate(december, lexical=2.0, dense=0.5)]
    plain = rank(cands, now=NOW, weights=RankingWeights(), limit=2)
    assert plain[0].memory.id == march.id  # fresher, all else equal
    focused = rank(cands, now=NOW, weights=RankingWeights(), limit=2, focus=QueryFocus(window))
    assert focused[0].memory.id == december.id
    off = RankingWeights(temporal=0)
    unfocused = rank(cands, now=NOW, weights=off, limit=2, focus=QueryFocus(window))
    assert [s.score for s in unfocused] == [s.score for s in plain]


def test_a_memory_naming_the_asked_participant_outranks_an_equal_one() -> None:
    hers = replace(memory(), text="Caroline went to a support group")
    his = replace(memory(), text="Melanie went to a support group")
    cands = [Candidate(hers, lexical=2.0, dense=0.5), Candidate(his, lexical=2.0, dense=0.5)]
    for name, first in (("caroline", hers), ("melanie", his)):
        ranked = rank(
            cands, now=NOW, weights=RankingWeights(), limit=2, focus=QueryFocus(names=(name,))
        )
        assert ranked[0].memory.id == first.id
        assert ranked[0].score > ranked[1].score


def test_a_memory_holding_the_asked_kind_of_answer_outranks_an_equal_one() -> None:
    when = replace(memory(), text="Started aerial yoga last week")
    what = replace(memory(), text="Started aerial yoga")
    cands = [Candidate(what, lexical=2.0, dense=0.5), Candidate(when, lexical=2.0, dense=0.5)]
    asked = QueryFocus(answer=AnswerType.TIME)
    ranked = rank(cands, now=NOW, weights=RankingWeights(), limit=2, focus=asked)
    assert ranked[0].memory.id == when.id and ranked[0].score > ranked[1].score
    off = rank(cands, now=NOW, weights=RankingWeights(answer=0), limit=2, focus=asked)
    assert off[0].score == off[1].score


def test_focus_never_outweighs_a_clear_match() -> None:
    window = TimeWindow(NOW - timedelta(days=10), NOW)
    inside = memory(age_days=3)
    answer = memory(age_days=300)
    cands = [Candidate(inside, lexical=0.5, dense=0.1), Candidate(answer, lexical=9.0, dense=0.8)]
    filler = [Candidate(memory(age_days=300), lexical=None, dense=0.05) for _ in range(5)]
    ranked = rank(
        [*cands, *filler], now=NOW, weights=RankingWeights(), limit=2, focus=QueryFocus(window)
    )
    assert ranked[0].memory.id == answer.id


@given(candidates, weights, st.floats(0, 20), st.floats(1.01, 3000))
def test_being_in_the_asked_time_never_lowers_a_memory(
    cands: list[Candidate], w: RankingWeights, lexical: float, outside_age: float
) -> None:
    window = TimeWindow(NOW - timedelta(days=1), NOW + timedelta(days=1))
    inside = memory(age_days=0.5)
    outside = replace(
        inside,
        created_at=NOW - timedelta(days=outside_age),
        updated_at=NOW - timedelta(days=outside_age),
    )
    focus = QueryFocus(window)
    # Recency off: only the window tells the two apart.
    w = replace(w, recency=0.0)
    a = rank([*cands, Candidate(inside, lexical, 0.4)], now=NOW, weights=w, limit=100, focus=focus)
    b = rank([*cands, Candidate(outside, lexical, 0.4)], now=NOW, weights=w, limit=100, focus=focus)
    score_in = next(s.score for s in a if s.memory.id == inside.id)
    score_out = next(s.score for s in b if s.memory.id == inside.id)
    assert score_in >= score_out
    if w.temporal > 1e-6:
        assert score_in > score_out
