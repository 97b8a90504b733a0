"""MemoryService: saving is idempotent per slot, and nothing is half-written."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.adapters.memory import (
    HashingEmbedder,
    InMemoryCache,
    InMemoryMemoryStore,
    InMemoryProfileStore,
    ManualClock,
)
from companion.core import MemoryService, RAGService
from companion.domain.changes import Change
from companion.domain.errors import InvalidInput, NotFound
from companion.domain.models import MemoryCandidate, MemoryCategory
from companion.domain.scoring import RankingWeights

ADA = uuid.UUID(int=10)


@dataclass
class Kit:
    store: InMemoryMemoryStore
    embedder: HashingEmbedder
    clock: ManualClock
    rag: RAGService
    memories: MemoryService


def make_kit(
    embedder: HashingEmbedder | None = None, store: InMemoryMemoryStore | None = None
) -> Kit:
    store = store or InMemoryMemoryStore()
    embedder = embedder or HashingEmbedder()
    clock = ManualClock()
    profiles = InMemoryProfileStore()
    rag = RAGService(store, embedder, profiles, InMemoryCache(), clock, RankingWeights())
    return Kit(store, embedder, clock, rag, MemoryService(store, embedder, profiles, rag, clock))


@pytest.fixture
def kit() -> Kit:
    return make_kit()


def fact(key: str | None, value: str, text: str | None = None) -> MemoryCandidate:
    return MemoryCandidate(MemoryCategory.FACT, text or f"{key} is {value}", 5, key, value)


async def test_same_statement_twice_is_one_memory(kit: Kit) -> None:
    first = await kit.memories.remember(ADA, [fact("location.home", "Paris", "Lives in Paris")])
    again = await kit.memories.remember(ADA, [fact("location.home", "Paris", "lives in  paris")])
    assert [r.change for r in first] == [Change.ADDED]
    assert [r.change for r in again] == [Change.UNCHANGED]
    assert await kit.store.count(ADA) == 1


async def test_new_value_for_a_slot_updates_it(kit: Kit) -> None:
    (added,) = await kit.memories.remember(ADA, [fact("location.home", "Paris", "Lives in Paris")])
    kit.clock.advance(timedelta(days=2))
    (moved,) = await kit.memories.remember(
        ADA, [fact("location.home", "Berlin", "Lives in Berlin")]
    )
    assert moved.change is Change.UPDATED
    assert moved.memory.id == added.memory.id
    assert moved.memory.updated_at == kit.clock.now()
    (found,) = await kit.memories.search(ADA, "Where does she live? Berlin", limit=1)
    assert found.memory.value == "Berlin"


async def test_free_notes_dedupe_by_text(kit: Kit) -> None:
    note = MemoryCandidate(MemoryCategory.EVENT, "Had a rough day at work", 4)
    await kit.memories.remember(ADA, [note])
    (again,) = await kit.memories.remember(ADA, [note])
    assert again.change is Change.UNCHANGED
    assert await kit.store.count(ADA) == 1


async def test_one_bad_candidate_writes_nothing(kit: Kit) -> None:
    with pytest.raises(InvalidInput):
        await kit.memories.remember(
            ADA, [fact("likes.tea", "tea"), MemoryCandidate(MemoryCategory.FACT, "x", 11)]
        )
    assert await kit.store.count(ADA) == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["name", "location.home", "likes.tea", None]),
            st.sampled_from(["Ada", "Paris", "Berlin", "tea", "chai"]),
        ),
        max_size=25,
    )
)
async def test_no_two_memories_ever_fill_one_slot(statements: list[tuple[str | None, str]]) -> None:
    kit = make_kit()
    for key, value in statements:
        await kit.memories.remember(ADA, [fact(key, value, f"{key or 'note'}: {value}")])
    stored = await kit.store.list(ADA)
    keys = [m.key for m in stored]
    assert len(keys) == len(set(keys))
    texts = [m.text.casefold() for m in stored]
    assert len(texts) == len(set(texts))
    latest = {}
    for key, value in statements:
        if key is not None:
            latest[key] = value
    for key, value in latest.items():
        memory = await kit.store.find_by_key(ADA, key)
        assert memory is not None and memory.value == value


async def test_search_touches_what_it_returns(kit: Kit) -> None:
    (saved,) = await kit.memories.remember(
        ADA, [fact("pet.dog.biscuit", "Biscuit", "Has a dog called Biscuit")]
    )
    kit.clock.advance(timedelta(hours=1))
    await kit.memories.search(ADA, "dog")
    memory = await kit.memories.get(ADA, saved.memory.id)
    assert memory.access_count == 1 and memory.last_accessed_at == kit.clock.now()


async def test_repeated_queries_are_embedded_once(kit: Kit) -> None:
    await kit.memories.remember(ADA, [fact("likes.tea", "tea", "Likes tea")])
    before = kit.embedder.calls
    for _ in range(3):
        await kit.rag.retrieve(ADA, "what do I drink?")
    assert kit.embedder.calls == before + 1


async def test_forget_removes_only_that_memory(kit: Kit) -> None:
    results = await kit.memories.remember(
        ADA, [fact("likes.tea", "tea"), fact("likes.chess", "chess")]
    )
    forgotten = await kit.memories.forget(ADA, results[0].memory.id)
    assert forgotten.value == "tea"
    assert [m.value for m in await kit.memories.list(ADA)] == ["chess"]
    with pytest.raises(NotFound):
        await kit.memories.forget(ADA, results[0].memory.id)
    with pytest.raises(NotFound):
        await kit.memories.forget(uuid.UUID(int=99), results[1].memory.id)


async def test_reindex_moves_every_vector_to_the_new_model() -> None:
    store = InMemoryMemoryStore()
    old = make_kit(HashingEmbedder(64), store)
    await old.memories.remember(ADA, [fact("likes.tea", "tea"), fact("likes.chess", "chess")])
    new = make_kit(HashingEmbedder(128), store)
    with pytest.raises(Exception, match="reindex"):
        await new.memories.search(ADA, "tea")
    assert await new.memories.reindex(ADA) == 2
    assert await store.embedding_models(ADA) == {"hashing-128": 2}
    (hit, *_) = await new.memories.search(ADA, "tea")
    assert hit.memory.value == "tea"


async def test_import_is_idempotent_and_newer_wins(kit: Kit) -> None:
    (saved,) = await kit.memories.remember(ADA, [fact("location.home", "Paris", "Lives in Paris")])
    from dataclasses import replace

    newer = replace(
        saved.memory,
        id=uuid.uuid4(),
        text="Lives in Berlin",
        value="Berlin",
        updated_at=saved.memory.updated_at + timedelta(days=1),
    )
    report = await kit.memories.import_memories(ADA, [newer])
    assert (report.added, report.updated, report.skipped) == (0, 1, 0)
    assert (await kit.store.find_by_key(ADA, "location.home")).value == "Berlin"  # type: ignore[union-attr]
    again = await kit.memories.import_memories(ADA, [saved.memory])
    assert (again.added, again.updated, again.skipped) == (0, 0, 1)
    with pytest.raises(InvalidInput):
        await kit.memories.import_memories(uuid.UUID(int=5), [saved.memory])


async def test_a_note_said_again_in_fewer_words_is_not_stored_twice() -> None:
    from companion.adapters.local.local_embedder import LocalEmbedder

    kit = make_kit(LocalEmbedder())  # real vectors: the rule is about what MiniLM sees
    note = MemoryCandidate(MemoryCategory.EVENT, "I had a really rough day at work", 4)
    (first,) = await kit.memories.remember(ADA, [note])
    again = MemoryCandidate(MemoryCategory.EVENT, "Had a rough day at work!", 4)
    (second,) = await kit.memories.remember(ADA, [again])
    assert second.change is Change.UNCHANGED and second.memory.id == first.memory.id
    richer = MemoryCandidate(MemoryCategory.EVENT, "Had a rough day at work with Sam", 4)
    (third,) = await kit.memories.remember(ADA, [richer])
    assert third.change is Change.ADDED  # a new name is new information
    assert await kit.store.count(ADA) == 2
