"""The container on Supabase, at the wire: a turn is one RPC call, as on PostgreSQL.

PostgREST is answered by respx as a new project would answer (no rows yet); any request
the routes below do not expect fails the test.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import respx
from tests.integration._supabase_wire import KEY, URL, body

from companion.main.container import aclose_clients, build_container
from companion.main.settings import load_settings

ADA = uuid.UUID("00000000-0000-4000-8000-0000000000a9")
SAID = [
    "My name is Ada.",
    "I have a dog called Biscuit.",
    "How are you today?",
    "I live in Lahore.",
    "What is my dog called?",
]


async def test_a_session_on_supabase_is_one_rpc_call_a_turn(
    tmp_path: Path, api: respx.MockRouter
) -> None:
    reads = {
        table: api.get(f"/{table}").respond(200, json=[])
        for table in (
            "companion_profiles",
            "companion_summaries",
            "companion_turns",
            "companion_memories",
        )
    }
    turn_calls = api.post("/rpc/companion_apply_and_match").respond(200, json=[])
    batch_calls = api.post("/rpc/companion_apply_writes").respond(204)
    claims = api.post("/rpc/companion_claim_memory_work").respond(200, json=[])
    settings = load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing"},
        supabase={"url": URL, "service_role_key": KEY},
    )
    container = build_container(settings)
    try:
        chat = container.services.chat()
        session = await chat.start(ADA)
        for text in SAID:
            await chat.turn(session, text)
        await chat.end(session)
    finally:
        await container.services.memory_worker().close(within=10)
        await aclose_clients(container)
        container.shutdown_resources()

    # One call per turn, one at the end; the first session also reads, once, what the
    # process keeps or the cache holds afterwards, and, since no clean end of the user's
    # last session is known here, the user's pending turns (what a crash left undone is
    # worked before the greeting). The background worker claims the user's memory work
    # once, before the first turn's; the end's call gives the claim up.
    assert turn_calls.call_count == len(SAID)
    assert batch_calls.call_count == 1
    assert claims.call_count == 1
    assert sum(route.call_count for route in reads.values()) <= 5
    batches = [body(call.request)["p_batch"] for call in turn_calls.calls]
    # Each turn's call journals it before the reply...
    for text, batch in zip(SAID, batches, strict=True):
        assert text in [t["text"] for t in batch["turns"] if t["role"] == "user"]
    # ...and a later call (a turn's, or the end's) carries its memory work, marked
    # processed with it: the reply never waited for that work, and it cost no call.
    end = body(batch_calls.calls[0].request)["p_batch"]
    said_dog = next(t for t in batches[1]["turns"] if t["text"] == SAID[1])
    carried = [
        later
        for later in [*batches[2:], end]
        if any(m["key"] == "pet.dog.biscuit" for m in later.get("memory_inserts", []))
    ]
    assert len(carried) == 1
    (dog,) = [m for m in carried[0]["memory_inserts"] if m["key"] == "pet.dog.biscuit"]
    assert dog["embedding_model"] and dog["thread"]
    assert said_dog["id"] in [p["id"] for p in carried[0]["processed"]]
    owner = body(claims.calls[0].request)["p_owner"]
    assert end["claim_releases"] == [{"user_id": str(ADA), "owner": owner}]
    assert [s["session_id"] for s in end["summaries"]] == [str(session.session_id)]
    assert end["turns"] and all(t["role"] == "assistant" for t in end["turns"])


async def test_supabase_unreachable_mid_session_the_turn_is_answered_kept_and_sent_later(
    tmp_path: Path, api: respx.MockRouter
) -> None:
    import httpx

    for table in (
        "companion_profiles",
        "companion_summaries",
        "companion_turns",
        "companion_memories",
    ):
        api.get(f"/{table}").respond(200, json=[])
    searches = api.post("/rpc/companion_apply_and_match").respond(200, json=[])
    api.post("/rpc/companion_apply_writes").respond(204)
    api.post("/rpc/companion_claim_memory_work").respond(200, json=[])
    inserts = api.post("/companion_turns").respond(201)
    settings = load_settings(
        companion={"data_dir": tmp_path, "embedder": "hashing"},
        supabase={"url": URL, "service_role_key": KEY},
    )
    container = build_container(settings)
    try:
        chat = container.services.chat()
        session = await chat.start(ADA)
        assert await chat.turn(session, "My name is Ada.")
        searches.side_effect = httpx.ConnectError("connection refused")  # Supabase is gone
        assert (await chat.turn(session, "I live in Lahore.")).strip()  # answered all the same
        keeper = container.services.keeper()
        assert keeper is not None and await keeper.waiting() == 1
        assert not inserts.called
        searches.side_effect = None  # back: the kept turn goes straight to the table
        assert await keeper.send() == 1
        (insert,) = inserts.calls
        assert body(insert.request)["text"] == "I live in Lahore."
        assert await keeper.waiting() == 0
    finally:
        await container.services.memory_worker().close(within=5)
        await aclose_clients(container)
        container.shutdown_resources()
