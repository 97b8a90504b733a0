"""Write-behind over the in-memory stores: same answers as writing through, fewer calls.

The batch target here applies a batch write by write to the plain in-memory stores (the
PostgreSQL function does it in one statement; tests/integration/test_postgres_write_batch.py
checks that on a real server). It counts calls and can be told to fail.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0, make_memory

from companion.adapters.memory import (
    InMemoryConversationStore,
    InMemoryMemoryStore,
    InMemoryProfileStore,
)
from companion.adapters.postgres.schema_json.batch import batch_json
from companion.adapters.postgres.write_batch import WriteBatch, WriteBatchStore
from companion.adapters.postgres.write_behind import (
    WriteBehind,
    WriteBehindConversationStore,
    WriteBehindMemoryStore,
    WriteBehindProfileStore,
)
from companion.domain.errors import Conflict, InvalidInput, StoreUnavailable
from companion.domain.models import (
    Candidate,
    ConversationSummary,
    ConversationTurn,
    Embedding,
    Memory,
    MemoryQuery,
    Role,
    UserProfile,
)

ADA = uuid.UUID("00000000-0000-4000-8000-00000000ada1")
SESSION = uuid.UUID("00000000-0000-4000-8000-000000005e55")


def vec(seed: int) -> Embedding:
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return Embedding("test-model", v / np.linalg.norm(v))


class Reference(WriteBatchStore):
    """Applies a batch to plain stores in the batch's documented order."""

    def __init__(
        self,
        memories: InMemoryMemoryStore,
        conversations: InMemoryConversationStore,
        profiles: InMemoryProfileStore,
    ) -> None:
        self.memories, self.conversations, self.profiles = memories, conversations, profiles
        self._calls = 0
        self.fail_with: Exception | None = None
        self.batches: list[WriteBatch] = []

    @property
    def calls(self) -> int:
        return self._calls

    def check(self, batch: WriteBatch) -> None:
        batch_json(batch)

    async def apply(self, batch: WriteBatch) -> None:
        self._calls += 1
        self.batches.append(batch)
        if self.fail_with is not None:
            raise self.fail_with
        for user, memory_id in batch.memory_deletes:
            await self.memories.delete(user, memory_id)
        for write in batch.memory_updates:
            if await self.memories.get(write.memory.user_id, write.memory.id) is not None:
                await self.memories.update(write.memory, write.embedding)
        for write in batch.memory_inserts:
            await self.memories.add(write.memory, write.embedding)
        for turn in batch.turns:
            await self.conversations.append_turn(turn.turn)
            if turn.processed_at is not None:
                await self.conversations.mark_processed(
                    turn.turn.user_id, turn.turn.id, turn.processed_at
                )
        for user, turn_id, when in batch.processed:
            await self.conversations.mark_processed(user, turn_id, when)
        for touch in batch.touches:
            await self.memories.touch(touch.user_id, touch.memory_ids, touch.when)
        for profile in batch.profiles:
            await self.profiles.save(profile)
        for summary in batch.summaries:
            await self.conversations.save_summary(summary)

    async def apply_then_candidates(
        self, batch: WriteBatch, user_id: uuid.UUID, query: MemoryQuery
    ) -> list[Candidate]:
        await self.apply(batch)
        return await self.memories.candidates(user_id, query)


class Rig:
    def __init__(self, delay: float = 3600.0) -> None:
        self.plain_memories = InMemoryMemoryStore()
        self.plain_conversations = InMemoryConversationStore()
        self.plain_profiles = InMemoryProfileStore()
        self.target = Reference(self.plain_memories, self.plain_conversations, self.plain_profiles)
        self.writes = WriteBehind(
            self.target,
            memories=self.plain_memories,
            conversations=self.plain_conversations,
            profiles=self.plain_profiles,
            delay=delay,
        )
        self.memories = WriteBehindMemoryStore(self.writes)
        self.conversations = WriteBehindConversationStore(self.writes)
        self.profiles = WriteBehindProfileStore(self.writes)


def turn(text: str, minutes: int = 0, role: Role = Role.USER) -> ConversationTurn:
    return ConversationTurn(uuid.uuid4(), ADA, SESSION, role, text, T0 + timedelta(minutes=minutes))


QUERY = MemoryQuery(text="dog", terms=("dog",), embedding=vec(1), limit=10)


async def test_a_turns_writes_ride_with_its_search() -> None:
    rig = Rig()
    said = turn("My dog is called Biscuit")
    memory = make_memory(ADA, "Has a dog called Biscuit", key="pet.dog")
    await rig.conversations.append_turn(said)
    await rig.memories.add(memory, vec(1))
    await rig.conversations.mark_processed(ADA, said.id, T0)
    await rig.profiles.save(UserProfile(user_id=ADA, created_at=T0, updated_at=T0, name="Ada"))
    assert rig.target.calls == 0 and await rig.plain_memories.count(ADA) == 0

    found = await rig.memories.candidates(ADA, QUERY)
    assert rig.target.calls == 1
    assert [c.memory for c in found] == [memory]
    assert await rig.plain_conversations.turns(ADA, SESSION) == [said]
    assert await rig.plain_conversations.pending_turns(10) == []  # marked in the same batch
    (batch,) = rig.target.batches
    assert batch.turns[0].processed_at == T0 and batch.processed == []
    # Nothing pending: the next search is a plain search, no batch.
    await rig.memories.candidates(ADA, QUERY)
    assert rig.target.calls == 1
    assert rig.writes.stats()["write_batches_with_search"] == 1


async def test_reads_are_answered_from_pending_writes_without_a_call() -> None:
    rig = Rig()
    memory = make_memory(ADA, "Lives in Paris", key="location.home")
    profile = UserProfile(user_id=ADA, created_at=T0, updated_at=T0, name="Ada")
    await rig.memories.add(memory, vec(2))
    await rig.profiles.save(profile)
    assert await rig.memories.get(ADA, memory.id) == memory
    assert await rig.memories.find_by_key(ADA, "location.home") == memory
    assert await rig.memories.find_by_key(ADA, "location.work") is None  # directory: free
    assert await rig.profiles.get(ADA) == profile
    assert rig.target.calls == 0


async def test_reads_the_pending_writes_change_send_them_first() -> None:
    rig = Rig()
    said = turn("hello")
    await rig.conversations.append_turn(said)
    await rig.memories.add(make_memory(ADA, "Likes tea"), vec(3))
    assert await rig.conversations.turns(ADA, SESSION) == [said]
    assert rig.target.calls == 1
    assert len(await rig.memories.list(ADA)) == 1
    assert rig.target.calls == 1  # nothing was pending any more


async def test_a_memory_folds_to_its_final_state_and_keeps_its_vector() -> None:
    rig = Rig()
    memory = make_memory(ADA, "Has a dog called Biscuit", key="pet.dog")
    await rig.memories.add(memory, vec(4))
    later = replace(memory, importance=9, updated_at=T0 + timedelta(minutes=1))
    await rig.memories.update(later, None)  # same text: the vector stays
    await rig.memories.touch(ADA, [memory.id], T0 + timedelta(minutes=2))
    await rig.writes.flush(ADA)
    (batch,) = rig.target.batches
    assert batch.memory_updates == [] and len(batch.memory_inserts) == 1
    assert batch.memory_inserts[0].memory == later
    assert batch.memory_inserts[0].embedding == vec(4)
    assert await rig.plain_memories.embedding_models(ADA) == {"test-model": 1}


async def test_an_unreachable_database_keeps_the_writes_for_later() -> None:
    rig = Rig()
    said = turn("I moved to Lyon")
    await rig.conversations.append_turn(said)
    rig.target.fail_with = StoreUnavailable("down")
    with pytest.raises(StoreUnavailable):
        await rig.memories.candidates(ADA, QUERY)
    later = turn("and I love it", minutes=1)
    await rig.conversations.append_turn(later)
    rig.target.fail_with = None
    await rig.writes.flush(ADA)
    assert await rig.plain_conversations.turns(ADA, SESSION) == [said, later]


async def test_a_refused_batch_is_applied_write_by_write_and_loses_no_turn() -> None:
    rig = Rig()
    assert await rig.memories.find_by_key(ADA, "location.home") is None  # directory loaded
    taken = make_memory(ADA, "Lives in Paris", key="location.home")
    await rig.plain_memories.add(taken, vec(5))  # then another process takes the key
    said = turn("I live in Rome")
    await rig.conversations.append_turn(said)
    duplicate = make_memory(ADA, "Lives in Rome", key="location.home")
    await rig.memories.add(duplicate, vec(6))
    await rig.conversations.mark_processed(ADA, said.id, T0)
    rig.target.fail_with = Conflict("key taken")
    await rig.writes.flush(ADA)  # refused, then applied one by one (the target is fixed)
    assert rig.writes.stats()["write_batches_split"] == 1
    assert await rig.plain_conversations.turns(ADA, SESSION) == [said]
    # The memory could not be written, so the turn stays pending for recovery to redo.
    assert [t.id for t in await rig.plain_conversations.pending_turns(10)] == [said.id]
    assert await rig.plain_memories.find_by_key(ADA, "location.home") == taken


async def test_bad_input_is_refused_when_the_write_is_made() -> None:
    rig = Rig()
    with pytest.raises(InvalidInput):
        await rig.memories.add(make_memory(ADA, "nul \x00"), None)
    with pytest.raises(InvalidInput):
        await rig.conversations.append_turn(replace(turn("hi"), created_at=T0.replace(tzinfo=None)))
    assert await rig.writes.pending(ADA) is None  # nothing was queued


async def test_writes_left_alone_are_sent_after_the_delay() -> None:
    rig = Rig(delay=0.01)
    await rig.conversations.append_turn(turn("hello"))
    for _ in range(100):
        if rig.target.calls:
            break
        await asyncio.sleep(0.01)
    assert rig.target.calls == 1 and rig.writes.stats()["write_batches_alone"] == 1
    await rig.writes.close()


async def test_close_sends_everything() -> None:
    rig = Rig()
    summary = ConversationSummary(uuid.uuid4(), ADA, SESSION, "said hello", T0, T0, 1)
    await rig.conversations.save_summary(summary)
    await rig.writes.close()
    assert await rig.plain_conversations.latest_summary(ADA) == summary


# -- the same answers as writing through, for any sequence of writes and reads ------------


def unaccessed(memory: Memory | None) -> Memory | None:
    return None if memory is None else replace(memory, last_accessed_at=None, access_count=0)


KEYS = st.sampled_from(["pet.dog", "location.home", "likes.tea", None])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), KEYS, st.integers(0, 3)),
        st.tuples(st.just("update"), st.integers(0, 5), st.booleans(), KEYS),
        st.tuples(st.just("delete"), st.integers(0, 5)),
        st.tuples(st.just("touch"), st.integers(0, 5)),
        st.tuples(st.just("turn"), st.booleans()),
        st.tuples(st.just("profile"), st.integers(0, 3)),
        st.tuples(st.just("read"), KEYS),
        st.tuples(st.just("search"), st.integers(0, 3)),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
async def test_write_behind_answers_as_writing_through(ops: list[tuple[object, ...]]) -> None:
    rig = Rig()
    direct_m, direct_c, direct_p = (
        InMemoryMemoryStore(),
        InMemoryConversationStore(),
        InMemoryProfileStore(),
    )
    ids: list[uuid.UUID] = []
    for step, op in enumerate(ops):
        when = T0 + timedelta(minutes=step)
        kind = op[0]
        if kind == "add":
            key = op[1]
            if key is not None and await direct_m.find_by_key(ADA, str(key)) is not None:
                continue  # a service never adds a taken key: it updates the slot
            memory = make_memory(ADA, f"memory {step}", key=None if key is None else str(key))
            ids.append(memory.id)
            for store in (direct_m, rig.memories):
                await store.add(memory, vec(int(str(op[2]))))
        elif kind == "update" and ids:
            existing = await direct_m.get(ADA, ids[int(str(op[1])) % len(ids)])
            if existing is None:
                continue
            key = op[3]
            if key is not None and key != existing.key:
                holder = await direct_m.find_by_key(ADA, str(key))
                if holder is not None:
                    continue
            text = existing.text if op[2] else f"{existing.text} changed {step}"
            new = replace(
                existing, text=text, key=None if key is None else str(key), updated_at=when
            )
            for store in (direct_m, rig.memories):
                await store.update(new, None)
        elif kind == "delete" and ids:
            target = ids[int(str(op[1])) % len(ids)]
            assert await direct_m.delete(ADA, target) == await rig.memories.delete(ADA, target)
        elif kind == "touch" and ids:
            target = ids[int(str(op[1])) % len(ids)]
            for store in (direct_m, rig.memories):
                await store.touch(ADA, [target], when)
        elif kind == "turn":
            said = turn(f"turn {step}", minutes=step)
            for conversations in (direct_c, rig.conversations):
                await conversations.append_turn(said)
                if op[1]:
                    await conversations.mark_processed(ADA, said.id, when)
        elif kind == "profile":
            profile = UserProfile(user_id=ADA, created_at=T0, updated_at=when, name=f"Ada {op[1]}")
            for profiles in (direct_p, rig.profiles):
                await profiles.save(profile)
        elif kind == "read":
            key = op[1]
            if key is not None:  # access counts may lag until the batch (a ranking hint)
                got, want = (
                    await rig.memories.find_by_key(ADA, str(key)),
                    await direct_m.find_by_key(ADA, str(key)),
                )
                assert unaccessed(got) == unaccessed(want)
            assert await rig.profiles.get(ADA) == await direct_p.get(ADA)
        elif kind == "search":
            query = MemoryQuery(
                text="memory", terms=("memory",), embedding=vec(int(str(op[1]))), limit=50
            )
            got = {c.memory.id for c in await rig.memories.candidates(ADA, query)}
            assert got == {c.memory.id for c in await direct_m.candidates(ADA, query)}
    await rig.writes.close()
    assert await rig.plain_memories.list(ADA) == await direct_m.list(ADA)
    assert await rig.plain_memories.embedding_models(ADA) == await direct_m.embedding_models(ADA)
    assert await rig.plain_conversations.turns(ADA, SESSION) == await direct_c.turns(ADA, SESSION)
    assert await rig.plain_conversations.pending_turns(100) == await direct_c.pending_turns(100)
    assert await rig.plain_profiles.get(ADA) == await direct_p.get(ADA)


async def test_a_send_cancelled_mid_call_keeps_its_writes() -> None:
    rig = Rig()
    said = turn("I moved to Lyon")
    await rig.conversations.append_turn(said)
    started, release = asyncio.Event(), asyncio.Event()
    apply = rig.target.apply

    async def slow(batch: WriteBatch) -> None:
        started.set()
        await release.wait()
        await apply(batch)

    rig.target.apply = slow  # type: ignore[method-assign]
    search = asyncio.create_task(rig.memories.candidates(ADA, QUERY))
    await started.wait()
    search.cancel()  # e.g. the user interrupted the turn
    with pytest.raises(asyncio.CancelledError):
        await search
    rig.target.apply = apply  # type: ignore[method-assign]
    await rig.writes.flush(ADA)
    assert await rig.plain_conversations.turns(ADA, SESSION) == [said]


BOB = uuid.UUID("00000000-0000-4000-8000-00000000b0b1")


def bob_turn(text: str) -> ConversationTurn:
    return ConversationTurn(uuid.uuid4(), BOB, uuid.uuid4(), Role.USER, text, T0)


async def test_a_settled_users_writes_ride_with_another_users_search() -> None:
    rig = Rig()
    rig.writes._coalesce = 3600.0  # only another call can carry them
    summary = ConversationSummary(uuid.uuid4(), ADA, SESSION, "said hello", T0, T0, 1)
    await rig.conversations.save_summary(summary)
    ada_done = asyncio.create_task(rig.writes.settle(ADA, everything=True))
    await asyncio.sleep(0)
    assert not ada_done.done()
    await rig.conversations.append_turn(bob_turn("hello"))
    await rig.memories.candidates(BOB, QUERY)  # Bob's turn: one call for both users
    await ada_done
    assert rig.target.calls == 1
    assert await rig.plain_conversations.latest_summary(ADA) == summary
    (batch,) = rig.target.batches
    assert {t.turn.user_id for t in batch.turns} == {BOB} and batch.summaries == [summary]
    await rig.writes.close()


async def test_users_settling_together_share_one_call() -> None:
    rig = Rig()
    rig.writes._coalesce = 0.01
    await rig.conversations.append_turn(turn("bye"))
    await rig.conversations.append_turn(bob_turn("bye too"))
    await asyncio.gather(
        rig.writes.settle(ADA, everything=True), rig.writes.settle(BOB, everything=True)
    )
    assert rig.target.calls == 1 and rig.writes.stats()["write_batches_alone"] == 1
    assert len(await rig.plain_conversations.recent_turns(BOB, 5)) == 1
    assert len(await rig.plain_conversations.recent_turns(ADA, 5)) == 1


async def test_settling_while_the_database_is_down_raises_and_keeps_the_writes() -> None:
    rig = Rig()
    rig.writes._coalesce = 0.01
    said = turn("bye")
    await rig.conversations.append_turn(said)
    rig.target.fail_with = StoreUnavailable("down")
    with pytest.raises(StoreUnavailable):
        await rig.writes.settle(ADA, everything=True)
    rig.target.fail_with = None
    await rig.writes.close()
    assert await rig.plain_conversations.turns(ADA, SESSION) == [said]


async def test_close_with_the_database_down_drops_what_it_cannot_send() -> None:
    rig = Rig()
    await rig.conversations.append_turn(turn("bye", role=Role.ASSISTANT))
    rig.target.fail_with = StoreUnavailable("down")
    await rig.writes.close()  # shutdown goes on
    assert rig.writes.stats()["writes_pending"] == 0


async def test_a_refused_batch_whose_fallback_finds_the_database_down_keeps_its_turns() -> None:
    rig = Rig()
    said = turn("I live in Rome")
    await rig.conversations.append_turn(said)
    rig.target.fail_with = Conflict("key taken")  # refused whole ...
    plain_append = rig.plain_conversations.append_turn

    async def down(_turn: ConversationTurn) -> None:
        raise StoreUnavailable("connection refused")  # ... and then the database is gone

    rig.plain_conversations.append_turn = down  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        await rig.writes.flush(ADA)
    assert await rig.plain_conversations.turns(ADA, SESSION) == []
    # Back: the same turn is sent again, nothing was dropped.
    rig.plain_conversations.append_turn = plain_append  # type: ignore[method-assign]
    rig.target.fail_with = None
    await rig.writes.flush(ADA)
    assert await rig.plain_conversations.turns(ADA, SESSION) == [said]
