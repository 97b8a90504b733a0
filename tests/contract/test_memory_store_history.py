"""The MemoryStore contract for a memory's history and ``valid_from``, on every adapter."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from tests.conftest import T0, make_memory

from companion.adapters.memory import HashingEmbedder
from companion.domain.errors import InvalidInput
from companion.domain.models import Embedding, MemoryQuery, MemoryRevision
from companion.ports.memory_store import MemoryStore

ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")
EMBEDDER = HashingEmbedder(64)
DAY = timedelta(days=1)


async def vec(text: str) -> Embedding:
    (embedding,) = await EMBEDDER.embed([text])
    return embedding


async def test_history_and_valid_from_round_trip_through_every_read(
    memory_store: MemoryStore,
) -> None:
    paris = MemoryRevision("Lives in Paris", "Paris", T0, T0 + DAY)
    # Not every earlier value had one, and times keep their microseconds exactly.
    lyon = MemoryRevision(
        "Lives near Lyon", None, T0 + DAY, T0 + 2 * DAY + timedelta(microseconds=7)
    )
    memory = replace(
        make_memory(ADA, "Lives in Berlin", key="location.home", value="Berlin"),
        history=(paris, lyon),
        valid_from=lyon.valid_to,
    )
    await memory_store.add(memory, await vec(memory.text))
    assert await memory_store.get(ADA, memory.id) == memory
    assert await memory_store.find_by_key(ADA, "location.home") == memory
    assert await memory_store.list(ADA) == [memory]
    query = MemoryQuery(text="berlin", terms=("berlin",), embedding=await vec("Berlin"), limit=5)
    (found,) = await memory_store.candidates(ADA, query)
    assert found.memory.history == (paris, lyon)
    assert found.memory.valid_from == lyon.valid_to


async def test_update_replaces_history_and_can_clear_it(memory_store: MemoryStore) -> None:
    memory = make_memory(ADA, "Lives in Paris", key="location.home", value="Paris")
    await memory_store.add(memory, None)
    assert (await memory_store.get(ADA, memory.id)) == memory
    moved = replace(
        memory,
        text="Lives in Berlin",
        value="Berlin",
        updated_at=T0 + DAY,
        valid_from=T0 + DAY,
        history=(MemoryRevision("Lives in Paris", "Paris", T0, T0 + DAY),),
    )
    await memory_store.update(moved, None)
    assert await memory_store.get(ADA, memory.id) == moved
    cleared = replace(moved, history=(), valid_from=None)
    await memory_store.update(cleared, None)
    got = await memory_store.get(ADA, memory.id)
    assert got is not None and got.history == () and got.valid_from is None


@pytest.mark.parametrize(
    "bad",
    [
        {"valid_from": datetime(2026, 1, 1)},
        {"history": (MemoryRevision("Lives in Paris", "Paris", datetime(2026, 1, 1), T0),)},
        {"history": (MemoryRevision("Lives in Paris", "Paris", T0, datetime(2026, 1, 2)),)},
        {"history": ("Lives in Paris",)},
        {"history": [MemoryRevision("Lives in Paris", "Paris", T0, T0 + DAY)]},
    ],
)
async def test_naive_or_malformed_history_is_rejected(
    memory_store: MemoryStore, bad: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput):
        await memory_store.add(replace(make_memory(ADA, "Lives in Rome"), **bad), None)  # type: ignore[arg-type]
    assert await memory_store.count(ADA) == 0


async def test_history_times_in_any_zone_read_back_as_the_same_instant(
    memory_store: MemoryStore,
) -> None:
    karachi = timezone(timedelta(hours=5))
    revision = MemoryRevision("Is from Lahore", "Lahore", T0.astimezone(karachi), T0 + DAY)
    memory = replace(
        make_memory(ADA, "Is from Karachi", key="location.origin"), history=(revision,)
    )
    await memory_store.add(memory, None)
    got = await memory_store.get(ADA, memory.id)
    assert got is not None
    assert got.history[0].valid_from == T0  # aware datetimes compare as instants
