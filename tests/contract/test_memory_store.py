"""The MemoryStore contract, run against every adapter."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from tests.conftest import T0, make_memory

from companion.adapters.memory import HashingEmbedder
from companion.domain.errors import Conflict, EmbeddingModelMismatch, InvalidInput, NotFound
from companion.domain.models import Embedding, Memory, MemoryCategory, MemoryQuery
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


async def test_erasing_a_user_deletes_all_their_memories_and_no_one_elses(
    memory_store: MemoryStore,
) -> None:
    for i in range(3):
        m = make_memory(ADA, f"Ada's pottery class {i}", key=f"class.{i}", minutes=i)
        await memory_store.add(m, await vec(m.text))
    await memory_store.add(make_memory(ADA, "Ada keeps a diary"), None)  # no vector
    bob = make_memory(BOB, "Bo's pottery class", key="class.0")
    await memory_store.add(bob, await vec(bob.text))

    assert await memory_store.erase_user(ADA) == 4
    assert await memory_store.list(ADA) == []
    assert await memory_store.count(ADA) == 0
    assert await memory_store.keys(ADA) == {}
    assert await memory_store.embedding_models(ADA) == {}
    assert await memory_store.candidates(ADA, query("pottery", await vec("pottery"))) == []
    assert await memory_store.erase_user(ADA) == 0  # idempotent
    # Bo keeps everything, and is still found by word and by meaning.
    assert await memory_store.list(BOB) == [bob]
    found = await memory_store.candidates(BOB, query("pottery", await vec("pottery")))
    assert [c.memory for c in found] == [bob]
    # The user can start again: the keys are free, the search sees only the new memory.
    again = make_memory(ADA, "Ada's pottery class, the new one", key="class.0")
    await memory_store.add(again, await vec(again.text))
    found = await memory_store.candidates(ADA, query("pottery", await vec("pottery")))
    assert [c.memory for c in found] == [again]


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


def turn(
    user: uuid.UUID,
    text: str,
    thread: str | None,
    position: int | None,
    category: MemoryCategory = MemoryCategory.FACT,
) -> Memory:
    return replace(make_memory(user, text, category=category), thread=thread, position=position)


async def test_thread_and_position_round_trip_and_update_changes_them(
    memory_store: MemoryStore,
) -> None:
    said = replace(turn(ADA, "Adopted a cat named Luna", "session-7", 3), key="pet.cat")
    await memory_store.add(said, await vec(said.text))
    assert await memory_store.get(ADA, said.id) == said
    assert await memory_store.list(ADA) == [said]
    assert await memory_store.find_by_key(ADA, "pet.cat") == said
    (found,) = await memory_store.candidates(ADA, query("luna", await vec("luna")))
    assert (found.memory.thread, found.memory.position) == ("session-7", 3)

    moved = replace(said, thread="session-9", position=0, updated_at=T0 + timedelta(hours=1))
    await memory_store.update(moved, None)
    assert await memory_store.get(ADA, said.id) == moved
    unthreaded = replace(moved, thread=None, position=None)
    await memory_store.update(unthreaded, None)
    got = await memory_store.get(ADA, said.id)
    assert got == unthreaded
    assert got is not None and got.thread is None and got.position is None
    for bad in ({"thread": 7}, {"position": True}, {"position": "3"}, {"position": 1.5}):
        with pytest.raises(InvalidInput):
            await memory_store.add(replace(make_memory(ADA, "x"), **bad), None)
    assert await memory_store.count(ADA) == 1


class Conversation:
    """Ada's session s1 (five turns, two memories from turn 2) and distractors around it."""

    def __init__(self) -> None:
        self.turns = [
            turn(ADA, "Morning greetings and small talk", "s1", 0),
            turn(ADA, "Asked how the week has been", "s1", 1),
            turn(ADA, "Signed up for a pottery class downtown", "s1", 2),
            turn(ADA, "Said the teacher seems patient", "s1", 3, MemoryCategory.EVENT),
            turn(ADA, "Planned to bake bread on Sunday", "s1", 4),
        ]
        self.same_turn = turn(ADA, "Felt nervous about trying something new", "s1", 2)
        self.others = [
            *(turn(ADA, text, "s2", i) for i, text in enumerate(["Visited grandma", "Fixed bike"])),
            turn(ADA, "Watched a film", "s2", 3),
            *(turn(BOB, f"Bob's turn {i} at his pottery class", "s1", i) for i in range(1, 4)),
        ]

    async def store(self, store: MemoryStore) -> None:
        for memory in [*self.turns, self.same_turn, *self.others]:
            await store.add(memory, await vec(memory.text))

    def ids(self, *positions: int, same_turn: bool = False) -> set[uuid.UUID]:
        extra = {self.same_turn.id} if same_turn else set()
        return {self.turns[p].id for p in positions} | extra


def around(
    embedding: Embedding, neighbours: int, terms: tuple[str, ...] = ("pottery", "class"), **kw: Any
) -> MemoryQuery:
    text = " ".join(terms)
    return MemoryQuery(text, terms, embedding, limit=1, neighbours=neighbours, **kw)


async def test_neighbours_bring_in_what_was_said_around_a_match(
    memory_store: MemoryStore,
) -> None:
    talk = Conversation()
    await talk.store(memory_store)
    match = talk.turns[2]
    probe = await vec(match.text)

    alone = await memory_store.candidates(ADA, around(probe, 0))
    assert [c.memory.id for c in alone] == [match.id]

    found = await memory_store.candidates(ADA, around(probe, 1))
    by_id = {c.memory.id: c for c in found}
    assert len(by_id) == len(found)  # one candidate per memory
    # The turns just before and after, and the other memory of the same turn; never
    # Ada's other session nor Bob's session of the same name.
    assert set(by_id) == talk.ids(1, 2, 3, same_turn=True)
    hit = by_id[match.id]
    assert hit.lexical is not None and hit.lexical > 0
    assert hit.dense == pytest.approx(1.0, abs=1e-5)
    for neighbour in (talk.turns[1], talk.turns[3], talk.same_turn):
        got = by_id[neighbour.id]
        assert got.lexical is None
        expected = float((await vec(neighbour.text)).vector @ probe.vector)
        assert got.dense == pytest.approx(expected, abs=1e-5)

    wider = await memory_store.candidates(ADA, around(probe, 2))
    assert {c.memory.id for c in wider} == talk.ids(0, 1, 2, 3, 4, same_turn=True)


async def test_neighbours_respect_the_category_filter(memory_store: MemoryStore) -> None:
    talk = Conversation()
    await talk.store(memory_store)
    facts = frozenset({MemoryCategory.FACT})
    found = await memory_store.candidates(
        ADA, around(await vec(talk.turns[2].text), 1, categories=facts)
    )
    assert {c.memory.id for c in found} == talk.ids(1, 2, same_turn=True)  # turn 3 is an event
    assert all(c.memory.category is MemoryCategory.FACT for c in found)


async def test_neighbours_of_a_dense_only_match_come_in_too(memory_store: MemoryStore) -> None:
    talk = Conversation()
    await talk.store(memory_store)
    last = talk.turns[4]
    found = await memory_store.candidates(ADA, around(await vec(last.text), 1, terms=()))
    assert {c.memory.id for c in found} == talk.ids(3, 4)
    assert all(c.lexical is None and c.dense is not None for c in found)


async def test_memories_without_a_thread_have_no_neighbours(memory_store: MemoryStore) -> None:
    loose = make_memory(ADA, "Signed up for a pottery class downtown")
    await memory_store.add(loose, await vec(loose.text))
    await memory_store.add(turn(ADA, "Asked how the week has been", None, 1), None)
    await memory_store.add(turn(ADA, "Said the teacher seems patient", "s1", None), None)
    found = await memory_store.candidates(ADA, around(await vec(loose.text), 3))
    assert [c.memory.id for c in found] == [loose.id]


async def test_negative_neighbours_are_rejected(memory_store: MemoryStore) -> None:
    with pytest.raises(InvalidInput):
        await memory_store.candidates(ADA, around(await vec("pottery"), -1))


async def test_dense_is_filled_for_a_lexical_only_match(memory_store: MemoryStore) -> None:
    stamps = make_memory(ADA, "Collects vintage stamps")
    basketball = make_memory(ADA, "Plays basketball on Fridays")
    album = make_memory(ADA, "Keeps a photo album of every trip to Japan")
    await memory_store.add(stamps, await vec(stamps.text))
    await memory_store.add(basketball, await vec(basketball.text))
    await memory_store.add(album, None)
    probe = await vec(basketball.text)
    found = await memory_store.candidates(ADA, query("stamps", probe, limit=1))
    by_id = {c.memory.id: c for c in found}
    assert set(by_id) == {stamps.id, basketball.id}
    # Far from the query vector, yet its similarity travels with it for the ranking.
    far = by_id[stamps.id]
    assert far.lexical is not None
    assert far.dense == pytest.approx(float((await vec(stamps.text)).vector @ probe.vector))
    assert far.dense < 0.5
    assert by_id[basketball.id].lexical is None
    assert by_id[basketball.id].dense == pytest.approx(1.0, abs=1e-5)
    # Without a vector there is no similarity to give.
    found = await memory_store.candidates(ADA, query("album", probe, limit=1))
    assert {c.memory.id: c.dense is None for c in found} == {album.id: True, basketball.id: False}


def said(terms: tuple[str, ...] = (), phrases: tuple[str, ...] = ()) -> MemoryQuery:
    text = " ".join((*terms, *phrases))
    return MemoryQuery(text=text, terms=terms, embedding=None, limit=5, phrases=phrases)


async def test_a_phrase_rewards_words_said_together(memory_store: MemoryStore) -> None:
    # The same words, so the same single-word scores: only the phrase tells them apart.
    together = make_memory(ADA, "Found a support group for new parents")
    apart = make_memory(ADA, "Found support for a new parents group")
    for text in ("Walks the dog every morning", "Works at Acme", "Reads novels at night"):
        await memory_store.add(make_memory(ADA, text), None)
    await memory_store.add(together, None)
    await memory_store.add(apart, None)
    terms = ("support", "group")
    plain = {c.memory.id: c.lexical for c in await memory_store.candidates(ADA, said(terms))}
    assert plain[together.id] == pytest.approx(plain[apart.id])
    found = await memory_store.candidates(ADA, said(terms, ("support group",)))
    with_phrase = {c.memory.id: c.lexical or 0.0 for c in found}
    assert with_phrase[together.id] > with_phrase[apart.id]
    only_phrase = await memory_store.candidates(ADA, said(phrases=("Support  Groups",)))
    assert [c.memory.id for c in only_phrase] == [together.id]


HOSTILE_PHRASES = [
    *('"support group"', 'support" OR "parents', "NEAR(support group)", "support* group*"),
    *("(support OR group)", "support AND NOT group", "text:support group", "^support -group"),
    *('"', "", "   ", "\x00support\x00group", "{text key}: support"),
]


async def test_hostile_phrases_are_plain_words(memory_store: MemoryStore) -> None:
    await memory_store.add(make_memory(ADA, "Found a support group for new parents"), None)
    await memory_store.add(make_memory(BOB, "Bob's support group"), None)
    for phrase in HOSTILE_PHRASES:
        found = await memory_store.candidates(ADA, said(phrases=(phrase,)))
        assert all(c.memory.user_id == ADA for c in found), phrase
    # As FTS syntax these would match (OR, NEAR, prefix); as words in a row they do not.
    for phrase in ('support" OR "parents', "NEAR(support group)", "(support OR parents)"):
        assert await memory_store.candidates(ADA, said(phrases=(phrase,))) == [], phrase


async def test_only_the_best_candidates_bring_in_their_neighbours(
    memory_store: MemoryStore,
) -> None:
    # Three threads whose middle turn matches; with expand=1 only the best match's thread
    # contributes its neighbours, so the pool stays small however many memories match.
    for thread, words in enumerate(["chess chess chess", "chess chess", "chess"]):
        for position in range(3):
            text = f"turn {position} of {thread}" + (f" about {words}" if position == 1 else "")
            m = replace(make_memory(ADA, text), thread=f"t{thread}", position=position)
            await memory_store.add(m, None)
    query = MemoryQuery(
        text="chess", terms=("chess",), embedding=None, limit=10, neighbours=1, expand=1
    )
    found = await memory_store.candidates(ADA, query)
    threads = sorted((c.memory.thread, c.memory.position) for c in found)
    assert threads == [("t0", 0), ("t0", 1), ("t0", 2), ("t1", 1), ("t2", 1)]
    with pytest.raises(InvalidInput):
        await memory_store.candidates(ADA, replace(query, expand=-1))


async def test_keys_list_the_users_keyed_memories_with_their_ids(
    memory_store: MemoryStore,
) -> None:
    assert await memory_store.keys(ADA) == {}
    home = make_memory(ADA, "Lives in Paris", key="location.home")
    dog = make_memory(ADA, "Has a dog called Biscuit", key="pet.dog")
    await memory_store.add(home, None)
    await memory_store.add(dog, await vec(dog.text))
    await memory_store.add(make_memory(ADA, "Went hiking last summer"), None)  # no slot
    await memory_store.add(make_memory(BOB, "Lives in Rome", key="location.home"), None)
    await memory_store.add(make_memory(BOB, "Name is Bob", key="name"), None)
    assert await memory_store.keys(ADA) == {"location.home": home.id, "pet.dog": dog.id}
    assert set(await memory_store.keys(BOB)) == {"location.home", "name"}


async def test_keys_follow_updates_and_deletes(memory_store: MemoryStore) -> None:
    home = make_memory(ADA, "Lives in Paris", key="location.home")
    tea = make_memory(ADA, "Likes tea", key="likes.tea")
    loose = make_memory(ADA, "Works at Acme")
    for memory in (home, tea, loose):
        await memory_store.add(memory, None)
    await memory_store.update(replace(home, key="location.previous"), None)
    await memory_store.update(replace(tea, key=None), None)
    await memory_store.update(replace(loose, key="work.employer"), None)
    assert await memory_store.keys(ADA) == {
        "location.previous": home.id,
        "work.employer": loose.id,
    }
    assert await memory_store.delete(ADA, home.id) is True
    assert await memory_store.keys(ADA) == {"work.employer": loose.id}
    assert await memory_store.delete(ADA, loose.id) is True
    assert await memory_store.keys(ADA) == {}


async def test_keys_reject_a_bad_user_id_as_find_by_key_does(memory_store: MemoryStore) -> None:
    for bad in (str(ADA), None, 7):
        try:
            await memory_store.find_by_key(bad, "name")  # type: ignore[arg-type]
        except Exception as exc:  # whatever find_by_key raises, keys must raise too
            with pytest.raises(type(exc)):
                await memory_store.keys(bad)  # type: ignore[arg-type]
        else:
            assert await memory_store.keys(bad) == {}  # type: ignore[arg-type]
