"""Reconciliation: what saving a candidate does to the memory already stored under its key.

A pure function of the candidate, the existing memory and ``now``. A new key is added; a
repeat (same text and value, normalised) changes nothing; a new value updates the memory
and keeps the old one in its history with the interval it was true; a request to forget
deletes the memory outright, history and all (the user asked for it to be gone).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from companion.domain.lexical import index_terms
from companion.domain.models import Memory, MemoryCandidate, MemoryRevision
from companion.domain.text import normalize

__all__ = ["Action", "Decision", "is_restatement", "reconcile"]


class Action(enum.StrEnum):
    """What saving a candidate does."""

    ADD = "add"
    UPDATE = "update"
    NOOP = "noop"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Decision:
    """The action and the memory it leaves: the updated memory for UPDATE, the existing one
    for NOOP and DELETE (what is kept or removed), ``None`` for ADD (nothing stored yet) and
    for a request to forget what was never stored."""

    action: Action
    memory: Memory | None = None


def _same(left: str | None, right: str | None) -> bool:
    return normalize(left or "") == normalize(right or "")


def reconcile(candidate: MemoryCandidate, existing: Memory | None, *, now: datetime) -> Decision:
    """Decide what ``candidate`` does to ``existing`` (the memory stored under its key)."""
    if existing is None:
        return Decision(Action.NOOP if candidate.forget else Action.ADD)
    if candidate.forget:
        # "Forget that I live in Paris" must not forget Berlin: a named value has to match.
        if candidate.value is None or _same(candidate.value, existing.value):
            return Decision(Action.DELETE, existing)
        return Decision(Action.NOOP, existing)
    same_value = _same(candidate.value, existing.value)
    if same_value and _same(candidate.text, existing.text):
        return Decision(Action.NOOP, existing)
    changed = replace(
        existing,
        category=candidate.category,
        text=candidate.text,
        value=candidate.value,
        importance=max(existing.importance, candidate.importance),
        updated_at=now,
    )
    if same_value and candidate.value is not None:
        # A rewording of the same value ("Lives near Paris" for "Lives in Paris") is not
        # a change of fact: nothing moves to history and the value is true since before.
        return Decision(Action.UPDATE, changed)
    was = MemoryRevision(
        text=existing.text,
        value=existing.value,
        valid_from=existing.valid_from or existing.created_at,
        valid_to=now,
    )
    return Decision(
        Action.UPDATE, replace(changed, history=(*existing.history, was), valid_from=now)
    )


def is_restatement(new_text: str, stored_text: str, similarity: float, *, floor: float) -> bool:
    """True when ``new_text`` says nothing that ``stored_text`` does not already say.

    Both conditions are needed: the embeddings agree (``similarity`` >= ``floor``) and
    every content word of the new text (stemmed, stop words out) is already in the stored
    one. Similarity alone would merge "Went to Paris in May" with "... in June" (0.95 with
    MiniLM); the word test alone would merge unrelated texts that share words. A text that
    adds anything (a name, a date, a place) is never a restatement, so nothing is lost.
    """
    if similarity < floor:
        return False
    new_terms = set(index_terms(new_text))
    return bool(new_terms) and new_terms <= set(index_terms(stored_text))
