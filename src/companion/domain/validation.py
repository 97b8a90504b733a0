"""Validators for everything that crosses a boundary, and the session write guard."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from companion.domain.errors import AccessDenied, InvalidInput, InvalidUserId
from companion.domain.models import MemoryCandidate, MemoryCategory, MemoryQuery

# Names map to stable UUIDs in this namespace, so `--user ada` is the same user on every
# machine and in every version.
USER_NAMESPACE = UUID("6f1c3d52-1f5e-4b7e-9a57-2f3c8a1d0b11")

MAX_MEMORY_TEXT = 4_000
MAX_KEY = 120
MAX_USER_NAME = 64
MAX_QUERY = 2_000
MAX_TURN_TEXT = 10_000
MIN_IMPORTANCE = 1
MAX_IMPORTANCE = 10

_NAME_RE = re.compile(r"^[\w][\w .'-]*$", re.UNICODE)
_UUID_SHAPE_RE = re.compile(r"^\{?[0-9a-z]{8}(?:-[0-9a-z]{4}){3}-[0-9a-z]{12}\}?$", re.IGNORECASE)
_KEY_RE = re.compile(r"^[a-z0-9_]+(?:[.:][a-z0-9_]+)*$")


def parse_uuid(value: object, *, what: str = "id") -> UUID:
    """Return ``value`` as a UUID, or raise InvalidInput naming ``what``."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a UUID string, got {type(value).__name__}")
    text = value.strip()
    try:
        parsed = UUID(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise InvalidInput(f"{what} is not a valid UUID: {shown!r}") from None
    return parsed


def parse_user_id(value: object) -> UUID:
    """Return a user id given as a UUID (object or string)."""
    try:
        return parse_uuid(value, what="user id")
    except InvalidInput as exc:
        raise InvalidUserId(str(exc)) from None


def user_id_for_name(name: str) -> UUID:
    """Map a user name to a stable UUID (case- and space-insensitive)."""
    normalized = normalize_name(name)
    return uuid.uuid5(USER_NAMESPACE, normalized.casefold())


def normalize_name(name: str) -> str:
    """Validate a user name and return it trimmed, NFC-normalized, single-spaced."""
    if not isinstance(name, str):
        raise InvalidUserId("user name must be a string")
    if any(unicodedata.category(ch) == "Cc" for ch in name.strip()):
        raise InvalidUserId("user name contains control characters")
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if not text:
        raise InvalidUserId("user name is empty")
    if len(text) > MAX_USER_NAME:
        raise InvalidUserId(f"user name is longer than {MAX_USER_NAME} characters")
    if not _NAME_RE.match(text):
        raise InvalidUserId(
            "user name may hold letters, digits, spaces and . ' - _ only; or pass a UUID"
        )
    return text


def resolve_user_ref(ref: str) -> tuple[UUID, str | None]:
    """Resolve a `--user` value: a UUID as itself, anything else as a name.

    Returns the user id and the name it was derived from (``None`` for a UUID).
    """
    if not isinstance(ref, str):
        raise InvalidUserId("user must be a UUID or a name")
    stripped = ref.strip()
    if _looks_like_uuid(stripped) or _UUID_SHAPE_RE.match(stripped):
        # Shaped like a UUID but malformed: the user meant a UUID, so say it is invalid
        # rather than silently treating it as a new name.
        return parse_user_id(stripped), None
    name = normalize_name(stripped)
    return user_id_for_name(name), name


def _looks_like_uuid(text: str) -> bool:
    hexdigits = text.replace("-", "").removeprefix("urn:uuid:").strip("{}")
    return len(hexdigits) == 32 and all(c in "0123456789abcdefABCDEF" for c in hexdigits)


def parse_category(raw: object) -> MemoryCategory:
    """A memory category from its name (any case, spaces around); InvalidInput naming
    the categories otherwise."""
    if isinstance(raw, MemoryCategory):
        return raw
    try:
        if not isinstance(raw, str):
            raise ValueError(raw)
        return MemoryCategory(raw.strip().lower())
    except ValueError:
        names = ", ".join(c.value for c in MemoryCategory)
        raise InvalidInput(f"unknown category {raw!r}; one of: {names}") from None


def validate_text(text: object, *, what: str, max_length: int) -> str:
    """Return ``text`` stripped, rejecting non-strings, empty text and oversize text."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be text, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidInput(f"{what} is empty")
    if len(stripped) > max_length:
        raise InvalidInput(f"{what} is longer than {max_length} characters ({len(stripped)})")
    if "\x00" in stripped:
        raise InvalidInput(f"{what} contains a NUL character")
    return stripped


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


MAX_PARK_REASON = 500


def park_reason(reason: str) -> str:
    """Why a turn was parked, one line, bounded (it is shown by ``stats`` and ``doctor``)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("a parked turn needs a reason")
    line = " ".join(reason.split())
    return line if len(line) <= MAX_PARK_REASON else line[: MAX_PARK_REASON - 1] + "…"


MAX_LEASE_OWNER = 200
MAX_LEASE_SECONDS = 86_400.0


def lease_terms(owner: object, seconds: object) -> tuple[str, float]:
    """A memory-work lease's owner (one printable line, at most 200 characters) and
    length (more than 0 seconds, at most a day)."""
    if not isinstance(owner, str) or not owner.strip() or not owner.isprintable():
        raise InvalidInput("a lease needs an owner: one printable line")
    if len(owner) > MAX_LEASE_OWNER:
        raise InvalidInput(f"a lease owner is at most {MAX_LEASE_OWNER} characters")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidInput(f"lease seconds must be a number, got {seconds!r}")
    if not 0 < seconds <= MAX_LEASE_SECONDS:  # also False for NaN
        raise InvalidInput(f"lease seconds must be in (0, {MAX_LEASE_SECONDS:.0f}]")
    return owner, float(seconds)


def positive_limit(limit: object) -> bool:
    """True for a positive integer limit; False for zero or less (nothing to return)."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInput(f"limit must be an integer, got {limit!r}")
    return limit > 0


def validate_memory_query(query: object) -> MemoryQuery:
    """A store's search query, with its numbers checked: ``limit`` an integer (zero or
    less asks for nothing), ``expand`` and ``neighbours`` non-negative integers."""
    if not isinstance(query, MemoryQuery):
        raise InvalidInput(f"expected a MemoryQuery, got {type(query).__name__}")
    if _not_int(query.limit):
        raise InvalidInput(f"query limit must be an integer, got {query.limit!r}")
    if _not_int(query.expand) or query.expand < 0:
        raise InvalidInput(f"query expand must be a non-negative integer, got {query.expand!r}")
    if _not_int(query.neighbours) or query.neighbours < 0:
        raise InvalidInput(
            f"query neighbours must be a non-negative integer, got {query.neighbours!r}"
        )
    return query


def validate_importance(value: object) -> int:
    """Return an importance in 1..10, rejecting anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"importance must be an integer from 1 to 10, got {value!r}")
    if not MIN_IMPORTANCE <= value <= MAX_IMPORTANCE:
        raise InvalidInput(f"importance must be from 1 to 10, got {value}")
    return value


def validate_key(key: object) -> str | None:
    """Return a memory key (dotted lower-case slug) or ``None``."""
    if key is None:
        return None
    if not isinstance(key, str) or len(key) > MAX_KEY or not _KEY_RE.match(key):
        raise InvalidInput(
            f"memory key must be a dotted lower-case slug of at most {MAX_KEY} characters"
        )
    return key


def validate_candidate(candidate: MemoryCandidate) -> MemoryCandidate:
    """Check a proposed memory before anything is written."""
    text = validate_text(candidate.text, what="memory text", max_length=MAX_MEMORY_TEXT)
    value = (
        None
        if candidate.value is None
        else validate_text(candidate.value, what="memory value", max_length=MAX_MEMORY_TEXT)
    )
    if not isinstance(candidate.forget, bool):
        raise InvalidInput("forget must be true or false")
    key = candidate.key
    if candidate.forget:
        # A forget request may name a family of keys: "pet.dog." forgets every dog.
        if not isinstance(key, str):
            raise InvalidInput("a request to forget must name a memory key")
        family = key.endswith(".")
        key = f"{validate_key(key.removesuffix('.'))}{'.' if family else ''}"
    else:
        key = validate_key(key)
    return MemoryCandidate(
        category=candidate.category,
        text=text,
        importance=validate_importance(candidate.importance),
        key=key,
        value=value,
        forget=candidate.forget,
    )


def require_aware(moment: datetime, *, what: str = "time") -> datetime:
    """Reject naive datetimes: every stored time is timezone-aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} must be timezone-aware")
    return moment


@dataclass(frozen=True, slots=True)
class SessionScope:
    """The write guard: a session reads and writes only its own user's data."""

    user_id: UUID

    def can_write_for_current_user(self, user_id: object) -> bool:
        """True when ``user_id`` is this session's user (a malformed id is never)."""
        try:
            return parse_user_id(user_id) == self.user_id
        except InvalidUserId:
            return False

    def require(self, user_id: object) -> UUID:
        """Return ``user_id`` as a UUID if it is this session's user, else raise."""
        if not self.can_write_for_current_user(user_id):
            raise AccessDenied("this session may only read and write its own user's data")
        return self.user_id
