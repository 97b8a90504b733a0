"""Retrieval scoring: pure functions that turn store candidates into a ranking.

Stores propose candidates with raw signals (a lexical score on the store's own scale and a
cosine similarity); everything that decides the final order lives here, so every store
ranks the same way. No clock reads: ``now`` is an argument.

The ranking, measured on LoCoMo (docs/benchmarks.md): BM25 and dense similarity are fused
by score (each rescaled to [0, 1]), not by rank, because reciprocal-rank fusion throws
away how much better the best match is and loses to BM25 alone at small k; then each
memory gains from what was said next to it and from its conversation's best match;
importance and recency take small shares so they break near-ties without burying a
clearly relevant old memory; last, memories from the stretch of time a question names,
memories naming the participant it asks about, and memories holding the kind of answer
it wants (a time for "when", a number for "how many", a place for "where") gain a bonus.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from companion.domain.answer_type import may_answer
from companion.domain.errors import InvalidInput
from companion.domain.models import Candidate, Memory, ScoredMemory
from companion.domain.provenance import is_observation, source_turns, turn_of
from companion.domain.query import QueryFocus
from companion.domain.temporal import MAX_SLACK_DAYS, said_within

_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """How retrieval weighs its signals. Every weight is finite and non-negative.

    ``lexical`` and ``dense`` split relevance between BM25 and embedding similarity
    (renormalised to sum to one). ``neighbour`` adds the relevance of what was said just
    before or after a memory in the same conversation, ``thread`` the relevance of the
    best memory of its conversation. ``importance`` and ``recency`` are the shares of the
    final score given to importance (1..10) and to exponential decay since last use,
    with ``half_life_days``; the rest is relevance. ``temporal`` is the bonus of a
    memory said inside the time window a query names (widened by ``date_slack_days``),
    ``named`` of a memory naming the participant a query singles out, ``answer`` of a
    memory holding the kind of answer a query wants; each is relative to a score of 1
    and the sum is scaled back into [0, 1].
    """

    lexical: float = 0.5
    dense: float = 0.5
    neighbour: float = 0.4
    thread: float = 0.3
    importance: float = 0.05
    recency: float = 0.05
    half_life_days: float = 30.0
    window: int = 1
    temporal: float = 0.3
    named: float = 0.1
    answer: float = 0.1
    date_slack_days: float = 3.0

    def __post_init__(self) -> None:
        values = (
            self.lexical,
            self.dense,
            self.neighbour,
            self.thread,
            self.importance,
            self.recency,
            self.temporal,
            self.named,
            self.answer,
            self.date_slack_days,
        )
        if any(not math.isfinite(w) or w < 0 for w in values):
            raise InvalidInput("ranking weights must be finite and non-negative")
        if self.lexical + self.dense <= 0:
            raise InvalidInput("lexical and dense weights must not both be zero")
        if self.importance + self.recency >= 1:
            raise InvalidInput("importance and recency shares must leave room for relevance")
        if not math.isfinite(self.half_life_days) or self.half_life_days <= 0:
            raise InvalidInput("half_life_days must be a positive number")
        if self.window < 0:
            raise InvalidInput("the neighbour window must not be negative")
        if self.date_slack_days > MAX_SLACK_DAYS:
            raise InvalidInput(f"date_slack_days must be at most {MAX_SLACK_DAYS:g}")


def time_decay(age_seconds: float, half_life_days: float) -> float:
    """Exponential decay in [0, 1]: 1 for now (or the future), 0.5 after one half-life."""
    if age_seconds <= 0:
        return 1.0
    return float(0.5 ** (age_seconds / (half_life_days * 24 * _HOUR)))


def importance_score(importance: int) -> float:
    """Importance 1..10 mapped onto [0, 1]."""
    return (min(max(importance, 1), 10) - 1) / 9.0


def recency_score(memory: Memory, now: datetime, half_life_days: float) -> float:
    """Decay since the memory was last used or changed, whichever is later."""
    last = memory.updated_at
    if memory.last_accessed_at is not None and memory.last_accessed_at > last:
        last = memory.last_accessed_at
    return time_decay((now - last).total_seconds(), half_life_days)


def _unit(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else 0.0


def lexical_scores(candidates: Sequence[Candidate]) -> list[float]:
    """Lexical relevance scaled by the best candidate's, in [0, 1] (0 without a match).

    Max-scaling keeps a lone weak match weak relative to no match, and does not depend
    on the order candidates arrive in.
    """
    raw = [max(_unit(c.lexical), 0.0) for c in candidates]
    top = max(raw, default=0.0)
    return [v / top if top > 0 else 0.0 for v in raw]


def dense_scores(candidates: Sequence[Candidate], pool_size: int) -> list[float]:
    """Dense similarity rescaled between the pool's floor and its best, in [0, 1].

    The floor is the ``pool_size``-th best similarity: the dense search's cut-off, so
    memories the dense side barely proposed score near zero and the best scores one.
    Cosine similarities of one model sit in a narrow band; rescaling spreads them so
    they can be fused with lexical scores.
    """
    raw = [_unit(c.dense) if c.dense is not None else None for c in candidates]
    present = sorted((v for v in raw if v is not None), reverse=True)
    if not present:
        return [0.0 for _ in candidates]
    top = present[0]
    floor = present[min(max(pool_size, 1), len(present)) - 1]
    if len(present) == 1 or top <= floor:
        return [0.0 if v is None else (1.0 if v >= top else 0.0) for v in raw]
    span = top - floor
    return [0.0 if v is None else min(max((v - floor) / span, 0.0), 1.0) for v in raw]


def _context(
    candidates: Sequence[Candidate], relevance: Sequence[float], window: int
) -> list[float]:
    """For each candidate, the best relevance of its conversation neighbours.

    A neighbour ``d`` positions away counts ``1/d``: what was said right before a reply
    often holds the words that the reply itself lacks ("Did you go?" / "Yes, twice!").
    """
    if window <= 0:
        return [0.0 for _ in candidates]
    by_place: dict[tuple[str, int], float] = {}
    for cand, rel in zip(candidates, relevance, strict=True):
        m = cand.memory
        if m.thread is not None and m.position is not None:
            place = (m.thread, m.position)
            by_place[place] = max(by_place.get(place, 0.0), rel)
    context = []
    for cand in candidates:
        m = cand.memory
        best = 0.0
        if m.thread is not None and m.position is not None:
            for distance in range(1, window + 1):
                for place in ((m.thread, m.position - distance), (m.thread, m.position + distance)):
                    best = max(best, by_place.get(place, 0.0) / distance)
        context.append(best)
    return context


def _thread_best(candidates: Sequence[Candidate], local: Sequence[float]) -> list[float]:
    """For each candidate, the best local score among candidates of its conversation."""
    best: dict[str, float] = {}
    for cand, score in zip(candidates, local, strict=True):
        thread = cand.memory.thread
        if thread is not None:
            best[thread] = max(best.get(thread, 0.0), score)
    return [
        best.get(c.memory.thread, 0.0) if c.memory.thread is not None else score
        for c, score in zip(candidates, local, strict=True)
    ]


def rank(
    candidates: Sequence[Candidate],
    *,
    now: datetime,
    weights: RankingWeights,
    limit: int,
    pool_size: int = 50,
    focus: QueryFocus | None = None,
) -> list[ScoredMemory]:
    """Score and order candidates; scores are in [0, 1], best first, ties broken by id.

    relevance = lexical and dense fused; local = relevance + neighbour context;
    contextual = local + the conversation's best local score (each normalised back to
    [0, 1]); mixed = contextual, importance and recency mixed by their shares; final =
    mixed plus the ``focus`` bonuses (time window, named participant, answer type),
    scaled back.
    """
    if limit <= 0 or not candidates:
        return []
    fuse = weights.lexical + weights.dense
    relevance = [
        (weights.lexical * lex + weights.dense * den) / fuse
        for lex, den in zip(
            lexical_scores(candidates), dense_scores(candidates, pool_size), strict=True
        )
    ]
    context = _context(candidates, relevance, weights.window)
    local = [r + weights.neighbour * c for r, c in zip(relevance, context, strict=True)]
    thread = _thread_best(candidates, local)
    bound = (1 + weights.neighbour) * (1 + weights.thread)
    share = 1.0 - weights.importance - weights.recency
    bonus, scale = _focus_bonus(focus, weights)
    scored: list[ScoredMemory] = []
    for cand, loc, thr in zip(candidates, local, thread, strict=True):
        contextual = (loc + weights.thread * thr) / bound
        value = (
            share * contextual
            + weights.importance * importance_score(cand.memory.importance)
            + weights.recency * recency_score(cand.memory, now, weights.half_life_days)
        )
        value = (value + bonus(cand.memory)) / scale
        scored.append(ScoredMemory(memory=cand.memory, score=min(max(value, 0.0), 1.0)))
    scored = reinforce(scored)
    scored.sort(key=lambda s: (-s.score, str(s.memory.id)))
    return scored[:limit]


def reinforce(scored: Sequence[ScoredMemory]) -> list[ScoredMemory]:
    """A memory and the kept turn it came from are one finding, not two: the memory takes
    the better of the two scores and the turn's observation leaves the list. An
    observation whose turn no listed memory came from stays as it is."""
    observed = {turn_of(s.memory): i for i, s in enumerate(scored) if turn_of(s.memory)}
    if not observed:
        return list(scored)
    merged: set[int] = set()
    out: list[ScoredMemory] = []
    for s in scored:
        if is_observation(s.memory):
            out.append(s)
            continue
        best = s.score
        for turn in source_turns(s.memory):
            i = observed.get(turn)
            if i is not None:
                merged.add(i)
                best = max(best, scored[i].score)
        out.append(s if best == s.score else ScoredMemory(memory=s.memory, score=best))
    dropped = {id(scored[i]) for i in merged}
    return [s for s in out if id(s) not in dropped]


def _focus_bonus(
    focus: QueryFocus | None, weights: RankingWeights
) -> tuple[Callable[[Memory], float], float]:
    """The bonus a memory earns from the query's focus, and 1 + the largest bonus."""
    window = None if focus is None or weights.temporal == 0 else focus.window
    names = None if focus is None or weights.named == 0 else focus.names_pattern()
    answer = None if focus is None or weights.answer == 0 else focus.answer

    def bonus(memory: Memory) -> float:
        total = 0.0
        if window is not None and said_within(memory, window):
            total += weights.temporal
        if names is not None and names.search(memory.text):
            total += weights.named
        if answer is not None and may_answer(memory.text, answer):
            total += weights.answer
        return total

    largest = (
        (weights.temporal if window is not None else 0.0)
        + (weights.named if names is not None else 0.0)
        + (weights.answer if answer is not None else 0.0)
    )
    return bonus, 1.0 + largest
