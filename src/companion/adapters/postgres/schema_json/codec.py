"""Scalars and vectors <-> the JSON values of the companion schema, with boundary checks.

Ids travel as canonical UUID text, times as ISO 8601 with an offset (``timestamptz``),
lists and string maps as JSON (``jsonb``), vectors in pgvector's text form ``[x,y,...]``.
Text is checked for what PostgreSQL cannot hold (NUL) and what JSON cannot carry (lone
surrogates) before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np

from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import Embedding
from companion.domain.validation import require_aware

Row = dict[str, Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

NO_EMBEDDING: Row = {"embedding": None, "embedding_model": None, "embedding_dim": None}


# --- scalars ----------------------------------------------------------------------------


def uuid_text(value: object, *, what: str = "id") -> str:
    """The canonical text of a UUID; anything but a UUID object is rejected."""
    if not isinstance(value, UUID):
        raise InvalidInput(f"{what} must be a UUID, got {type(value).__name__}")
    return str(value)


def text(value: object, *, what: str) -> str:
    """A str PostgreSQL and JSON can carry, or InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInput(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode (a lone surrogate)") from None
    return value


def optional_text(value: object, *, what: str) -> str | None:
    """Like :func:`text`, passing ``None`` through."""
    return None if value is None else text(value, what=what)


def integer(value: object, *, what: str, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    """An int (not a bool) within [low, high], or InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be an integer from {low} to {high}, got {value!r}")
    return value


def timestamp(moment: object, *, what: str) -> str:
    """ISO 8601 with the offset, for a ``timestamptz`` column (naive times are rejected)."""
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(moment).__name__}")
    require_aware(moment, what=what)
    return moment.isoformat()


def optional_timestamp(moment: object, *, what: str) -> str | None:
    """Like :func:`timestamp`, passing ``None`` through."""
    return None if moment is None else timestamp(moment, what=what)


def parse_timestamp(value: object) -> datetime:
    """An aware UTC datetime from PostgREST's ``timestamptz`` text."""
    if not isinstance(value, str):
        raise StoreError(f"a stored time is not text: {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise StoreError("a stored time is malformed") from None
    if moment.tzinfo is None:
        raise StoreError("a stored time has no time zone")
    return moment.astimezone(UTC)


def parse_optional_timestamp(value: object) -> datetime | None:
    """Like :func:`parse_timestamp`, passing ``None`` through."""
    return None if value is None else parse_timestamp(value)


def to_micros(moment: object, *, what: str) -> int:
    """Microseconds since the Unix epoch (exact)."""
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(moment).__name__}")
    require_aware(moment, what=what)
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(value: object) -> datetime:
    """An aware UTC datetime from microseconds since the epoch."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoreError("a stored history time is not an integer")
    return _EPOCH + timedelta(microseconds=value)


def string_list(value: object, *, what: str) -> list[str]:
    """A JSON list of text (interests, topics); a bare string is rejected."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput(f"{what} must be a sequence of text")
    return [text(item, what=what) for item in value]


def string_map(value: object, *, what: str) -> dict[str, str]:
    """A JSON object of text to text (metadata, preferences)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a mapping of text to text")
    return {text(k, what=what): text(v, what=what) for k, v in value.items()}


def load_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise StoreError("a stored JSON list is malformed")
    return tuple(str(item) for item in value)


def load_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise StoreError("a stored JSON object is malformed")
    return {str(k): str(v) for k, v in value.items()}


# --- vectors ----------------------------------------------------------------------------


def vector_text(embedding: object) -> str:
    """pgvector's text form of an embedding, after checking it can be searched.

    Each float32 is written as the shortest decimal of its float64 widening, which
    pgvector's ``strtof`` reads back as exactly the same float32.
    """
    if not isinstance(embedding, Embedding):
        raise InvalidInput(f"embedding must be an Embedding, got {type(embedding).__name__}")
    vector = np.asarray(embedding.vector)
    if vector.ndim != 1 or vector.shape[0] == 0:
        raise InvalidInput(f"embedding must be a non-empty 1-D vector, got shape {vector.shape}")
    as_stored = vector.astype(np.float32, copy=False)
    if not np.isfinite(as_stored).all():
        raise InvalidInput("embedding holds NaN or infinite values")
    return "[" + ",".join(map(repr, as_stored.tolist())) + "]"


def embedding_fields(embedding: object) -> Row:
    """The vector columns of a memory row for an embedding."""
    vector = vector_text(embedding)
    assert isinstance(embedding, Embedding)  # checked by vector_text
    model = text(embedding.model, what="embedding model name")
    if not model:
        raise InvalidInput("embedding model name must be non-empty text")
    return {
        "embedding": vector,
        "embedding_model": model,
        "embedding_dim": int(np.asarray(embedding.vector).shape[0]),
    }


# --- rows -------------------------------------------------------------------------------


def rows_of(data: object) -> list[Row]:
    """PostgREST's answer as a list of JSON objects, or StoreError."""
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise StoreError("Supabase answered with something other than rows")
    return data
