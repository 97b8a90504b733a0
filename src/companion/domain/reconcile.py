"""Reconciliation: what saving a candidate does to the memory already stored under its key.

A pure function of the candidate, the existing memory and ``now``, the time the candidate
was said (event time: a turn worked late, after a crash or an outage, keeps its own). A
new key is added; a repeat (same text and value, normalised) changes nothing; a new value
updates the memory and keeps the old one in its history with the interval it was true; a
request to forget deletes the memory outright, history and all (the user asked for it to
be gone).

A candidate said before the memory's current value became true never replaces it: it
takes its place in the history instead (the value that held then ends when it was said,
and it holds until the next change), and a request to forget said before the current
value was stated forgets nothing. So the timeline a memory ends with is the same
whatever order its statements are worked in: intervals ordered, none overlapping, the
latest said current.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from companion.domain.lexical import index_terms
from companion.domain.models import Memory, MemoryCandidate, MemoryRevision
from companion.domain.text import normalize

__all__ = ["Action", "Decision", "is_restatement", "merge_timelines", "reconcile"]


class Action(enum.StrEnum):
    """What saving a candidate does."""

    ADD = "add"
    UPDATE = "update"
    RESTATE = "restate"  # the same fact said again, later: only when it was said moves
    NOOP = "noop"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Decision:
    """The action and the memory it leaves: the updated memory for UPDATE and RESTATE, the
    existing one for NOOP and DELETE (what is kept or removed), ``None`` for ADD (nothing
    stored yet) and for a request to forget what was never stored."""

    action: Action
    memory: Memory | None = None


def _same(left: str | None, right: str | None) -> bool:
    return normalize(left or "") == normalize(right or "")


def _holds(candidate: MemoryCandidate, value: str | None, text: str) -> bool:
    """Whether the candidate states what a value of the memory already says."""
    if candidate.value is not None:
        return _same(candidate.value, value)
    return value is None and _same(candidate.text, text)


def reconcile(candidate: MemoryCandidate, existing: Memory | None, *, now: datetime) -> Decision:
    """Decide what ``candidate``, said at ``now``, does to ``existing`` (the memory stored
    under its key).

    ``existing.updated_at`` is when its current value was last said; a candidate said
    before that cannot replace it or forget it.
    """
    if existing is None:
        return Decision(Action.NOOP if candidate.forget else Action.ADD)
    since = existing.valid_from or existing.created_at
    last = max(existing.updated_at, since)
    if candidate.forget:
        # "Forget that I live in Paris" must not forget Berlin: a named value has to match;
        # and "forget where I live" said before "I live in Berlin" is not about Berlin.
        if now >= last and (candidate.value is None or _same(candidate.value, existing.value)):
            return Decision(Action.DELETE, existing)
        return Decision(Action.NOOP, existing)
    same_value = _same(candidate.value, existing.value)
    if _holds(candidate, existing.value, existing.text) and (
        since <= now <= last or (now > last and _same(candidate.text, existing.text))
    ):
        # Said again: only when it was last said moves (a later statement of another
        # value must not be taken for the newest word).
        if now > last:
            return Decision(Action.RESTATE, replace(existing, updated_at=now))
        return Decision(Action.NOOP, existing)
    if now < since:
        return _earlier(candidate, existing, now, since)
    if now < last:
        # Said while the current value held, but before it was said again: it held from
        # then until that later statement, which is where the current value resumes.
        between = MemoryRevision(
            text=candidate.text, value=candidate.value, valid_from=now, valid_to=last
        )
        before = MemoryRevision(
            text=existing.text, value=existing.value, valid_from=since, valid_to=now
        )
        history = (
            (*existing.history, before, between)
            if now > since
            else (
                *existing.history,
                between,
            )
        )
        return Decision(Action.UPDATE, replace(existing, history=history, valid_from=last))
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
    was = MemoryRevision(text=existing.text, value=existing.value, valid_from=since, valid_to=now)
    return Decision(
        Action.UPDATE, replace(changed, history=(*existing.history, was), valid_from=now)
    )


def _earlier(
    candidate: MemoryCandidate, existing: Memory, at: datetime, since: datetime
) -> Decision:
    """A value said at ``at``, before the current one (true from ``since``), placed in the
    history: the revision that held at ``at`` ends there, the candidate holds until the
    next change. Stating what already held at that time changes nothing."""
    history = sorted(existing.history, key=lambda r: r.valid_from)
    starts = [r.valid_from for r in history] + [since]
    for i, revision in enumerate(history):
        if revision.valid_from <= at < revision.valid_to:
            if _holds(candidate, revision.value, revision.text) or revision.valid_from == at:
                return Decision(Action.NOOP, existing)
            history[i] = replace(revision, valid_to=at)
            until = revision.valid_to
            break
    else:  # before everything known, or in a gap: it holds until the next change
        until = min(start for start in starts if start > at)
    stated = MemoryRevision(
        text=candidate.text, value=candidate.value, valid_from=at, valid_to=until
    )
    # Neighbours saying the same are one stretch of time: "Paris" said at 9 and at 10
    # before "Berlin" at 11 is Paris from 9 to 11.
    merged: list[MemoryRevision] = []
    for revision in sorted([*history, stated], key=lambda r: r.valid_from):
        last = merged[-1] if merged else None
        if last is not None and last.valid_to == revision.valid_from and _same_fact(last, revision):
            merged[-1] = replace(revision, valid_from=last.valid_from)
        else:
            merged.append(revision)
    valid_from = existing.valid_from
    if merged[-1].valid_to == since and _same_fact(merged[-1], existing):
        # The current value was already true then: it holds from the earlier statement.
        valid_from = merged.pop().valid_from
    return Decision(
        Action.UPDATE,
        replace(
            existing,
            history=tuple(merged),
            valid_from=valid_from,
            importance=max(existing.importance, candidate.importance),
        ),
    )


def _same_fact(first: MemoryRevision, second: MemoryRevision | Memory) -> bool:
    """Whether two values of a memory say the same thing (the value, or a note's text)."""
    if first.value is not None or second.value is not None:
        return _same(first.value, second.value)
    return _same(first.text, second.text)


def merge_timelines(existing: Memory, other: Memory) -> Memory:
    """``existing`` with every value ``other`` (the same slot, e.g. an imported copy) held,
    each reconciled at the time it was said: its history from oldest, then its current
    value from when it became true, and again when it was last said."""
    said = [(r.valid_from, r.text, r.value) for r in other.history]
    since = other.valid_from or other.created_at
    said.append((since, other.text, other.value))
    if other.updated_at > since:
        said.append((other.updated_at, other.text, other.value))
    merged = existing
    for at, text, value in sorted(said, key=lambda s: s[0]):
        candidate = MemoryCandidate(other.category, text, other.importance, other.key, value)
        decision = reconcile(candidate, merged, now=at)
        if decision.action in (Action.UPDATE, Action.RESTATE) and decision.memory is not None:
            merged = decision.memory
    return merged


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
