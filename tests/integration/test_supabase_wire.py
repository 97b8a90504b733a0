"""SupabaseMemoryStore on the wire: the PostgREST requests it sends and how it reads the answers.

respx stands in for the project's REST endpoint (no PostgREST server can run here); each
test checks the method, path, filters, headers and body a real project would receive.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

import httpx
import numpy as np
import pytest
import respx
from tests.integration._supabase_wire import (
    ADA,
    BOB,
    COLUMNS,
    MEMORY,
    MEMORY_ID,
    ROW,
    TEXT,
    VECTOR,
    assert_service_role,
    body,
    error_body,
    params,
    prefer,
)

from companion.adapters.postgres.supabase import SupabaseClient, SupabaseMemoryStore
from companion.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    StoreError,
)
from companion.domain.models import (
    Embedding,
    Memory,
    MemoryCategory,
)


@pytest.fixture
def store(client: SupabaseClient) -> SupabaseMemoryStore:
    return SupabaseMemoryStore(client)


async def test_add_inserts_one_row_with_the_vector_in_pgvector_text_form(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.post("/companion_memories").respond(201)
    await store.add(MEMORY, VECTOR)
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {}
    assert prefer(call.request) == {"return=minimal"}
    assert body(call.request) == {
        **ROW,
        "embedding": "[0.5,-0.25,0.125,1.0]",
        "embedding_model": "hashing-4",
        "embedding_dim": 4,
    }


async def test_a_float32_vector_survives_its_text_form_exactly(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.post("/companion_memories").respond(201)
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    await store.add(MEMORY, Embedding("minilm", vector))
    sent = body(route.calls.last.request)
    assert sent["embedding_dim"] == 384
    # pgvector reads each number with strtof: the same float32 must come out.
    parsed = np.array([np.float32(x) for x in sent["embedding"][1:-1].split(",")])
    assert np.array_equal(parsed, vector)


async def test_add_without_a_vector_sends_null_vector_columns(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.post("/companion_memories").respond(201)
    await store.add(MEMORY, None)
    sent = body(route.calls.last.request)
    assert (sent["embedding"], sent["embedding_model"], sent["embedding_dim"]) == (None,) * 3


async def test_a_taken_id_or_key_is_a_conflict(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    api.post("/companion_memories").respond(
        409,
        json=error_body(
            "23505",
            'duplicate key value violates unique constraint "companion_memories_user_key"',
            f"Key (user_id, key)=({ADA}, pet.dog.biscuit) already exists.",
        ),
    )
    with pytest.raises(Conflict, match="23505"):
        await store.add(MEMORY, VECTOR)


async def test_update_with_a_vector_is_one_patch_scoped_to_the_user(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.patch("/companion_memories").respond(200, json=[{"id": str(MEMORY_ID)}])
    await store.update(MEMORY, VECTOR)
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {
        "id": f"eq.{MEMORY_ID}",
        "user_id": f"eq.{ADA}",
        "select": "id",
    }
    assert "return=representation" in prefer(call.request)
    sent = body(call.request)
    assert "id" not in sent and "user_id" not in sent  # identity is in the filter only
    assert sent["text"] == TEXT and sent["embedding"] == "[0.5,-0.25,0.125,1.0]"


async def test_update_without_a_vector_keeps_it_only_for_the_same_text(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.patch("/companion_memories")
    route.side_effect = [httpx.Response(200, json=[]), httpx.Response(200, json=[{"id": "x"}])]
    await store.update(MEMORY, None)
    first, second = route.calls
    # First: only a row whose stored text is already this text (the vector still fits).
    # The value goes verbatim: PostgREST reads a plain filter value to the end.
    assert params(first.request)["text"] == f"eq.{TEXT}"
    assert not {"embedding", "embedding_model", "embedding_dim"} & body(first.request).keys()
    # Then: the text changed, so the stale vector goes.
    assert "text" not in params(second.request)
    assert params(second.request)["user_id"] == f"eq.{ADA}"
    sent = body(second.request)
    assert (sent["embedding"], sent["embedding_model"], sent["embedding_dim"]) == (None,) * 3


async def test_update_without_a_vector_and_the_same_text_is_one_request(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.patch("/companion_memories").respond(200, json=[{"id": str(MEMORY_ID)}])
    await store.update(MEMORY, None)
    assert route.call_count == 1


async def test_updating_another_users_memory_is_not_found(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.patch("/companion_memories").respond(200, json=[])
    with pytest.raises(NotFound):
        await store.update(replace(MEMORY, user_id=BOB), None)
    assert {params(c.request)["user_id"] for c in route.calls} == {f"eq.{BOB}"}
    with pytest.raises(NotFound):
        await store.update(replace(MEMORY, user_id=BOB), VECTOR)


async def test_get_reads_one_row_of_this_user(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.get("/companion_memories").respond(200, json=[ROW])
    got = await store.get(ADA, MEMORY_ID)
    assert got == MEMORY
    assert got is not None and dict(got.metadata) == {"source_turn": "D1:3"}
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {
        "select": COLUMNS,
        "id": f"eq.{MEMORY_ID}",
        "user_id": f"eq.{ADA}",
    }


async def test_get_of_a_missing_memory_is_none(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    api.get("/companion_memories").respond(200, json=[])
    assert await store.get(BOB, MEMORY_ID) is None


async def test_find_by_key_filters_by_user_and_key(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.get("/companion_memories").respond(200, json=[ROW])
    assert await store.find_by_key(ADA, "pet.dog.biscuit") == MEMORY
    assert params(route.calls.last.request) == {
        "select": COLUMNS,
        "user_id": f"eq.{ADA}",
        "key": "eq.pet.dog.biscuit",
    }


async def test_list_is_newest_first_with_filters_and_paging(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    older = {**ROW, "id": str(uuid.uuid4()), "updated_at": "2026-03-01T12:30:00+00:00"}
    route = api.get("/companion_memories").respond(200, json=[ROW, older])
    listed = await store.list(ADA, category=MemoryCategory.RELATIONSHIP, limit=2, offset=2)
    assert [m.id for m in listed] == [MEMORY_ID, uuid.UUID(older["id"])]
    assert params(route.calls.last.request) == {
        "select": COLUMNS,
        "user_id": f"eq.{ADA}",
        "category": "eq.relationship",
        "order": "updated_at.desc,id.desc",
        "limit": "2",
        "offset": "2",
    }


async def test_an_unlimited_list_reads_page_by_page_until_a_short_page(
    api: respx.MockRouter, client: SupabaseClient
) -> None:
    rows = [{**ROW, "id": str(uuid.uuid4()), "key": None} for _ in range(5)]

    def answer(request: httpx.Request) -> httpx.Response:
        start, size = int(request.url.params["offset"]), int(request.url.params["limit"])
        return httpx.Response(200, json=rows[start : start + size])

    route = api.get("/companion_memories").mock(side_effect=answer)
    listed = await SupabaseMemoryStore(client, page_size=2).list(ADA)
    assert [str(m.id) for m in listed] == [r["id"] for r in rows]
    assert [(params(c.request)["offset"], params(c.request)["limit"]) for c in route.calls] == [
        ("0", "2"),
        ("2", "2"),
        ("4", "2"),
    ]


async def test_count_is_a_head_request_answered_by_content_range(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.head("/companion_memories").respond(200, headers={"Content-Range": "0-6/7"})
    assert await store.count(ADA) == 7
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {"select": "id", "user_id": f"eq.{ADA}"}
    assert "count=exact" in prefer(call.request)


async def test_delete_says_whether_a_row_went(
    api: respx.MockRouter, store: SupabaseMemoryStore
) -> None:
    route = api.delete("/companion_memories")
    route.side_effect = [
        httpx.Response(200, json=[{"id": str(MEMORY_ID)}]),
        httpx.Response(200, json=[]),
    ]
    assert await store.delete(ADA, MEMORY_ID) is True
    assert await store.delete(ADA, MEMORY_ID) is False
    assert params(route.calls[0].request) == {
        "id": f"eq.{MEMORY_ID}",
        "user_id": f"eq.{ADA}",
        "select": "id",
    }
    assert_service_role(route.calls[0].request)


@pytest.mark.parametrize(
    "bad",
    [
        replace(MEMORY, updated_at=datetime(2026, 3, 1, 12, 0)),  # naive
        replace(MEMORY, text="nul \x00 inside"),
        replace(MEMORY, value="lone \ud800 surrogate"),
        replace(MEMORY, importance=2**40),
        replace(MEMORY, metadata={"k": 1}),  # type: ignore[dict-item]
    ],
    ids=["naive-time", "nul", "surrogate", "importance", "metadata"],
)
async def test_bad_memories_are_rejected_before_anything_is_sent(
    api: respx.MockRouter, store: SupabaseMemoryStore, bad: Memory
) -> None:
    with pytest.raises(InvalidInput):
        await store.add(bad, None)
    with pytest.raises(InvalidInput):
        await store.update(bad, None)
    nan = Embedding("m", np.array([np.nan, 1.0], dtype=np.float32))
    with pytest.raises(InvalidInput, match="NaN"):
        await store.add(MEMORY, nan)
    assert not api.calls


async def test_a_closed_store_or_client_sends_nothing(
    api: respx.MockRouter, client: SupabaseClient
) -> None:
    store = SupabaseMemoryStore(client)
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get(ADA, MEMORY_ID)
    other = SupabaseMemoryStore(client)
    await client.aclose()
    await client.aclose()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        await other.count(ADA)
    assert not api.calls
