"""Memory <-> row mapping for PostgresMemoryStore, with the checks done before any write."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from companion.adapters.postgres._codec import (
    check_id,
    check_int,
    check_optional_text,
    check_optional_time,
    check_text,
    check_time,
    dump_string_map,
    load_json,
    load_string_map,
)
from companion.adapters.postgres.schema_json.rows import history_from_json, history_json
from companion.domain.errors import InvalidInput
from companion.domain.models import Memory, MemoryCategory, MemoryRevision, MemorySource

# Plain dict lookups: calling an Enum class costs several times more, on every row read.
_CATEGORIES = {category.value: category for category in MemoryCategory}
_SOURCES = {source.value: source for source in MemorySource}

# Columns in the order memory_from_row reads them, and memory_params' values follow
# (after id and user_id).
SELECT = (
    "SELECT id, user_id, category, text, key, value, importance, source, created_at,"
    " updated_at, last_accessed_at, access_count, metadata, thread, position, history,"
    " valid_from FROM companion_memories"
)


def memory_params(memory: object) -> tuple[UUID, UUID, tuple[Any, ...]]:
    """(id, user_id, values in the order of SELECT's columns after those two), validated."""
    if not isinstance(memory, Memory):
        raise InvalidInput(f"expected a Memory, got {type(memory).__name__}")
    try:
        category = MemoryCategory(memory.category).value
        source = MemorySource(memory.source).value
    except ValueError as exc:
        raise InvalidInput(f"unknown memory category or source: {exc}") from None
    values = (
        category,
        check_text(memory.text, what="memory text"),
        check_optional_text(memory.key, what="memory key"),
        check_optional_text(memory.value, what="memory value"),
        check_int(memory.importance, what="importance", low=-(2**31), high=2**31 - 1),
        source,
        check_time(memory.created_at, what="created_at"),
        check_time(memory.updated_at, what="updated_at"),
        check_optional_time(memory.last_accessed_at, what="last_accessed_at"),
        check_int(memory.access_count, what="access count", low=0),
        dump_string_map(memory.metadata, what="memory metadata"),
        check_optional_text(memory.thread, what="memory thread"),
        None if memory.position is None else check_int(memory.position, what="position"),
        dump_history(memory.history),
        check_optional_time(memory.valid_from, what="valid_from"),
    )
    return check_id(memory.id, what="memory id"), check_id(memory.user_id, what="user id"), values


def dump_history(history: object) -> str:
    """JSON for a memory's history: the companion schema's form (times in microseconds)."""
    return json.dumps(history_json(history), ensure_ascii=False)


def load_history(value: Any) -> tuple[MemoryRevision, ...]:
    """The history stored by :func:`dump_history`."""
    items = load_json(value)
    return history_from_json(items) if items else ()


def memory_from_row(row: Any, user_id: UUID | None = None) -> Memory:
    """A Memory from a row of SELECT (or companion_match_memories)."""
    return Memory(
        id=row[0],
        user_id=user_id if user_id is not None else row[1],
        category=_CATEGORIES.get(row[2]) or MemoryCategory(row[2]),
        text=row[3],
        key=row[4],
        value=row[5],
        importance=row[6],
        source=_SOURCES.get(row[7]) or MemorySource(row[7]),
        created_at=row[8],
        updated_at=row[9],
        last_accessed_at=row[10],
        access_count=row[11],
        metadata=load_string_map(row[12]),
        thread=row[13],
        position=row[14],
        history=load_history(row[15]),
        valid_from=row[16],
    )


def search_texts(texts: Iterable[object], *, what: str) -> list[str]:
    """Search terms or phrases as PostgreSQL can take them: NUL folded to a space.

    Each is matched as a phrase by ``phraseto_tsquery``, so operators or quotes inside
    have no effect; empty ones (after folding) are dropped.
    """
    cleaned: dict[str, None] = {}
    for text in texts:
        if not isinstance(text, str):
            raise InvalidInput(f"search {what} must be text, got {type(text).__name__}")
        folded = " ".join(text.replace("\x00", " ").split())
        if folded:
            cleaned[folded] = None
    return list(cleaned)
