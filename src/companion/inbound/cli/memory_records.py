"""Memories as JSON Lines records: the export/import format, validated at the boundary."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from companion.core.validation_errors import first_problem
from companion.domain.errors import InvalidInput
from companion.domain.models import Memory, MemoryCategory, MemoryRevision, MemorySource
from companion.domain.validation import (
    MAX_KEY,
    MAX_MEMORY_TEXT,
    validate_key,
)

MAX_IMPORT_LINE = 64 * 1024
MAX_IMPORT_RECORDS = 100_000
MAX_HISTORY = 1_000


def _check_text(value: str | None) -> str | None:
    if value is not None and (not value.strip() or "\x00" in value):
        raise ValueError("must be non-empty text without NUL characters")
    return value


class RevisionRecord(BaseModel):
    """One earlier value of an exported memory and when it was true."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=MAX_MEMORY_TEXT)
    value: str | None = Field(default=None, min_length=1, max_length=MAX_MEMORY_TEXT)
    valid_from: AwareDatetime
    valid_to: AwareDatetime

    _text = field_validator("text", "value")(_check_text)

    @model_validator(mode="after")
    def _interval(self) -> RevisionRecord:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class MemoryRecord(BaseModel):
    """One exported memory. Unknown fields are rejected so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    user_id: UUID
    category: MemoryCategory
    text: str = Field(min_length=1, max_length=MAX_MEMORY_TEXT)
    importance: int = Field(ge=1, le=10, strict=True)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    source: MemorySource = MemorySource.IMPORT
    key: str | None = Field(default=None, max_length=MAX_KEY)
    value: str | None = Field(default=None, min_length=1, max_length=MAX_MEMORY_TEXT)
    last_accessed_at: AwareDatetime | None = None
    access_count: int = Field(default=0, ge=0)
    metadata: dict[str, str] = Field(default_factory=dict)
    history: list[RevisionRecord] = Field(default_factory=list, max_length=MAX_HISTORY)
    valid_from: AwareDatetime | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        try:
            return validate_key(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None

    _text = field_validator("text", "value")(_check_text)


def to_record(memory: Memory) -> dict[str, Any]:
    """A memory as a JSON-ready dict."""

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "id": str(memory.id),
        "user_id": str(memory.user_id),
        "category": memory.category.value,
        "text": memory.text,
        "importance": memory.importance,
        "created_at": iso(memory.created_at),
        "updated_at": iso(memory.updated_at),
        "source": memory.source.value,
        "key": memory.key,
        "value": memory.value,
        "last_accessed_at": iso(memory.last_accessed_at),
        "access_count": memory.access_count,
        "metadata": dict(memory.metadata),
        "history": [
            {
                "text": was.text,
                "value": was.value,
                "valid_from": iso(was.valid_from),
                "valid_to": iso(was.valid_to),
            }
            for was in memory.history
        ],
        "valid_from": iso(memory.valid_from),
    }


def dumps_jsonl(memories: Iterable[Memory]) -> str:
    """Memories as JSON Lines, one record per line."""
    return "".join(json.dumps(to_record(m), ensure_ascii=False) + "\n" for m in memories)


def parse_jsonl(lines: Iterable[str], *, target_user: UUID) -> list[Memory]:
    """Parse and validate every line before returning anything.

    Records of another user are re-homed to ``target_user`` under a derived id, so an
    export can seed a different user and importing it twice is still a no-op.
    """
    memories: list[Memory] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_IMPORT_LINE:
            raise InvalidInput(f"line {number}: longer than {MAX_IMPORT_LINE} characters")
        if len(memories) >= MAX_IMPORT_RECORDS:
            raise InvalidInput(f"more than {MAX_IMPORT_RECORDS} records in one import")
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number}: not valid JSON ({exc.msg})") from None
        try:
            record = MemoryRecord.model_validate(raw)
        except ValidationError as exc:
            where, problem = first_problem(exc, default="record")
            raise InvalidInput(f"line {number}: {where}: {problem}") from None
        memories.append(_to_memory(record, target_user))
    return memories


def _to_memory(record: MemoryRecord, target_user: UUID) -> Memory:
    memory_id = record.id
    if record.user_id != target_user:
        memory_id = uuid.uuid5(target_user, str(record.id))
    return Memory(
        id=memory_id,
        user_id=target_user,
        category=record.category,
        text=record.text.strip(),
        importance=record.importance,
        created_at=record.created_at,
        updated_at=record.updated_at,
        source=record.source,
        key=record.key,
        value=record.value,
        last_accessed_at=record.last_accessed_at,
        access_count=record.access_count,
        metadata=dict(record.metadata),
        history=tuple(
            MemoryRevision(was.text.strip(), was.value, was.valid_from, was.valid_to)
            for was in record.history
        ),
        valid_from=record.valid_from,
    )
