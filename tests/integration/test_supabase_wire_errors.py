"""The Supabase client at its boundary: PostgREST and network failures become domain errors
that never carry the key; retries; and the row codec's round trip."""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from tests.integration._supabase_wire import (
    ADA,
    KEY,
    MEMORY,
    URL,
    error_body,
    pg_time,
)

from companion.adapters.postgres.schema_json.rows import memory_from_row, memory_row
from companion.adapters.postgres.supabase import SupabaseClient, SupabaseMemoryStore
from companion.domain.errors import (
    AccessDenied,
    CompanionError,
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    SchemaError,
    StoreError,
    StoreUnavailable,
)
from companion.domain.models import Memory, MemoryCategory, MemoryRevision, MemorySource


def answer(status: int, payload: Any) -> httpx.Response:
    if isinstance(payload, str):
        return httpx.Response(status, text=payload, headers={"Content-Type": "text/html"})
    return httpx.Response(status, json=payload)


ERRORS = [
    (409, error_body("23505", "duplicate key value violates unique constraint"), Conflict),
    (409, error_body("23503", "insert or update violates foreign key constraint"), Conflict),
    (400, error_body("22P02", 'invalid input syntax for type uuid: "x"'), InvalidInput),
    (400, error_body("22000", "different vector dimensions 3 and 4"), InvalidInput),
    (
        400,
        error_body("23514", "violates check constraint companion_memories_vector_model"),
        InvalidInput,
    ),
    (400, error_body("23502", 'null value in column "text" violates not-null'), InvalidInput),
    (403, error_body("42501", "permission denied for table companion_memories"), AccessDenied),
    (401, error_body("PGRST301", "JWSError JWSInvalidSignature"), AccessDenied),
    # Supabase's gateway: no code at all, the status says it.
    (401, {"message": "Invalid API key", "hint": "Double check your API key."}, AccessDenied),
    (
        404,
        error_body("PGRST205", "Could not find the table 'public.companion_memories'"),
        SchemaError,
    ),
    (
        404,
        error_body("PGRST202", "Could not find the function companion_match_memories"),
        SchemaError,
    ),
    (400, error_body("PGRST204", "Could not find the 'history' column"), SchemaError),
    (400, error_body("P0002", "no data found"), NotFound),
    (
        503,
        error_body("PGRST002", "Could not query the database for the schema cache"),
        StoreUnavailable,
    ),
    (
        504,
        error_body("PGRST003", "Timed out acquiring connection from connection pool."),
        StoreUnavailable,
    ),
    (500, error_body("57014", "canceling statement due to statement timeout"), StoreUnavailable),
    (502, "<html><body>502 Bad Gateway</body></html>", StoreUnavailable),
    (520, "", StoreUnavailable),
    (429, {"message": "Too many requests"}, StoreUnavailable),
    # Any other 5xx may pass: it is worth retrying later.
    (500, error_body("XX000", "internal error"), StoreUnavailable),
    # A refusal that retrying will not change.
    (400, error_body("P0001", "raised by a function"), StoreError),
    (400, error_body("42P10", "no unique constraint matching the ON CONFLICT"), StoreError),
]


@pytest.mark.parametrize(("status", "payload", "expected"), ERRORS)
async def test_postgrest_errors_become_domain_errors(
    api: respx.MockRouter,
    client: SupabaseClient,
    status: int,
    payload: Any,
    expected: type[CompanionError],
) -> None:
    route = api.post("/companion_memories").mock(return_value=answer(status, payload))
    with pytest.raises(CompanionError) as caught:
        await SupabaseMemoryStore(client).add(MEMORY, None)
    assert type(caught.value) is expected
    assert "adding a memory" in str(caught.value)
    assert KEY not in str(caught.value)
    assert route.call_count == 1


async def test_a_message_echoing_the_key_or_url_password_is_scrubbed(
    api: respx.MockRouter,
) -> None:
    secret_url = "https://admin:hunter2-pass@abcdefghijklmnopqrst.supabase.co"
    leaky = SupabaseClient(secret_url, KEY, retry=False)
    with respx.mock(base_url=f"{URL}/rest/v1") as router:
        router.get("/companion_memories").respond(
            401, json=error_body("PGRST301", f"token {KEY} rejected for admin:hunter2-pass")
        )
        with pytest.raises(AccessDenied) as caught:
            await SupabaseMemoryStore(leaky).get(ADA, MEMORY.id)
    await leaky.aclose()
    message = str(caught.value)
    assert KEY not in message and "hunter2-pass" not in message
    assert "***" in message
    assert caught.value.__cause__ is None  # the SDK's error kept the raw message


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_network_failures_are_unavailable_without_the_request_attached(
    api: respx.MockRouter, client: SupabaseClient, failure: Exception
) -> None:
    api.get("/companion_memories").mock(side_effect=failure)
    with pytest.raises(StoreUnavailable) as caught:
        await SupabaseMemoryStore(client).get(ADA, MEMORY.id)
    assert type(failure).__name__ in str(caught.value)
    assert KEY not in str(caught.value)
    # httpx's exception holds the request, headers and key included: it is not chained.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_a_non_json_success_is_a_store_error(
    api: respx.MockRouter, client: SupabaseClient
) -> None:
    api.get("/companion_memories").respond(200, text="<html>Sign in to continue</html>")
    with pytest.raises(StoreError, match="other than rows"):
        await SupabaseMemoryStore(client).get(ADA, MEMORY.id)


async def test_without_retries_a_503_read_is_one_request(
    api: respx.MockRouter, client: SupabaseClient
) -> None:
    route = api.get("/companion_memories").respond(503, json=error_body("PGRST000", "down"))
    with pytest.raises(StoreUnavailable):
        await SupabaseMemoryStore(client).list(ADA)
    assert route.call_count == 1


async def test_with_retries_reads_heal_and_writes_are_never_repeated(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    async def no_wait(seconds: float) -> None:
        waited.append(seconds)

    # supabase-py sleeps 1, 2, 4 s between attempts; record the waits instead.
    monkeypatch.setattr(
        "postgrest._async.request_builder.asyncio", types.SimpleNamespace(sleep=no_wait)
    )
    retrying = SupabaseClient(URL, KEY)  # the production default: retry=True
    store = SupabaseMemoryStore(retrying)
    down = httpx.Response(503, json=error_body("PGRST000", "down"))
    reads = api.get("/companion_memories")
    reads.side_effect = [down, down, httpx.Response(200, json=[])]
    assert await store.find_by_key(ADA, "location.home") is None
    assert reads.call_count == 3 and waited == [1, 2]
    writes = api.post("/companion_memories").mock(return_value=down)
    with pytest.raises(StoreUnavailable):
        await store.add(MEMORY, None)
    assert writes.call_count == 1
    await retrying.aclose()


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("ftp://abcdefghijklmnopqrst.supabase.co", KEY),
        ("https://[not-a-host", KEY),
        (URL, ""),
        (URL, "   "),
    ],
)
def test_a_bad_url_or_key_is_a_configuration_error_that_hides_the_key(url: str, key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SupabaseClient(url, key)
    assert KEY not in str(caught.value)


# --- the codec: any valid memory survives the trip through a row ------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-9, minutes=-30))]
)
_TIMES = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=_ZONES
)
_INT64 = st.integers(-(2**63), 2**63 - 1)
_REVISIONS = st.builds(
    MemoryRevision,
    text=_TEXT,
    value=st.none() | _TEXT,
    valid_from=_TIMES,
    valid_to=_TIMES,
)
_MEMORIES = st.builds(
    Memory,
    id=st.uuids(),
    user_id=st.uuids(),
    category=st.sampled_from(MemoryCategory),
    text=_TEXT,
    importance=st.integers(1, 10),
    created_at=_TIMES,
    updated_at=_TIMES,
    source=st.sampled_from(MemorySource),
    key=st.none() | _TEXT,
    value=st.none() | _TEXT,
    last_accessed_at=st.none() | _TIMES,
    access_count=st.integers(0, 2**63 - 1),
    metadata=st.dictionaries(_TEXT, _TEXT, max_size=3),
    thread=st.none() | _TEXT,
    position=st.none() | _INT64,
    history=st.lists(_REVISIONS, max_size=3).map(tuple),
    valid_from=st.none() | _TIMES,
)
_TIMESTAMP_COLUMNS = ("created_at", "updated_at", "last_accessed_at", "valid_from")


def as_postgres_returns(row: dict[str, Any]) -> dict[str, Any]:
    """The row after a trip through the table: JSON on the wire, ``timestamptz`` read
    back in UTC in PostgreSQL's own text form."""
    stored = json.loads(json.dumps(row, ensure_ascii=False))
    for column in _TIMESTAMP_COLUMNS:
        if stored[column] is not None:
            stored[column] = pg_time(datetime.fromisoformat(stored[column]))
    return stored


@given(_MEMORIES)
def test_any_valid_memory_round_trips_through_its_row(memory: Memory) -> None:
    back = memory_from_row(as_postgres_returns(memory_row(memory)))
    assert back == memory
    assert dict(back.metadata) == dict(memory.metadata)
    assert back.created_at.tzinfo is UTC
