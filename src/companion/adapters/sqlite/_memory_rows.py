"""Memory <-> row mapping, and the FTS5 query built from search terms and phrases."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from companion.adapters.sqlite._codec import (
    check_optional_text,
    check_text,
    dump_string_map,
    from_micros,
    from_micros_or_none,
    id_text,
    load_string_map,
    to_micros,
    to_micros_or_none,
)
from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import Memory, MemoryCategory, MemoryRevision, MemorySource

# Plain dict lookups: calling an Enum class costs several times more, on every row read.
_CATEGORIES = {category.value: category for category in MemoryCategory}
_SOURCES = {source.value: source for source in MemorySource}
# SQLite INTEGER is a signed 64-bit value; anything wider could not be stored exactly.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def memory_params(memory: Memory) -> tuple[str, str, tuple[Any, ...]]:
    """(id, user_id, values) for a memory, validated at the boundary.

    The values are in the order of the memories table: category, text, key, value,
    importance, source, created_at, updated_at, last_accessed_at, access_count, metadata,
    thread, position, history, valid_from.
    """
    if not isinstance(memory, Memory):
        raise InvalidInput(f"expected a Memory, got {type(memory).__name__}")
    memory_id = id_text(memory.id, what="memory id")
    user_id = id_text(memory.user_id, what="user id")
    try:
        category = MemoryCategory(memory.category).value
        source = MemorySource(memory.source).value
    except ValueError as exc:
        raise InvalidInput(f"unknown memory category or source: {exc}") from None
    importance = memory.importance
    if isinstance(importance, bool) or not isinstance(importance, int):
        raise InvalidInput(f"importance must be an integer, got {importance!r}")
    access_count = memory.access_count
    if isinstance(access_count, bool) or not isinstance(access_count, int) or access_count < 0:
        raise InvalidInput(f"access count must be a non-negative integer, got {access_count!r}")
    position = memory.position
    if position is not None and (
        isinstance(position, bool)
        or not isinstance(position, int)
        or not INT64_MIN <= position <= INT64_MAX
    ):
        raise InvalidInput(f"position must be a 64-bit integer or None, got {position!r}")
    values = (
        category,
        check_text(memory.text, what="memory text"),
        check_optional_text(memory.key, what="memory key"),
        check_optional_text(memory.value, what="memory value"),
        importance,
        source,
        to_micros(memory.created_at, what="created_at"),
        to_micros(memory.updated_at, what="updated_at"),
        to_micros_or_none(memory.last_accessed_at, what="last_accessed_at"),
        access_count,
        dump_string_map(memory.metadata, what="memory metadata"),
        check_optional_text(memory.thread, what="memory thread"),
        position,
        dump_history(memory.history),
        to_micros_or_none(memory.valid_from, what="valid_from"),
    )
    return memory_id, user_id, values


def dump_history(history: object) -> str:
    """JSON for a memory's history: a list of revisions, times in integer microseconds."""
    if not isinstance(history, tuple):
        raise InvalidInput(f"memory history must be a tuple, got {type(history).__name__}")
    if not history:
        return "[]"
    items = []
    for revision in history:
        if not isinstance(revision, MemoryRevision):
            raise InvalidInput("memory history must hold MemoryRevision values only")
        items.append(
            {
                "text": check_text(revision.text, what="history text"),
                "value": check_optional_text(revision.value, what="history value"),
                "valid_from": to_micros(revision.valid_from, what="history valid_from"),
                "valid_to": to_micros(revision.valid_to, what="history valid_to"),
            }
        )
    return json.dumps(items, ensure_ascii=False)


def load_history(text: str) -> tuple[MemoryRevision, ...]:
    """The history stored by :func:`dump_history`."""
    if text == "[]":
        return ()
    try:
        return tuple(
            MemoryRevision(
                text=str(item["text"]),
                value=None if item["value"] is None else str(item["value"]),
                valid_from=from_micros(int(item["valid_from"])),
                valid_to=from_micros(int(item["valid_to"])),
            )
            for item in json.loads(text)
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError("a stored memory history is malformed") from exc


def memory_from_row(row: tuple[Any, ...], user_id: UUID | None = None) -> Memory:
    """A Memory from a row of (id, user_id, the values of :func:`memory_params`).

    ``user_id`` saves re-parsing an id the caller already holds.
    """
    return Memory(
        id=UUID(row[0]),
        user_id=user_id if user_id is not None else UUID(row[1]),
        category=_CATEGORIES.get(row[2]) or MemoryCategory(row[2]),
        text=row[3],
        key=row[4],
        value=row[5],
        importance=int(row[6]),
        source=_SOURCES.get(row[7]) or MemorySource(row[7]),
        created_at=from_micros(row[8]),
        updated_at=from_micros(row[9]),
        last_accessed_at=from_micros_or_none(row[10]),
        access_count=int(row[11]),
        metadata=load_string_map(row[12]),
        thread=row[13],
        position=row[14],
        history=load_history(row[15]),
        valid_from=from_micros_or_none(row[16]),
    )


def fts_match(terms: Iterable[str], phrases: Iterable[str] = ()) -> str | None:
    """An FTS5 MATCH expression OR-ing terms and phrases, each a quoted string; None if none.

    Quoting every term (with ``"`` doubled) makes user text a plain phrase: operators
    such as NEAR, AND, ``*``, ``-``, ``:`` or parentheses inside it have no effect. A
    quoted string of several words is an FTS5 phrase: it matches (and bm25 counts) only
    the places where those words follow each other.
    """
    quoted: dict[str, None] = {}
    for what, texts in (("terms", terms), ("phrases", phrases)):
        for text in texts:
            if not isinstance(text, str):
                raise InvalidInput(f"search {what} must be text, got {type(text).__name__}")
            # NUL would end the expression early inside SQLite's C string handling; runs
            # of spaces are folded so "support  group" and "support group" are one phrase.
            cleaned = " ".join(text.replace("\x00", " ").split())
            if cleaned:
                quoted['"' + cleaned.replace('"', '""') + '"'] = None
    return " OR ".join(quoted) if quoted else None


def neighbour_windows(rows: Iterable[tuple[Any, ...]], reach: int) -> list[tuple[str, int, int]]:
    """(thread, lo, hi) windows covering ``reach`` positions around each row's position.

    Overlapping or touching windows of one thread are merged, so no position is covered
    twice and a read of all windows returns each neighbour once. Rows without a thread or
    position have no neighbours.
    """
    by_thread: dict[str, list[int]] = {}
    for row in rows:
        thread, position = row[13], row[14]
        if thread is not None and position is not None:
            by_thread.setdefault(thread, []).append(position)
    windows: list[tuple[str, int, int]] = []
    for thread, positions in by_thread.items():
        positions.sort()
        lo, hi = positions[0] - reach, positions[0] + reach
        for position in positions[1:]:
            if position - reach > hi + 1:
                windows.append((thread, max(lo, INT64_MIN), min(hi, INT64_MAX)))
                lo = position - reach
            hi = position + reach
        windows.append((thread, max(lo, INT64_MIN), min(hi, INT64_MAX)))
    return windows


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an IN list of ``count`` values."""
    return ", ".join("?" * count)
