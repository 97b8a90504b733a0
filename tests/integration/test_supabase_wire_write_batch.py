"""SupabaseWriteBatch on the wire: a batch of deferred writes, and a search after it, as
one RPC call each."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
import respx
from tests.integration._supabase_wire import (
    ADA,
    BOB,
    KEY,
    MEMORY,
    MEMORY_ID,
    ROW,
    T0,
    VECTOR,
    assert_service_role,
    body,
    error_body,
    params,
)

from companion.adapters.postgres.supabase import (
    SupabaseClient,
    SupabaseMemoryStore,
    SupabaseWriteBatch,
)
from companion.adapters.postgres.write_batch import MemoryWrite, Touch, TurnWrite, WriteBatch
from companion.domain.errors import Conflict, EmbeddingModelMismatch, InvalidInput, StoreError
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    MemoryCategory,
    MemoryQuery,
    Role,
    UserProfile,
)

SESSION = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
TURN_ID = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
OLD_TURN = uuid.UUID("00000000-0000-4000-8000-0000000000d0")
GONE = uuid.UUID("00000000-0000-4000-8000-0000000000e0")
NEW_ID = uuid.UUID("00000000-0000-4000-8000-0000000000e1")
SUMMARY_ID = uuid.UUID("00000000-0000-4000-8000-0000000000f1")

TURN = ConversationTurn(
    id=TURN_ID,
    user_id=ADA,
    session_id=SESSION,
    role=Role.USER,
    text="My dog Biscuit turned 3",
    created_at=T0 + timedelta(minutes=5),
)
PROFILE = UserProfile(
    user_id=ADA,
    created_at=T0,
    updated_at=T0 + timedelta(days=1),
    name="Ada",
    interests=("dogs",),
    preferences={"tone": "warm"},
)
SUMMARY = ConversationSummary(
    id=SUMMARY_ID,
    user_id=ADA,
    session_id=SESSION,
    summary="Talked about Biscuit",
    started_at=T0,
    ended_at=T0 + timedelta(hours=1),
    turn_count=2,
    topics=("dog",),
)
INSERTED = replace(MEMORY, id=NEW_ID, key="pet.dog.rex", value="Rex", text="Had a dog Rex")
QUERY = MemoryQuery(
    text="dog Biscuit",
    terms=("dog", "biscuit"),
    phrases=("dog biscuit",),
    embedding=VECTOR,
    limit=10,
    categories=frozenset({MemoryCategory.RELATIONSHIP, MemoryCategory.EVENT}),
    neighbours=1,
    expand=3,
)
# What SupabaseMemoryStore.candidates sends for QUERY (test_supabase_wire_search).
MATCH_PARAMS = {
    "p_user_id": str(ADA),
    "p_terms": ["dog", "biscuit"],
    "p_phrases": ["dog biscuit"],
    "p_embedding": "[0.5,-0.25,0.125,1.0]",
    "p_model": "hashing-4",
    "p_limit": 10,
    "p_categories": ["event", "relationship"],
    "p_neighbours": 1,
    "p_expand": 3,
}
NO_VECTOR = {"embedding": None, "embedding_model": None, "embedding_dim": None}


def full_batch() -> WriteBatch:
    """One write of every kind."""
    return WriteBatch(
        memory_deletes=[(ADA, GONE)],
        memory_updates=[MemoryWrite(MEMORY, None)],
        memory_inserts=[MemoryWrite(INSERTED, VECTOR)],
        turns=[TurnWrite(TURN, processed_at=T0 + timedelta(minutes=6, microseconds=250000))],
        processed=[(ADA, OLD_TURN, T0 + timedelta(minutes=7))],
        touches=[Touch(ADA, (MEMORY_ID, NEW_ID), T0 + timedelta(minutes=8))],
        profiles=[PROFILE],
        summaries=[SUMMARY],
    )


@pytest.fixture
def writer(client: SupabaseClient) -> SupabaseWriteBatch:
    return SupabaseWriteBatch(client)


async def test_apply_sends_every_write_in_one_rpc_call(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    route = api.post("/rpc/companion_apply_writes").respond(204)
    await writer.apply(full_batch())
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {}
    sent = body(call.request)
    assert list(sent) == ["p_batch"]
    batch = sent["p_batch"]
    assert batch["memory_deletes"] == [{"user_id": str(ADA), "id": str(GONE)}]
    # An update without a new vector sends null vector columns: the function keeps the
    # stored one only if the text is unchanged.
    assert batch["memory_updates"] == [{**ROW, **NO_VECTOR}]
    (inserted,) = batch["memory_inserts"]
    assert inserted["id"] == str(NEW_ID)
    assert (inserted["key"], inserted["value"], inserted["text"]) == (
        "pet.dog.rex",
        "Rex",
        "Had a dog Rex",
    )
    assert (inserted["embedding"], inserted["embedding_model"], inserted["embedding_dim"]) == (
        "[0.5,-0.25,0.125,1.0]",
        "hashing-4",
        4,
    )
    assert batch["turns"] == [
        {
            "id": str(TURN_ID),
            "user_id": str(ADA),
            "session_id": str(SESSION),
            "role": "user",
            "text": "My dog Biscuit turned 3",
            "created_at": "2026-03-01T12:05:00+00:00",
            "processed_at": "2026-03-01T12:06:00.250000+00:00",
        }
    ]
    assert batch["processed"] == [
        {"user_id": str(ADA), "id": str(OLD_TURN), "processed_at": "2026-03-01T12:07:00+00:00"}
    ]
    assert batch["touches"] == [
        {
            "user_id": str(ADA),
            "ids": [str(MEMORY_ID), str(NEW_ID)],
            "at": "2026-03-01T12:08:00+00:00",
        }
    ]
    (profile,) = batch["profiles"]
    assert (profile["user_id"], profile["name"], profile["interests"]) == (
        str(ADA),
        "Ada",
        ["dogs"],
    )
    assert profile["preferences"] == {"tone": "warm"}
    (summary,) = batch["summaries"]
    assert (summary["id"], summary["summary"], summary["turn_count"], summary["topics"]) == (
        str(SUMMARY_ID),
        "Talked about Biscuit",
        2,
        ["dog"],
    )
    assert writer.calls == 1


async def test_an_empty_batch_sends_nothing(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    route = api.post("/rpc/companion_apply_writes").respond(204)
    await writer.apply(WriteBatch())
    assert route.call_count == 0
    assert writer.calls == 0


async def test_apply_then_candidates_is_one_call_answering_as_candidates_does(
    api: respx.MockRouter, writer: SupabaseWriteBatch, client: SupabaseClient
) -> None:
    neighbour_id = uuid.uuid4()
    neighbour = {**ROW, "id": str(neighbour_id), "key": None, "position": 5}
    rows = [
        {**ROW, "lexical": 0.4375, "dense": 0.91},
        {**neighbour, "lexical": None, "dense": 0.2},
    ]
    route = api.post("/rpc/companion_apply_and_match").respond(200, json=rows)
    plain = api.post("/rpc/companion_match_memories").respond(200, json=rows)
    batch = WriteBatch(touches=[Touch(ADA, (MEMORY_ID,), T0)])
    found = await writer.apply_then_candidates(batch, ADA, QUERY)
    assert [(c.memory, c.lexical, c.dense) for c in found] == [
        (MEMORY, 0.4375, 0.91),
        (replace(MEMORY, id=neighbour_id, key=None, position=5), None, 0.2),
    ]
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {}
    sent = body(call.request)
    assert sent.pop("p_batch")["touches"] == [
        {"user_id": str(ADA), "ids": [str(MEMORY_ID)], "at": "2026-03-01T12:00:00+00:00"}
    ]
    assert sent == MATCH_PARAMS
    # The same search through the memory store: the same arguments, the same answer.
    assert await SupabaseMemoryStore(client).candidates(ADA, QUERY) == found
    assert body(plain.calls.last.request) == sent
    assert writer.calls == 1


async def test_apply_then_candidates_with_an_empty_batch_still_searches(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    route = api.post("/rpc/companion_apply_and_match").respond(200, json=[])
    assert await writer.apply_then_candidates(WriteBatch(), BOB, QUERY) == []
    sent = body(route.calls.last.request)
    assert sent["p_batch"]["memory_inserts"] == []
    assert sent["p_user_id"] == str(BOB)
    assert writer.calls == 1


async def test_a_taken_id_or_key_is_a_conflict(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    duplicate = error_body(
        "23505",
        'duplicate key value violates unique constraint "companion_memories_user_key"',
    )
    api.post("/rpc/companion_apply_writes").respond(409, json=duplicate)
    api.post("/rpc/companion_apply_and_match").respond(409, json=duplicate)
    batch = WriteBatch(memory_inserts=[MemoryWrite(INSERTED, VECTOR)])
    with pytest.raises(Conflict, match="23505") as caught:
        await writer.apply(batch)
    assert KEY not in str(caught.value)
    with pytest.raises(Conflict):
        await writer.apply_then_candidates(batch, ADA, QUERY)
    assert writer.calls == 2


async def test_a_search_with_another_embedding_model_is_a_mismatch(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    api.post("/rpc/companion_apply_and_match").respond(
        400,
        json=error_body(
            "CM001", "this user's memories were embedded with 'minilm' but the query with 'x'"
        ),
    )
    batch = WriteBatch(touches=[Touch(ADA, (MEMORY_ID,), T0)])
    with pytest.raises(EmbeddingModelMismatch, match="reindex"):
        await writer.apply_then_candidates(batch, ADA, QUERY)


async def test_an_unreadable_answer_is_a_store_error(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    api.post("/rpc/companion_apply_and_match").respond(200, json={"not": "rows"})
    with pytest.raises(StoreError):
        await writer.apply_then_candidates(WriteBatch(), ADA, QUERY)


@pytest.mark.parametrize(
    "batch",
    [
        pytest.param(
            WriteBatch(memory_inserts=[MemoryWrite(replace(MEMORY, text="a\x00b"), None)]),
            id="nul-in-memory-text",
        ),
        pytest.param(
            WriteBatch(turns=[TurnWrite(replace(TURN, created_at=T0.replace(tzinfo=None)))]),
            id="naive-turn-time",
        ),
        pytest.param(
            WriteBatch(touches=[Touch(ADA, ("not-a-uuid",), T0)]),  # type: ignore[arg-type]
            id="touch-id-not-a-uuid",
        ),
    ],
)
async def test_invalid_input_is_refused_before_anything_is_sent(
    api: respx.MockRouter, writer: SupabaseWriteBatch, batch: WriteBatch
) -> None:
    apply_route = api.post("/rpc/companion_apply_writes").respond(204)
    match_route = api.post("/rpc/companion_apply_and_match").respond(200, json=[])
    with pytest.raises(InvalidInput):
        writer.check(batch)
    with pytest.raises(InvalidInput):
        await writer.apply(batch)
    with pytest.raises(InvalidInput):
        await writer.apply_then_candidates(batch, ADA, QUERY)
    assert (apply_route.call_count, match_route.call_count, writer.calls) == (0, 0, 0)


async def test_an_invalid_query_sends_nothing(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    route = api.post("/rpc/companion_apply_and_match").respond(200, json=[])
    with pytest.raises(InvalidInput):
        await writer.apply_then_candidates(WriteBatch(), ADA, replace(QUERY, expand=-1))
    with pytest.raises(InvalidInput):
        await writer.apply_then_candidates(WriteBatch(), "ada", QUERY)  # type: ignore[arg-type]
    assert (route.call_count, writer.calls) == (0, 0)


async def test_calls_count_each_round_trip(
    api: respx.MockRouter, writer: SupabaseWriteBatch
) -> None:
    api.post("/rpc/companion_apply_writes").respond(204)
    api.post("/rpc/companion_apply_and_match").side_effect = [
        httpx.Response(200, json=[]),
        httpx.Response(200, json=[]),
    ]
    writer.check(full_batch())
    assert writer.calls == 0  # checking is local
    await writer.apply(full_batch())
    await writer.apply(WriteBatch())
    await writer.apply_then_candidates(full_batch(), ADA, QUERY)
    await writer.apply_then_candidates(WriteBatch(), ADA, QUERY)
    assert writer.calls == 3
