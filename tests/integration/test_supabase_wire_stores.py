"""SupabaseProfileStore, SupabaseConversationStore and SupabaseMemoryStore.keys on the wire
(respx as the project)."""

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
    T0,
    assert_service_role,
    body,
    error_body,
    params,
    prefer,
)

from companion.adapters.postgres.supabase import (
    SupabaseClient,
    SupabaseConversationStore,
    SupabaseMemoryStore,
    SupabaseProfileStore,
)
from companion.domain.errors import Conflict, InvalidInput, StoreError
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    ParkedTurn,
    Role,
    UserProfile,
)

PROFILE = UserProfile(
    user_id=ADA,
    created_at=T0,
    updated_at=T0 + timedelta(days=1),
    name="Ada",
    display_name="Ada L.",
    interests=("hiking", "chess"),
    goals=("learn Spanish",),
    preferences={"favourite.colour": "green"},
    language="en",
    notes="Prefers short answers",
    last_seen_at=T0 + timedelta(days=1, microseconds=500000),
    participants=("Caroline", "José"),
)
PROFILE_ROW = {
    "user_id": str(ADA),
    "name": "Ada",
    "display_name": "Ada L.",
    "interests": ["hiking", "chess"],
    "goals": ["learn Spanish"],
    "preferences": {"favourite.colour": "green"},
    "language": "en",
    "notes": "Prefers short answers",
    "participants": ["Caroline", "José"],
    "created_at": "2026-03-01T12:00:00+00:00",
    "updated_at": "2026-03-02T12:00:00+00:00",
    "last_seen_at": "2026-03-02T12:00:00.5+00:00",  # PostgreSQL drops trailing zeros
}
SESSION = uuid.UUID("5e55105e-0000-4000-8000-000000000001")
TURN_COLUMNS = "id,user_id,session_id,role,text,created_at"
SUMMARY_COLUMNS = (
    "id,user_id,session_id,summary,topics,open_threads,started_at,ended_at,turn_count,next_greeting"
)


def turn(minute: int, role: Role = Role.USER, user: uuid.UUID = ADA) -> ConversationTurn:
    return ConversationTurn(
        id=uuid.uuid4(),
        user_id=user,
        session_id=SESSION,
        role=role,
        text=f"turn {minute}",
        created_at=T0 + timedelta(minutes=minute),
    )


def turn_row(t: ConversationTurn) -> dict[str, object]:
    minute = int((t.created_at - T0) / timedelta(minutes=1))
    return {
        "id": str(t.id),
        "user_id": str(t.user_id),
        "session_id": str(t.session_id),
        "role": t.role.value,
        "text": t.text,
        "created_at": f"2026-03-01T12:{minute:02d}:00+00:00",
    }


SUMMARY = ConversationSummary(
    id=uuid.UUID("50aa0000-0000-4000-8000-000000000001"),
    user_id=ADA,
    session_id=SESSION,
    summary="Talked about Biscuit",
    started_at=T0,
    ended_at=T0 + timedelta(hours=1),
    turn_count=4,
    topics=("your dog Biscuit",),
    open_threads=("the exam on Friday",),
    next_greeting="Last time you told me about Biscuit.",
)
SUMMARY_ROW = {
    "id": str(SUMMARY.id),
    "user_id": str(ADA),
    "session_id": str(SESSION),
    "summary": "Talked about Biscuit",
    "topics": ["your dog Biscuit"],
    "open_threads": ["the exam on Friday"],
    "started_at": "2026-03-01T12:00:00+00:00",
    "ended_at": "2026-03-01T13:00:00+00:00",
    "turn_count": 4,
    "next_greeting": "Last time you told me about Biscuit.",
}
DUPLICATE = error_body("23505", "duplicate key value violates unique constraint")


@pytest.fixture
def profiles(client: SupabaseClient) -> SupabaseProfileStore:
    return SupabaseProfileStore(client)


@pytest.fixture
def conversations(client: SupabaseClient) -> SupabaseConversationStore:
    return SupabaseConversationStore(client)


# --- profiles ---------------------------------------------------------------------------


async def test_profile_get_decodes_the_row(
    api: respx.MockRouter, profiles: SupabaseProfileStore
) -> None:
    route = api.get("/companion_profiles").respond(200, json=[PROFILE_ROW])
    got = await profiles.get(ADA)
    assert got == PROFILE
    assert got is not None and dict(got.preferences) == {"favourite.colour": "green"}
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {
        "select": "user_id,name,display_name,interests,goals,preferences,language,notes,"
        "participants,created_at,updated_at,last_seen_at",
        "user_id": f"eq.{ADA}",
    }


async def test_a_missing_profile_is_none(
    api: respx.MockRouter, profiles: SupabaseProfileStore
) -> None:
    api.get("/companion_profiles").respond(200, json=[])
    assert await profiles.get(BOB) is None


async def test_profile_save_is_one_upsert_on_user_id(
    api: respx.MockRouter, profiles: SupabaseProfileStore
) -> None:
    route = api.post("/companion_profiles").respond(201)
    await profiles.save(PROFILE)
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {"on_conflict": "user_id"}
    assert prefer(call.request) == {"return=minimal", "resolution=merge-duplicates"}
    assert body(call.request) == {**PROFILE_ROW, "last_seen_at": "2026-03-02T12:00:00.500000+00:00"}


async def test_profile_delete_says_whether_it_existed(
    api: respx.MockRouter, profiles: SupabaseProfileStore
) -> None:
    route = api.delete("/companion_profiles")
    route.side_effect = [
        httpx.Response(200, json=[{"user_id": str(ADA)}]),
        httpx.Response(200, json=[]),
    ]
    assert await profiles.delete(ADA) is True
    assert await profiles.delete(ADA) is False
    assert params(route.calls[0].request) == {"user_id": f"eq.{ADA}", "select": "user_id"}


async def test_a_bare_string_list_is_rejected_before_sending(
    api: respx.MockRouter, profiles: SupabaseProfileStore
) -> None:
    with pytest.raises(InvalidInput, match="participants"):
        await profiles.save(replace(PROFILE, participants="Melanie"))  # type: ignore[arg-type]
    assert not api.calls


# --- turns ------------------------------------------------------------------------------


async def test_append_turn_inserts_one_row_and_a_reused_id_is_a_conflict(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    said = turn(3)
    route = api.post("/companion_turns")
    route.side_effect = [httpx.Response(201), httpx.Response(409, json=DUPLICATE)]
    await conversations.append_turn(said)
    (call,) = route.calls
    assert_service_role(call.request)
    assert prefer(call.request) == {"return=minimal"}
    # seq (identity) and processed_at (NULL: pending) are the database's.
    assert body(call.request) == turn_row(said)
    with pytest.raises(Conflict):
        await conversations.append_turn(said)


async def test_turns_of_a_session_are_oldest_first(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    said = [turn(0), turn(1, Role.ASSISTANT)]
    route = api.get("/companion_turns").respond(200, json=[turn_row(t) for t in said])
    assert await conversations.turns(ADA, SESSION) == said
    assert params(route.calls.last.request) == {
        "select": TURN_COLUMNS,
        "user_id": f"eq.{ADA}",
        "session_id": f"eq.{SESSION}",
        "order": "seq.asc",
        "limit": "1000",
        "offset": "0",
    }


async def test_recent_turns_take_the_last_and_return_them_oldest_first(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    said = [turn(4), turn(5, Role.ASSISTANT)]
    route = api.get("/companion_turns").respond(200, json=[turn_row(t) for t in reversed(said)])
    assert await conversations.recent_turns(ADA, 2) == said
    assert params(route.calls.last.request) == {
        "select": TURN_COLUMNS,
        "user_id": f"eq.{ADA}",
        "order": "seq.desc",
        "limit": "2",
        "offset": "0",
    }
    assert await conversations.recent_turns(ADA, 0) == []
    assert route.call_count == 1


async def test_the_journal_reads_pending_user_turns_of_every_user(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    pending = [turn(0), turn(2, user=BOB)]
    route = api.get("/companion_turns").respond(200, json=[turn_row(t) for t in pending])
    assert await conversations.pending_turns(10) == pending
    assert params(route.calls.last.request) == {
        "select": TURN_COLUMNS,
        "processed_at": "is.null",
        "parked_at": "is.null",  # a parked turn waits for unpark_turns
        "role": "eq.user",
        "order": "seq.asc",
        "limit": "10",
        "offset": "0",
    }


async def test_the_journal_of_one_user_filters_by_user(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    pending = [turn(1, user=BOB)]
    route = api.get("/companion_turns").respond(200, json=[turn_row(t) for t in pending])
    assert await conversations.pending_turns(5, user_id=BOB) == pending
    assert params(route.calls.last.request) == {
        "select": TURN_COLUMNS,
        "processed_at": "is.null",
        "parked_at": "is.null",
        "role": "eq.user",
        "user_id": f"eq.{BOB}",
        "order": "seq.asc",
        "limit": "5",
        "offset": "0",
    }
    assert await conversations.pending_turns(0, user_id=BOB) == []
    assert route.call_count == 1
    with pytest.raises(InvalidInput):
        await conversations.pending_turns(5, user_id=str(BOB))  # type: ignore[arg-type]


async def test_mark_processed_patches_only_a_pending_turn_of_this_user(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    said = turn(0)
    route = api.patch("/companion_turns").respond(204)
    await conversations.mark_processed(ADA, said.id, T0 + timedelta(seconds=1))
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {
        "id": f"eq.{said.id}",
        "user_id": f"eq.{ADA}",
        "processed_at": "is.null",  # idempotent: the first time stays
    }
    assert prefer(call.request) == {"return=minimal"}
    assert body(call.request) == {"processed_at": "2026-03-01T12:00:01+00:00"}


# --- parked turns -----------------------------------------------------------------------


async def test_park_turn_patches_only_an_unparked_pending_user_turn_of_this_user(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    said = turn(0)
    route = api.patch("/companion_turns").respond(204)
    when = T0 + timedelta(seconds=2, microseconds=250000)
    await conversations.park_turn(ADA, said.id, "  embedding model\n mismatch ", when)
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {
        "id": f"eq.{said.id}",
        "user_id": f"eq.{ADA}",
        "processed_at": "is.null",  # a processed turn is never parked
        "parked_at": "is.null",  # parking again keeps the first reason
        "role": "eq.user",
    }
    assert prefer(call.request) == {"return=minimal"}
    assert body(call.request) == {
        "parked_at": "2026-03-01T12:00:02.250000+00:00",
        "park_reason": "embedding model mismatch",  # normalised to one line
    }


@pytest.mark.parametrize("reason", ["", "  \n\t "])
async def test_park_turn_without_a_reason_sends_nothing(
    api: respx.MockRouter, conversations: SupabaseConversationStore, reason: str
) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        await conversations.park_turn(ADA, uuid.uuid4(), reason, T0)
    assert not api.calls


async def test_park_turn_checks_ids_and_time_before_sending(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    with pytest.raises(InvalidInput, match="turn id"):
        await conversations.park_turn(ADA, "t1", "bad data", T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="timezone"):
        await conversations.park_turn(ADA, uuid.uuid4(), "bad data", T0.replace(tzinfo=None))
    with pytest.raises(InvalidInput, match="NUL"):
        await conversations.park_turn(ADA, uuid.uuid4(), "bad\x00data", T0)
    assert not api.calls


async def test_parked_turns_decode_the_turn_its_reason_and_time(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    first, second = turn(0), turn(3, user=BOB)
    rows = [
        {**turn_row(first), "parked_at": "2026-03-01T12:10:00.5+00:00", "park_reason": "bad data"},
        {**turn_row(second), "parked_at": "2026-03-01T14:00:00+02:00", "park_reason": "a bug"},
    ]
    route = api.get("/companion_turns").respond(200, json=rows)
    got = await conversations.parked_turns(None, 20)
    assert got == [
        ParkedTurn(first, "bad data", T0 + timedelta(minutes=10, microseconds=500000)),
        ParkedTurn(second, "a bug", T0),
    ]
    assert got[1].parked_at.utcoffset() == timedelta(0)  # read back in UTC
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {
        "select": f"{TURN_COLUMNS},parked_at,park_reason",
        "parked_at": "not.is.null",
        "processed_at": "is.null",  # processed after parking: done, not parked
        "order": "seq.asc",
        "limit": "20",
        "offset": "0",
    }


async def test_parked_turns_of_one_user_filter_by_user(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    route = api.get("/companion_turns").respond(200, json=[])
    assert await conversations.parked_turns(ADA, 3) == []
    assert params(route.calls.last.request) == {
        "select": f"{TURN_COLUMNS},parked_at,park_reason",
        "parked_at": "not.is.null",
        "processed_at": "is.null",
        "user_id": f"eq.{ADA}",
        "order": "seq.asc",
        "limit": "3",
        "offset": "0",
    }
    assert await conversations.parked_turns(ADA, 0) == []
    assert route.call_count == 1


async def test_a_parked_row_without_its_reason_is_a_store_error(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    row = {**turn_row(turn(0)), "parked_at": "2026-03-01T12:10:00+00:00"}
    api.get("/companion_turns").respond(200, json=[row])
    with pytest.raises(StoreError, match="parked turn"):
        await conversations.parked_turns(None, 5)
    api.get("/companion_turns").respond(200, json=[{**row, "park_reason": None}])
    with pytest.raises(StoreError, match="reason"):
        await conversations.parked_turns(None, 5)


async def test_unpark_turns_clears_parked_pending_turns_and_counts_them(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    route = api.patch("/companion_turns")
    route.side_effect = [
        httpx.Response(200, json=[{"id": str(uuid.uuid4())}, {"id": str(uuid.uuid4())}]),
        httpx.Response(200, json=[]),
    ]
    assert await conversations.unpark_turns(None) == 2
    assert await conversations.unpark_turns(BOB) == 0
    every, bobs = route.calls
    for call in (every, bobs):
        assert_service_role(call.request)
        assert prefer(call.request) == {"return=representation"}
        assert body(call.request) == {"parked_at": None, "park_reason": None}
    # Every user's: the parked_at filter is what PostgREST needs to allow the UPDATE.
    assert params(every.request) == {
        "parked_at": "not.is.null",
        "processed_at": "is.null",
        "select": "id",
    }
    assert params(bobs.request) == {
        "parked_at": "not.is.null",
        "processed_at": "is.null",
        "user_id": f"eq.{BOB}",
        "select": "id",
    }


# --- summaries --------------------------------------------------------------------------


async def test_a_first_summary_is_one_insert(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    route = api.post("/companion_summaries").respond(201)
    await conversations.save_summary(SUMMARY)
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {}
    assert body(call.request) == SUMMARY_ROW


async def test_saving_a_sessions_summary_again_replaces_it_for_the_same_user(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    insert = api.post("/companion_summaries").respond(409, json=DUPLICATE)
    patch = api.patch("/companion_summaries").respond(200, json=[{"id": str(SUMMARY.id)}])
    await conversations.save_summary(SUMMARY)
    assert insert.call_count == 1
    (call,) = patch.calls
    assert params(call.request) == {
        "session_id": f"eq.{SESSION}",
        "user_id": f"eq.{ADA}",
        "select": "id",
    }
    assert body(call.request) == SUMMARY_ROW


async def test_another_users_session_cannot_change_hands(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    api.post("/companion_summaries").respond(409, json=DUPLICATE)
    api.patch("/companion_summaries").respond(200, json=[])  # no row of Bob's in this session
    with pytest.raises(Conflict, match="another user"):
        await conversations.save_summary(replace(SUMMARY, user_id=BOB))


async def test_summaries_are_newest_first(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    route = api.get("/companion_summaries").respond(200, json=[SUMMARY_ROW])
    assert await conversations.latest_summary(ADA) == SUMMARY
    assert params(route.calls.last.request) == {
        "select": SUMMARY_COLUMNS,
        "user_id": f"eq.{ADA}",
        "order": "ended_at.desc,session_id.desc",
        "limit": "1",
        "offset": "0",
    }
    route.respond(200, json=[])
    assert await conversations.latest_summary(BOB) is None
    with pytest.raises(InvalidInput):
        await conversations.summaries(ADA, "3")  # type: ignore[arg-type]


# --- memory keys ------------------------------------------------------------------------


async def test_memory_keys_read_key_and_id_only_page_by_page(
    api: respx.MockRouter, client: SupabaseClient
) -> None:
    rows = [{"key": f"slot.{i}", "id": str(uuid.uuid4())} for i in range(3)]

    def answer(request: httpx.Request) -> httpx.Response:
        start, size = int(request.url.params["offset"]), int(request.url.params["limit"])
        return httpx.Response(200, json=rows[start : start + size])

    route = api.get("/companion_memories").mock(side_effect=answer)
    keys = await SupabaseMemoryStore(client, page_size=2).keys(ADA)
    assert keys == {row["key"]: uuid.UUID(row["id"]) for row in rows}
    assert route.call_count == 2  # a full page of two, then a short one
    for call, offset in zip(route.calls, ("0", "2"), strict=True):
        assert_service_role(call.request)
        assert params(call.request) == {
            "select": "key,id",
            "user_id": f"eq.{ADA}",
            "key": "not.is.null",
            "order": "id.asc",
            "limit": "2",
            "offset": offset,
        }


async def test_memory_keys_of_a_user_without_any_are_empty(
    api: respx.MockRouter, client: SupabaseClient
) -> None:
    route = api.get("/companion_memories").respond(200, json=[])
    assert await SupabaseMemoryStore(client).keys(BOB) == {}
    assert params(route.calls.last.request)["limit"] == "1000"
    api.get("/companion_memories").respond(200, json=[{"key": "name", "id": "not-a-uuid"}])
    with pytest.raises(StoreError):
        await SupabaseMemoryStore(client).keys(BOB)
    with pytest.raises(InvalidInput):
        await SupabaseMemoryStore(client).keys(str(ADA))  # type: ignore[arg-type]


# --- claims on a user's memory work -------------------------------------------------------


async def test_a_claim_is_one_rpc_call_and_reads_the_users_pending_turns(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    said = [turn(0), turn(2)]
    route = api.post("/rpc/companion_claim_memory_work").mock(
        side_effect=[
            httpx.Response(200, json=[turn_row(t) for t in said]),
            httpx.Response(200, content=b"null"),  # another owner's lease runs
        ]
    )
    assert await conversations.claim_user(ADA, "host:1a2b:4242", 120, 50) == said
    assert await conversations.claim_user(ADA, "host:9f9f:77", 120) is None
    first, second = route.calls
    assert_service_role(first.request)
    assert body(first.request) == {
        "p_user_id": str(ADA),
        "p_owner": "host:1a2b:4242",
        "p_lease_seconds": 120.0,
        "p_limit": 50,
        "p_take_over": None,
    }
    assert body(second.request)["p_limit"] == 1000


async def test_a_malformed_claim_answer_is_a_store_error(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    api.post("/rpc/companion_claim_memory_work").respond(200, json={"claimed": True})
    with pytest.raises(StoreError, match="claim"):
        await conversations.claim_user(ADA, "w", 60)


async def test_the_claims_holder_is_read_and_an_expired_lease_holds_nothing(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    route = api.get("/companion_memory_claims").mock(
        side_effect=[
            httpx.Response(200, json=[{"owner": "w1", "lease_until": "2999-01-01T00:00:00+00:00"}]),
            httpx.Response(200, json=[{"owner": "w1", "lease_until": "2000-01-01T00:00:00+00:00"}]),
            httpx.Response(200, json=[]),
        ]
    )
    assert await conversations.claim_holder(ADA) == "w1"
    assert await conversations.claim_holder(ADA) is None  # ran out
    assert await conversations.claim_holder(ADA) is None
    assert params(route.calls[0].request) == {"select": "owner,lease_until", "user_id": f"eq.{ADA}"}


async def test_a_release_deletes_only_this_owners_claim_of_this_user(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    route = api.delete("/companion_memory_claims").respond(204)
    await conversations.release_user(ADA, "host:1a2b:4242")
    (call,) = route.calls
    assert_service_role(call.request)
    assert params(call.request) == {"user_id": f"eq.{ADA}", "owner": "eq.host:1a2b:4242"}
    assert prefer(call.request) == {"return=minimal"}


async def test_a_bad_claim_sends_nothing(
    api: respx.MockRouter, conversations: SupabaseConversationStore
) -> None:
    with pytest.raises(InvalidInput, match="owner"):
        await conversations.claim_user(ADA, "two\nlines", 60)
    with pytest.raises(InvalidInput, match="lease seconds"):
        await conversations.claim_user(ADA, "w", 0)
    with pytest.raises(InvalidInput, match="user id"):
        await conversations.claim_user("ada", "w", 60)  # type: ignore[arg-type]
    assert not api.calls


# --- erasing a user ---------------------------------------------------------------------


async def test_erasing_a_user_is_one_rpc_call_per_store(
    api: respx.MockRouter, client: SupabaseClient, conversations: SupabaseConversationStore
) -> None:
    memories = api.post("/rpc/companion_erase_memories").respond(200, json=12)
    journal = api.post("/rpc/companion_erase_conversations").respond(200, json=30)
    assert await SupabaseMemoryStore(client).erase_user(ADA) == 12
    assert await conversations.erase_user(ADA) == 30
    for route in (memories, journal):
        assert route.call_count == 1
        assert body(route.calls.last.request) == {"p_user_id": str(ADA)}
        assert_service_role(route.calls.last.request)


async def test_an_erasure_answered_without_a_count_is_a_store_error(
    api: respx.MockRouter, client: SupabaseClient
) -> None:
    # A count is what says the erasure ran; anything else must not pass for success.
    for answer in ([{"n": 3}], None, -1, True):
        api.post("/rpc/companion_erase_memories").respond(200, json=answer)
        with pytest.raises(StoreError, match="erasing a user's memories"):
            await SupabaseMemoryStore(client).erase_user(ADA)
