"""Checks and conversions between domain values and PostgreSQL parameters.

PostgreSQL text cannot hold NUL (U+0000), in text columns or in jsonb: a value carrying
one is refused here with InvalidInput before anything is sent, so a write either
happens whole or not at all.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import numpy as np

from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import Embedding, Vector
from companion.domain.validation import require_aware

# pgvector's binary format: dimension and an unused word (int16 each), then float4s,
# all big-endian.
_VECTOR_HEADER = struct.Struct(">HH")
_VECTOR_DTYPE = np.dtype(">f4")
MAX_DIMENSIONS = 16000  # pgvector's limit for `vector`


def check_id(value: object, *, what: str = "id") -> UUID:
    """A UUID, or InvalidInput."""
    if not isinstance(value, UUID):
        raise InvalidInput(f"{what} must be a UUID, got {type(value).__name__}")
    return value


def check_text(value: object, *, what: str) -> str:
    """A str PostgreSQL can store, or InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInput(f"{what} contains a NUL character, which PostgreSQL cannot store")
    return value


def check_optional_text(value: object, *, what: str) -> str | None:
    """A storable str or None, or InvalidInput."""
    return None if value is None else check_text(value, what=what)


def check_time(value: object, *, what: str) -> datetime:
    """An aware datetime, or InvalidInput."""
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(value).__name__}")
    require_aware(value, what=what)
    return value


def check_optional_time(value: object, *, what: str) -> datetime | None:
    """An aware datetime or None, or InvalidInput."""
    return None if value is None else check_time(value, what=what)


def check_int(value: object, *, what: str, low: int = -(2**63), high: int = 2**63 - 1) -> int:
    """An int (not a bool) within [low, high], or InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be an integer in [{low}, {high}], got {value!r}")
    return value


def dump_string_map(value: object, *, what: str) -> str:
    """JSON text for a string-to-string mapping (metadata, preferences)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a mapping of text to text")
    for key, item in value.items():
        check_text(key, what=f"{what} keys")
        check_text(item, what=f"{what} values")
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True)


def dump_string_list(value: object, *, what: str) -> str:
    """JSON text for a sequence of strings (interests, topics)."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        # A bare string would silently become a list of its characters.
        raise InvalidInput(f"{what} must be a sequence of text, not {type(value).__name__}")
    items = [check_text(item, what=what) for item in value]
    return json.dumps(items, ensure_ascii=False)


def load_json(value: Any) -> Any:
    """A jsonb column's value (asyncpg hands jsonb over as text)."""
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise StoreError("a stored JSON value is malformed") from exc


def load_string_list(value: Any) -> tuple[str, ...]:
    """The tuple stored by :func:`dump_string_list`."""
    loaded = load_json(value)
    if not isinstance(loaded, list):
        raise StoreError("a stored JSON list is malformed")
    return tuple(str(item) for item in loaded)


def load_string_map(value: Any) -> dict[str, str]:
    """The mapping stored by :func:`dump_string_map`."""
    loaded = load_json(value)
    if not isinstance(loaded, dict):
        raise StoreError("a stored JSON object is malformed")
    return {str(k): str(v) for k, v in loaded.items()}


def check_embedding(embedding: object) -> tuple[Vector, str]:
    """(float32 vector, model name) of an embedding that can be stored and searched."""
    if not isinstance(embedding, Embedding):
        raise InvalidInput(f"embedding must be an Embedding, got {type(embedding).__name__}")
    model = check_text(embedding.model, what="embedding model name")
    if not model:
        raise InvalidInput("embedding model name must be non-empty text")
    vector = np.asarray(embedding.vector)
    if vector.ndim != 1 or not 0 < vector.shape[0] <= MAX_DIMENSIONS:
        raise InvalidInput(
            f"embedding must be a 1-D vector of 1 to {MAX_DIMENSIONS} values, "
            f"got shape {vector.shape}"
        )
    as_stored = vector.astype(np.float32, copy=False)
    if not np.isfinite(as_stored).all():
        # One NaN would make every similarity computed against it meaningless.
        raise InvalidInput("embedding holds NaN or infinite values")
    return as_stored, model


def encode_vector(vector: Vector) -> bytes:
    """pgvector's binary form of a float32 vector."""
    return _VECTOR_HEADER.pack(vector.shape[0], 0) + vector.astype(_VECTOR_DTYPE).tobytes()


def decode_vector(data: bytes) -> Vector:
    """A float32 vector from pgvector's binary form."""
    dims, _ = _VECTOR_HEADER.unpack_from(data)
    return np.frombuffer(data, dtype=_VECTOR_DTYPE, count=dims, offset=4).astype(np.float32)
