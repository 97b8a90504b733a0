"""The MemoryStore contract, run against every adapter."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from tests.conftest import T0, make_memory

from companion.adapters.memory import HashingEmbedder
from companion.domain.errors import Conflict, EmbeddingModelMismatch, InvalidInput, NotFound
from companion.domain.models import Embedding, MemoryCategory, MemoryQuery
from companion.ports.memory_store import MemoryStore

ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000000b")
EMBEDDER = HashingEmbedder(64)


async def vec(text: str) -> Embedding:
    (embedding,) = await EMBEDDER.embed([text])
    return embedding


def query(text: str, embedding: Embedding | None, limit: int = 10) -> MemoryQuery:
    return MemoryQuery(
        text=text, terms=tuple(text.lower().split()), embedding=embedding, limit=limit
    )


async def test_added_memory_reads_back_identically(memory_store: MemoryStore) -> None:
    memory = replace(
        make_memory(ADA, "Has a dog called Biscuit", key="pet.dog.biscuit", value="Biscuit"),
        metadata={"source_turn": "D1:3"},
    )
    await memory_store.add(memory, await vec(memory.text))
    got = await memory_store.get(ADA, memory.id)
    assert got == memory
    assert got is not None and dict(got.metadata) == {"source_turn": "D1:3"}
    assert await memory_store.find_by_key(ADA, "pet.dog.biscuit") == memory
    assert await memory_store.count(ADA) == 1


async def test_users_never_see_each_others_memories(memory_store: MemoryStore) -> None:
    mine = make_memory(ADA, "Lives in Paris", key="location.home")
    await memory_store.add(mine, await vec(mine.text))
    assert await memory_store.get(BOB, mine.id) is None
    assert await memory_store.find_by_key(BOB, "location.home") is None
    assert await memory_store.list(BOB) == []
    assert await memory_store.delete(BOB, mine.id) is False
    assert await memory_store.candidates(BOB, query("paris", await vec("Paris"))) == []
    with pytest.raises(NotFound):
        await memory_store.update(replace(mine, user_id=BOB, text="hijacked"), None)
    assert (await memory_store.get(ADA, mine.id)) == mine


async def test_duplicate_id_or_key_is_a_conflict(memory_store: MemoryStore) -> None:
    first = make_memory(ADA, "Name is Ada", key="name")
    await memory_store.add(first, None)
    with pytest.raises(Conflict):
        await memory_store.add(first, None)
    with pytest.raises(Conflict):
        await memory_store.add(make_memory(ADA, "Name is Eve", key="name"), None)
    other = make_memory(ADA, "Likes tea", key="likes.tea")
    await memory_store.add(other, None)
    with pytest.raises(Conflict):
        await memory_store.update(replace(other, key="name"), None)
    # The same key for another user is fine: keys are per user.
    await memory_store.add(make_memory(BOB, "Name is Bob", key="name"), None)
    assert await memory_store.count(ADA) == 2


async def test_update_replaces_fields_and_drops_stale_vector(memory_store: MemoryStore) -> None:
    memory = make_memory(ADA, "Lives in Paris", key="location.home", value="Paris")
    await memory_store.add(memory, await vec(memory.text))
    moved = replace(
        memory, text="Lives in Berlin", value="Berlin", updated_at=T0 + timedelta(days=1)
    )
    await memory_store.update(moved, None)
    assert await memory_store.get(ADA, memory.id) == moved
    # The Paris vector must not describe the Berlin text.
    assert await memory_store.embedding_models(ADA) == {None: 1}
    assert await memory_store.candidates(ADA, query("zzz", await vec("Lives in Berlin"))) == []
    await memory_store.set_embedding(ADA, memory.id, await vec(moved.text))
    found = await memory_store.candidates(ADA, query("berlin", await vec("Lives in Berlin")))
    assert [c.memory.id for c in found] == [memory.id]
    assert found[0].dense == pytest.approx(1.0, abs=1e-5)
    assert found[0].lexical is not None and found[0].lexical > 0


async def test_update_of_unknown_memory_is_not_found(memory_store: MemoryStore) -> None:
    with pytest.raises(NotFound):
        await memory_store.update(make_memory(ADA, "ghost"), None)
    with pytest.raises(NotFound):
        await memory_store.set_embedding(ADA, uuid.uuid4(), await vec("ghost"))


async def test_list_is_newest_first_with_filters_and_paging(memory_store: MemoryStore) -> None:
    made = [
        make_memory(
            ADA,
            f"note {i}",
            category=MemoryCategory.EVENT if i % 2 else MemoryCategory.FACT,
            minutes=i,
        )
        for i in range(7)
    ]
    for memory in made:
        await memory_store.add(memory, None)
    listed = await memory_store.list(ADA)
    assert [m.text for m in listed] == [f"note {i}" for i in range(6, -1, -1)]
    events = await memory_store.list(ADA, category=MemoryCategory.EVENT)
    assert [m.text for m in events] == ["note 5", "note 3", "note 1"]
    page = await memory_store.list(ADA, limit=2, offset=2)
    assert [m.text for m in page] == ["note 4", "note 3"]


async def test_delete_removes_memory_and_its_vector(memory_store: MemoryStore) -> None:
    memory = make_memory(ADA, "Favourite colour is green", key="favourite.colour")
    await memory_store.add(memory, await vec(memory.text))
    assert await memory_store.delete(ADA, memory.id) is True
    assert await memory_store.get(ADA, memory.id) is None
    assert await memory_store.candidates(ADA, query("green", await vec("green"))) == []
    assert await memory_store.delete(ADA, memory.id) is False
    # The key is free again.
    await memory_store.add(
        make_memory(ADA, "Favourite colour is blue", key="favourite.colour"), None
    )


async def test_candidates_merge_lexical_and_dense_signals(memory_store: MemoryStore) -> None:
    texts = [
        "Has a dog called Biscuit",
        "Favourite colour is green",
        "Works at Acme as an engineer",
        "Went hiking in the Alps last summer",
    ]
    for text in texts:
        await memory_store.add(make_memory(ADA, text), await vec(text))
    found = await memory_store.candidates(
        ADA, query("dog biscuit", await vec("dog Biscuit"), limit=2)
    )
    by_text = {c.memory.text: c for c in found}
    assert "Has a dog called Biscuit" in by_text
    hit = by_text["Has a dog called Biscuit"]
    assert hit.lexical is not None and hit.lexical > 0
    assert hit.dense is not None and hit.dense > 0.5
    assert len({c.memory.id for c in found}) == len(found)  # one candidate per memory
    assert len(found) <= 4


async def test_lexical_matching_stems_words(memory_store: MemoryStore) -> None:
    memory = make_memory(ADA, "Went hiking with my sisters")
    await memory_store.add(memory, None)
    found = await memory_store.candidates(ADA, query("hike sister", None))
    assert [c.memory.id for c in found] == [memory.id]


async def test_hostile_query_terms_are_plain_words(memory_store: MemoryStore) -> None:
    await memory_store.add(make_memory(ADA, "Likes tea"), None)
    for term in ['"', "NEAR(", "tea*", "-tea", "text:tea", "(", "AND", "OR NOT", "''", "^tea"]:
        found = await memory_store.candidates(
            ADA, MemoryQuery(text=term, terms=(term,), embedding=None, limit=5)
        )
        assert all(c.memory.user_id == ADA for c in found)


async def test_category_filter_applies_to_candidates(memory_store: MemoryStore) -> None:
    goal = make_memory(ADA, "Wants to learn Spanish", category=MemoryCategory.GOAL)
    fact = make_memory(ADA, "Learned Spanish at school", category=MemoryCategory.FACT)
    for memory in (goal, fact):
        await memory_store.add(memory, await vec(memory.text))
    found = await memory_store.candidates(
        ADA,
        MemoryQuery(
            text="spanish",
            terms=("spanish",),
            embedding=await vec("spanish"),
            limit=5,
            categories=frozenset({MemoryCategory.GOAL}),
        ),
    )
    assert [c.memory.id for c in found] == [goal.id]


async def test_mixing_embedding_models_is_an_error(memory_store: MemoryStore) -> None:
    memory = make_memory(ADA, "Likes tea")
    await memory_store.add(memory, await vec(memory.text))
    other = Embedding(model="another-model", vector=np.ones(64, dtype=np.float32) / 8.0)
    with pytest.raises(EmbeddingModelMismatch, match="reindex"):
        await memory_store.candidates(ADA, query("tea", other))
    assert await memory_store.embedding_models(ADA) == {EMBEDDER.model: 1}
    # After re-embedding with the other model, searching with it works.
    await memory_store.set_embedding(ADA, memory.id, other)
    found = await memory_store.candidates(ADA, query("zzz", other))
    assert [c.memory.id for c in found] == [memory.id]


async def test_touch_records_access(memory_store: MemoryStore) -> None:
    memory = make_memory(ADA, "Likes tea")
    await memory_store.add(memory, None)
    later = T0 + timedelta(hours=3)
    await memory_store.touch(ADA, [memory.id, uuid.uuid4()], later)
    await memory_store.touch(BOB, [memory.id], later + timedelta(hours=1))  # not Bob's
    got = await memory_store.get(ADA, memory.id)
    assert got is not None
    assert got.last_accessed_at == later
    assert got.access_count == 1


async def test_negative_paging_is_rejected(memory_store: MemoryStore) -> None:
    with pytest.raises(InvalidInput):
        await memory_store.list(ADA, limit=-1)
    with pytest.raises(InvalidInput):
        await memory_store.list(ADA, offset=-1)
