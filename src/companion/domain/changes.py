"""What saving a memory did: the change, the stored result, and the slot it fills."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from companion.domain.models import Memory, MemoryCandidate
from companion.domain.text import normalize


class Change(enum.StrEnum):
    """What saving a candidate did."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"  # the user asked to forget it


@dataclass(frozen=True, slots=True)
class SaveResult:
    """The stored memory and what happened to it."""

    memory: Memory
    change: Change


def dedupe_key(candidate: MemoryCandidate) -> str:
    """The slot a candidate fills: its key, or a digest of its text for free-form notes."""
    if candidate.key:
        return candidate.key
    digest = hashlib.sha256(normalize(candidate.text).encode()).hexdigest()[:16]
    return f"note.{digest}"
