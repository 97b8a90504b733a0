"""Conversions between domain values and SQLite column values, with boundary checks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from uuid import UUID

import numpy as np

from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import Embedding, Vector
from companion.domain.validation import require_aware

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Stored vectors are float32 little-endian whatever the machine, so a file moves freely.
VECTOR_DTYPE = np.dtype("<f4")


def to_micros(moment: datetime, *, what: str = "time") -> int:
    """Microseconds since the Unix epoch (exact; rejects naive datetimes)."""
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(moment).__name__}")
    require_aware(moment, what=what)
    # Integer timedelta division is exact, unlike going through float timestamps.
    return (moment - _EPOCH) // _MICROSECOND


def to_micros_or_none(moment: datetime | None, *, what: str = "time") -> int | None:
    """Like :func:`to_micros`, passing ``None`` through."""
    return None if moment is None else to_micros(moment, what=what)


def from_micros(value: int) -> datetime:
    """An aware UTC datetime from microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=value)


def from_micros_or_none(value: int | None) -> datetime | None:
    """Like :func:`from_micros`, passing ``None`` through."""
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def id_text(value: object, *, what: str = "id") -> str:
    """The canonical text of a UUID; anything but a UUID object is rejected."""
    if not isinstance(value, UUID):
        raise InvalidInput(f"{what} must be a UUID, got {type(value).__name__}")
    return str(value)


def check_text(value: object, *, what: str) -> str:
    """A str, or InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, got {type(value).__name__}")
    return value


def check_optional_text(value: object, *, what: str) -> str | None:
    """A str or None, or InvalidInput."""
    return None if value is None else check_text(value, what=what)


def dump_string_map(value: Mapping[str, str], *, what: str) -> str:
    """JSON for a string-to-string mapping (metadata, preferences)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a mapping of text to text")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise InvalidInput(f"{what} keys and values must be text")
    if not value:
        return "{}"
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True)


def load_string_map(text: str) -> dict[str, str]:
    """The mapping stored by :func:`dump_string_map`."""
    if text == "{}":
        return {}
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise StoreError("a stored JSON object is malformed")
    return {str(k): str(v) for k, v in loaded.items()}


def dump_string_list(value: Iterable[str], *, what: str) -> str:
    """JSON for a sequence of strings (interests, topics)."""
    if isinstance(value, str):
        # A bare string would silently become a list of its characters.
        raise InvalidInput(f"{what} must be a sequence of text, not one text")
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput(f"{what} must hold text only")
    return json.dumps(items, ensure_ascii=False)


def load_string_list(text: str) -> tuple[str, ...]:
    """The tuple stored by :func:`dump_string_list`."""
    if text == "[]":
        return ()
    loaded = json.loads(text)
    if not isinstance(loaded, list):
        raise StoreError("a stored JSON list is malformed")
    return tuple(str(item) for item in loaded)


def encode_embedding(embedding: Embedding) -> tuple[bytes, str, int]:
    """(blob, model, dimensions) for an embedding, after checking it can be searched."""
    if not isinstance(embedding, Embedding):
        raise InvalidInput(f"embedding must be an Embedding, got {type(embedding).__name__}")
    if not isinstance(embedding.model, str) or not embedding.model:
        raise InvalidInput("embedding model name must be non-empty text")
    vector = np.asarray(embedding.vector)
    if vector.ndim != 1 or vector.shape[0] == 0:
        raise InvalidInput(f"embedding must be a non-empty 1-D vector, got shape {vector.shape}")
    as_stored = vector.astype(VECTOR_DTYPE, copy=False)
    if not np.isfinite(as_stored).all():
        # One NaN would make every similarity computed against it meaningless.
        raise InvalidInput("embedding holds NaN or infinite values")
    return as_stored.tobytes(), embedding.model, int(as_stored.shape[0])


def query_vector(embedding: Embedding) -> Vector:
    """A query embedding as native float32, checked like a stored one."""
    blob, _, dims = encode_embedding(embedding)
    return np.frombuffer(blob, dtype=VECTOR_DTYPE).astype(np.float32).reshape(dims)
