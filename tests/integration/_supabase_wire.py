"""What the Supabase wire tests share: a fake project's address and key, and readers of
the requests respx recorded."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from companion.domain.models import (
    Embedding,
    Memory,
    MemoryCategory,
    MemoryRevision,
    MemorySource,
)

URL = "https://abcdefghijklmnopqrst.supabase.co"
REST = f"{URL}/rest/v1"
# Shaped like a real service-role JWT, so a leak would look like one.
KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2VydmljZS1yb2xlLXNpZw"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")
BOB = uuid.UUID("00000000-0000-4000-8000-00000000000b")

MEMORY_ID = uuid.UUID("6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5")
COLUMNS = (
    "id,user_id,category,text,key,value,importance,source,created_at,updated_at,"
    "last_accessed_at,access_count,metadata,thread,position,history,valid_from"
)
TEXT = "Has a dog called Biscuit (a beagle, 3 years old)"
MEMORY = Memory(
    id=MEMORY_ID,
    user_id=ADA,
    category=MemoryCategory.RELATIONSHIP,
    text=TEXT,
    importance=7,
    created_at=T0,
    updated_at=T0 + timedelta(hours=1, microseconds=123456),
    source=MemorySource.CONVERSATION,
    key="pet.dog.biscuit",
    value="Biscuit",
    access_count=2,
    metadata={"source_turn": "D1:3"},
    thread="s1",
    position=4,
    history=(MemoryRevision("Has a dog called Rex", "Rex", T0 - timedelta(days=10), T0),),
    valid_from=T0,
)
# The row as the table holds it and PostgREST sends it (history times: microseconds).
ROW = {
    "id": str(MEMORY_ID),
    "user_id": str(ADA),
    "category": "relationship",
    "text": TEXT,
    "key": "pet.dog.biscuit",
    "value": "Biscuit",
    "importance": 7,
    "source": "conversation",
    "created_at": "2026-03-01T12:00:00+00:00",
    "updated_at": "2026-03-01T13:00:00.123456+00:00",
    "last_accessed_at": None,
    "access_count": 2,
    "metadata": {"source_turn": "D1:3"},
    "thread": "s1",
    "position": 4,
    "history": [
        {
            "text": "Has a dog called Rex",
            "value": "Rex",
            "valid_from": 1771502400000000,
            "valid_to": 1772366400000000,
        }
    ],
    "valid_from": "2026-03-01T12:00:00+00:00",
}
VECTOR = Embedding("hashing-4", np.array([0.5, -0.25, 0.125, 1.0], dtype=np.float32))


def assert_service_role(request: httpx.Request) -> None:
    """The request carries the key the way Supabase's gateway and PostgREST read it."""
    assert request.headers["apikey"] == KEY
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["accept-profile"] == "public"


def params(request: httpx.Request) -> dict[str, str]:
    """The query string as a dict (each key once: the stores never repeat a filter)."""
    items = request.url.params.multi_items()
    assert len({k for k, _ in items}) == len(items), f"a repeated parameter in {items}"
    return dict(items)


def body(request: httpx.Request) -> Any:
    """The JSON body."""
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def prefer(request: httpx.Request) -> set[str]:
    """The Prefer header's preferences."""
    return {p.strip() for p in request.headers.get("prefer", "").split(",") if p.strip()}


def pg_time(moment: datetime) -> str:
    """A timestamptz as PostgreSQL writes it in JSON (UTC session): trailing zeros of the
    fraction dropped, ``+00:00`` offset."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "+00:00"


def error_body(code: str | None, message: str, details: str | None = None) -> dict[str, Any]:
    """A PostgREST error answer."""
    return {"code": code, "message": message, "details": details, "hint": None}
