"""Provenance: the turns a memory came from, and a memory and its turn counting once."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import T0, make_memory

from companion.domain.models import ConversationTurn, Role, ScoredMemory
from companion.domain.provenance import (
    MAX_SOURCE_TURNS,
    SOURCE_TURNS,
    observation_id,
    observation_of,
    source_turns,
    with_source_turn,
)
from companion.domain.scoring import reinforce

ADA = uuid.uuid4()


def turn(text: str) -> ConversationTurn:
    return ConversationTurn(uuid.uuid4(), ADA, uuid.uuid4(), Role.USER, text, T0)


@given(st.lists(st.uuids(), max_size=40))
def test_source_turns_keep_each_turn_once_newest_last_and_at_most_the_cap(
    turns: list[uuid.UUID],
) -> None:
    metadata: dict[str, str] = {"note": "kept"}
    for t in turns:
        metadata = with_source_turn(metadata, t)
    memory = replace(make_memory(ADA, "Lives in Lahore"), metadata=metadata)
    kept = source_turns(memory)
    assert metadata["note"] == "kept"  # other metadata is left alone
    assert len(kept) == len(set(kept)) <= MAX_SOURCE_TURNS
    if turns:
        assert kept[-1] == str(turns[-1])
        assert set(kept) <= {str(t) for t in turns}
    else:
        assert SOURCE_TURNS not in metadata


def test_an_observation_is_the_turn_verbatim_with_an_id_of_its_own_per_turn() -> None:
    said = turn("The book I'm reading is called The Overstory.")
    kept = observation_of(said, 3)
    assert (kept.text, kept.created_at, kept.thread, kept.position) == (
        said.text,
        said.created_at,
        str(said.session_id),
        3,
    )
    assert kept.id == observation_id(said.id) == observation_of(said, 3).id
    assert observation_id(uuid.uuid4()) != kept.id
    assert source_turns(kept) == (str(said.id),)


def test_a_memory_and_the_turn_it_came_from_count_once_with_the_better_score() -> None:
    said, other = turn("I live in Paris."), turn("I love the sea.")
    home = replace(make_memory(ADA, "Lives in Paris"), metadata=with_source_turn({}, said.id))
    scored = [
        ScoredMemory(home, 0.5),
        ScoredMemory(observation_of(said, 0), 0.8),
        ScoredMemory(observation_of(other, 1), 0.3),
    ]
    merged = reinforce(scored)
    assert [(s.memory.text, s.score) for s in merged] == [
        ("Lives in Paris", 0.8),
        ("I love the sea.", 0.3),
    ]
    # Without the memory, the turn stands on its own.
    assert reinforce(scored[1:]) == scored[1:]
