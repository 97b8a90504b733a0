"""Where a memory came from: the turns it was said in.

Every turn a user says is kept for retrieval as an *observation*: a memory of category
OBSERVATION holding the turn's words verbatim, with the turn's id in its metadata (``turn``)
and an id derived from the turn's, so indexing a turn twice (a replay after a crash) finds
the first. A memory extracted from turns lists them in ``source_turns``: the turn that
first said it, and each turn that changed it since (the newest last, at most
:data:`MAX_SOURCE_TURNS`). Metadata values are text, so the ids are joined by commas.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from uuid import UUID

from companion.domain.models import ConversationTurn, Memory, MemoryCategory, MemorySource

TURN = "turn"
SOURCE_TURNS = "source_turns"
MAX_SOURCE_TURNS = 16
# Observation ids are uuid5(this, turn id): stable across processes and replays.
_OBSERVATIONS = uuid.UUID("6b0e6f55-6c1d-4f57-9a3c-0b7b3c1f2e11")


def observation_id(turn_id: UUID) -> UUID:
    """The id of the observation that keeps this turn's words."""
    return uuid.uuid5(_OBSERVATIONS, str(turn_id))


def observation_of(turn: ConversationTurn, position: int | None) -> Memory:
    """The observation of a user's turn: its words, when and where in the session."""
    return Memory(
        id=observation_id(turn.id),
        user_id=turn.user_id,
        category=MemoryCategory.OBSERVATION,
        text=turn.text,
        importance=3,
        created_at=turn.created_at,
        updated_at=turn.created_at,
        source=MemorySource.CONVERSATION,
        metadata={TURN: str(turn.id)},
        thread=str(turn.session_id),
        position=position,
    )


def is_observation(memory: Memory) -> bool:
    """Whether this memory keeps a turn's words (rather than something extracted)."""
    return memory.category is MemoryCategory.OBSERVATION


def turn_of(memory: Memory) -> str | None:
    """The id of the turn an observation keeps, if it is one."""
    return memory.metadata.get(TURN) if is_observation(memory) else None


def source_turns(memory: Memory) -> tuple[str, ...]:
    """The ids of the turns this memory came from, oldest first (its own, for an
    observation)."""
    own = turn_of(memory)
    if own is not None:
        return (own,)
    raw = memory.metadata.get(SOURCE_TURNS, "")
    return tuple(part for part in raw.split(",") if part)


def with_source_turn(metadata: Mapping[str, str], turn_id: UUID | None) -> dict[str, str]:
    """``metadata`` with ``turn_id`` added last to its source turns (once; the oldest
    dropped past :data:`MAX_SOURCE_TURNS`)."""
    updated = dict(metadata)
    if turn_id is None:
        return updated
    turns = [t for t in updated.get(SOURCE_TURNS, "").split(",") if t and t != str(turn_id)]
    turns.append(str(turn_id))
    updated[SOURCE_TURNS] = ",".join(turns[-MAX_SOURCE_TURNS:])
    return updated
