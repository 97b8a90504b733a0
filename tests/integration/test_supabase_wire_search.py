"""SupabaseMemoryStore's search on the wire: candidates, uses and vectors through RPCs."""

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

from companion.adapters.postgres.supabase import SupabaseClient, SupabaseMemoryStore
from companion.domain.errors import EmbeddingModelMismatch, NotFound
from companion.domain.models import MemoryCategory, MemoryQuery


@pytest.fixture
def store(client: SupabaseClient) -> SupabaseMemoryStore:
    return SupabaseMemoryStore(client)


async def test_candidates_are_one_rpc_call(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    neighbour = {**ROW, "id": str(uuid.uuid4()), "key": None, "position": 5}
    route = api.post("/rpc/companion_match_memories").respond(
        200,
        json=[
            {**ROW, "lexical": 0.4375, "dense": 0.91},
            {**neighbour, "lexical": None, "dense": 0.2},
        ],
    )
    query = MemoryQuery(
        text="dog Biscuit",
        terms=("dog", "biscuit"),
        phrases=("dog biscuit",),
        embedding=VECTOR,
        limit=10,
        categories=frozenset({MemoryCategory.RELATIONSHIP, MemoryCategory.EVENT}),
        neighbours=1,
        expand=3,
    )
    found = await store.candidates(ADA, query)
    assert [(c.memory, c.lexical, c.dense) for c in found] == [
        (MEMORY, 0.4375, 0.91),
        (replace(MEMORY, id=uuid.UUID(neighbour["id"]), key=None, position=5), None, 0.2),
    ]
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {}
    assert body(call.request) == {
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


async def test_candidates_without_a_vector_send_plain_words_and_nulls(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.post("/rpc/companion_match_memories").respond(200, json=[])
    query = MemoryQuery(
        text="x",
        terms=("dog", 'bis"cuit) OR *', "dog", "  ", "nul\x00byte"),
        phrases=("support   group",),
        embedding=None,
        limit=5,
    )
    assert await store.candidates(ADA, query) == []
    sent = body(route.calls.last.request)
    # Operators in user text are plain words: the function quotes them into tsqueries.
    assert sent["p_terms"] == ["dog", 'bis"cuit) OR *', "nul byte"]
    assert sent["p_phrases"] == ["support group"]
    assert (sent["p_embedding"], sent["p_model"], sent["p_categories"]) == (None, None, None)


async def test_a_query_from_another_embedding_model_is_a_mismatch(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    api.post("/rpc/companion_match_memories").respond(
        400,
        json=error_body(
            "CM001", "this user's memories were embedded with 'minilm' but the query with 'x'"
        ),
    )
    query = MemoryQuery(text="dog", terms=("dog",), embedding=VECTOR, limit=5)
    with pytest.raises(EmbeddingModelMismatch, match="reindex"):
        await store.candidates(ADA, query)


async def test_touch_is_one_rpc_call_and_nothing_for_no_ids(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.post("/rpc/companion_touch_memories").respond(204)
    other = uuid.uuid4()
    await store.touch(ADA, [MEMORY_ID, other, MEMORY_ID], T0 + timedelta(hours=2))
    (call,) = route.calls
    assert_service_role(call.request)
    assert body(call.request) == {
        "p_user_id": str(ADA),
        "p_ids": [str(MEMORY_ID), str(other), str(MEMORY_ID)],  # twice: two uses
        "p_when": "2026-03-01T14:00:00+00:00",
    }
    await store.touch(ADA, [], T0)
    assert route.call_count == 1


async def test_embedding_models_are_counted_by_the_database(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.post("/rpc/companion_embedding_models").respond(
        200, json=[{"embedding_model": "minilm", "n": 3}, {"embedding_model": None, "n": 1}]
    )
    assert await store.embedding_models(ADA) == {"minilm": 3, None: 1}
    assert body(route.calls.last.request) == {"p_user_id": str(ADA)}


async def test_set_embedding_patches_only_the_vector(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.patch("/companion_memories")
    route.side_effect = [
        httpx.Response(200, json=[{"id": str(MEMORY_ID)}]),
        httpx.Response(200, json=[]),
    ]
    await store.set_embedding(ADA, MEMORY_ID, VECTOR)
    call = route.calls[0]
    assert params(call.request) == {
        "id": f"eq.{MEMORY_ID}",
        "user_id": f"eq.{ADA}",
        "select": "id",
    }
    assert body(call.request) == {
        "embedding": "[0.5,-0.25,0.125,1.0]",
        "embedding_model": "hashing-4",
        "embedding_dim": 4,
    }
    with pytest.raises(NotFound):
        await store.set_embedding(BOB, MEMORY_ID, VECTOR)
