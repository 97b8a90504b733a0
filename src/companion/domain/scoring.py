"""Retrieval scoring: pure functions that turn store candidates into a ranking.

Stores propose candidates with raw signals (a lexical score on the store's own scale and a
cosine similarity); everything that decides the final order lives here, so every store
ranks the same way. No clock reads: ``now`` is an argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from companion.domain.errors import InvalidInput
from companion.domain.models import Candidate, Memory, ScoredMemory

_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """How much each signal counts. Weights are non-negative; they are renormalised."""

    lexical: float = 0.45
    dense: float = 0.45
    importance: float = 0.05
    recency: float = 0.05
    half_life_days: float = 30.0

    def __post_init__(self) -> None:
        parts = (self.lexical, self.dense, self.importance, self.recency)
        if any(not math.isfinite(w) or w < 0 for w in parts) or sum(parts) <= 0:
            raise InvalidInput("ranking weights must be finite, non-negative and not all zero")
        if not math.isfinite(self.half_life_days) or self.half_life_days <= 0:
            raise InvalidInput("half_life_days must be a positive number")


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


def _scaled(values: Sequence[float | None]) -> list[float]:
    """Divide by the best value, so the strongest candidate of a signal scores 1.

    Max-scaling (not min-max) keeps a lone weak match weak relative to zero, and is
    independent of the order candidates arrive in.
    """
    present = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    top = max(present, default=0.0)
    if top <= 0:
        return [0.0 for _ in values]
    return [
        0.0 if v is None or not math.isfinite(v) or v <= 0 else min(v / top, 1.0) for v in values
    ]


def rank(
    candidates: Sequence[Candidate],
    *,
    now: datetime,
    weights: RankingWeights,
    limit: int,
) -> list[ScoredMemory]:
    """Score and order candidates; scores are in [0, 1], best first, ties broken by id."""
    if limit <= 0 or not candidates:
        return []
    lexical = _scaled([c.lexical for c in candidates])
    dense = _scaled([c.dense for c in candidates])
    total = weights.lexical + weights.dense + weights.importance + weights.recency
    scored: list[ScoredMemory] = []
    for cand, lex, den in zip(candidates, lexical, dense, strict=True):
        value = (
            weights.lexical * lex
            + weights.dense * den
            + weights.importance * importance_score(cand.memory.importance)
            + weights.recency * recency_score(cand.memory, now, weights.half_life_days)
        ) / total
        scored.append(ScoredMemory(memory=cand.memory, score=min(max(value, 0.0), 1.0)))
    scored.sort(key=lambda s: (-s.score, str(s.memory.id)))
    return scored[:limit]
