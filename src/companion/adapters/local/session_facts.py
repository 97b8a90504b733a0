"""What the user said earlier in this conversation, as memories the offline model can read.

The reply never waits for the memory work (a remote model's extraction takes seconds), so
when a user asks about something they said a moment ago its memory may not be stored
yet. Those words are in the request's history already: a remote LLM reads them there,
and the offline model reads them here, through the same patterns the memory work uses.
What the session said is the newest word: it overrides a stored value for the same slot,
and a "forget that ..." in it hides the stored memory.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from companion.adapters.local.extraction import extract_candidates
from companion.domain.keys import forget_names
from companion.domain.models import ChatRequest, Memory, MemoryCandidate, Role
from companion.domain.reconcile import Action, reconcile

__all__ = ["with_session_facts"]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_SAID = uuid.UUID("6f1d3c2e-6b0a-4c1e-9a51-0c0ffee5e551")


def with_session_facts(request: ChatRequest) -> list[Memory]:
    """The request's memories with what the user's earlier messages in it state laid over
    them, newest last (a pure function of the request)."""
    memories = list(request.memories)
    earlier = [m.content for m in request.messages if m.role is Role.USER][:-1]
    if not earlier:
        return memories
    owner = request.profile.user_id if request.profile is not None else None
    if owner is None:
        owner = memories[0].user_id if memories else uuid.UUID(int=0)
    # After every stored memory, in the order said: the session's words are the newest.
    after = max((m.updated_at for m in memories), default=_EPOCH)
    said: dict[str, tuple[datetime, MemoryCandidate]] = {}  # per slot, the last word
    forgets: list[tuple[datetime, MemoryCandidate]] = []
    for i, text in enumerate(earlier):
        for j, candidate in enumerate(extract_candidates(text)):
            key = candidate.key
            if key is None:
                continue
            at = after + timedelta(microseconds=1 + 1000 * i + j)
            if candidate.forget:
                said = {k: v for k, v in said.items() if not forget_names(key, k)}
                forgets.append((at, candidate))
            else:
                said.pop(key, None)  # re-inserted last: the dict keeps the order said
                said[key] = (at, candidate)
    # Forgotten as reconciliation would forget: "Paris" never forgets Berlin.
    memories = [
        m
        for m in memories
        if not any(
            forget_names(c.key or "", m.key) and reconcile(c, m, now=at).action is Action.DELETE
            for at, c in forgets
        )
    ]
    for key, (at, candidate) in said.items():
        if any(m.key == key and m.value == candidate.value for m in memories):
            continue  # stored already
        memories.append(
            Memory(
                id=uuid.uuid5(_SAID, f"{at.isoformat()}:{key}"),
                user_id=owner,
                category=candidate.category,
                text=candidate.text,
                importance=candidate.importance,
                created_at=at,
                updated_at=at,
                key=key,
                value=candidate.value,
            )
        )
    return memories
