"""Domain values <-> the rows of the companion_ tables, as PostgREST sends and takes them.

A memory's ``history`` is ``jsonb`` with integer microseconds since the epoch, the format
every companion schema uses for it; every other time is a ``timestamptz``.
"""

from __future__ import annotations

import json
from uuid import UUID

from companion.adapters.postgres.schema_json.codec import (
    INT32_MAX,
    INT32_MIN,
    Row,
    from_micros,
    integer,
    load_list,
    load_map,
    optional_text,
    optional_timestamp,
    parse_optional_timestamp,
    parse_timestamp,
    string_list,
    string_map,
    text,
    timestamp,
    to_micros,
    uuid_text,
)
from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import (
    ConversationSummary,
    ConversationTurn,
    Memory,
    MemoryCategory,
    MemoryRevision,
    MemorySource,
    Role,
    UserProfile,
)
from companion.domain.validation import lease_terms, positive_limit

# The memory columns a read selects: everything but the vector and the search document,
# which only the database needs.
MEMORY_COLUMNS = (
    "id,user_id,category,text,key,value,importance,source,created_at,updated_at,"
    "last_accessed_at,access_count,metadata,thread,position,history,valid_from"
)
PROFILE_COLUMNS = (
    "user_id,name,display_name,interests,goals,preferences,language,notes,participants,"
    "created_at,updated_at,last_seen_at"
)
TURN_COLUMNS = "id,user_id,session_id,role,text,created_at"
SUMMARY_COLUMNS = (
    "id,user_id,session_id,summary,topics,open_threads,started_at,ended_at,turn_count,next_greeting"
)


def memory_row(memory: object) -> Row:
    """The companion_memories row of a memory (without its vector columns)."""
    if not isinstance(memory, Memory):
        raise InvalidInput(f"expected a Memory, got {type(memory).__name__}")
    try:
        category = MemoryCategory(memory.category).value
        source = MemorySource(memory.source).value
    except ValueError as exc:
        raise InvalidInput(f"unknown memory category or source: {exc}") from None
    return {
        "id": uuid_text(memory.id, what="memory id"),
        "user_id": uuid_text(memory.user_id, what="user id"),
        "category": category,
        "text": text(memory.text, what="memory text"),
        "key": optional_text(memory.key, what="memory key"),
        "value": optional_text(memory.value, what="memory value"),
        "importance": integer(memory.importance, what="importance", low=INT32_MIN, high=INT32_MAX),
        "source": source,
        "created_at": timestamp(memory.created_at, what="created_at"),
        "updated_at": timestamp(memory.updated_at, what="updated_at"),
        "last_accessed_at": optional_timestamp(memory.last_accessed_at, what="last_accessed_at"),
        "access_count": integer(memory.access_count, what="access count", low=0),
        "metadata": string_map(memory.metadata, what="memory metadata"),
        "thread": optional_text(memory.thread, what="memory thread"),
        "position": None if memory.position is None else integer(memory.position, what="position"),
        "history": history_json(memory.history),
        "valid_from": optional_timestamp(memory.valid_from, what="valid_from"),
    }


def history_json(history: object) -> list[Row]:
    """A memory's history as stored: revisions, times in integer microseconds."""
    if not isinstance(history, tuple):
        raise InvalidInput(f"memory history must be a tuple, got {type(history).__name__}")
    items = []
    for revision in history:
        if not isinstance(revision, MemoryRevision):
            raise InvalidInput("memory history must hold MemoryRevision values only")
        items.append(
            {
                "text": text(revision.text, what="history text"),
                "value": optional_text(revision.value, what="history value"),
                "valid_from": to_micros(revision.valid_from, what="history valid_from"),
                "valid_to": to_micros(revision.valid_to, what="history valid_to"),
            }
        )
    return items


def history_from_json(value: object) -> tuple[MemoryRevision, ...]:
    """A memory's history from its stored form (see :func:`history_json`)."""
    if not isinstance(value, list):
        raise StoreError("a stored memory history is malformed")
    try:
        return tuple(
            MemoryRevision(
                text=str(item["text"]),
                value=None if item["value"] is None else str(item["value"]),
                valid_from=from_micros(item["valid_from"]),
                valid_to=from_micros(item["valid_to"]),
            )
            for item in value
        )
    except (TypeError, KeyError):
        raise StoreError("a stored memory history is malformed") from None


def memory_from_row(row: Row) -> Memory:
    """A Memory from a companion_memories row (as selected by MEMORY_COLUMNS)."""
    try:
        return Memory(
            id=UUID(row["id"]),
            user_id=UUID(row["user_id"]),
            category=MemoryCategory(row["category"]),
            text=row["text"],
            key=row["key"],
            value=row["value"],
            importance=int(row["importance"]),
            source=MemorySource(row["source"]),
            created_at=parse_timestamp(row["created_at"]),
            updated_at=parse_timestamp(row["updated_at"]),
            last_accessed_at=parse_optional_timestamp(row["last_accessed_at"]),
            access_count=int(row["access_count"]),
            metadata=load_map(row["metadata"]),
            thread=row["thread"],
            position=None if row["position"] is None else int(row["position"]),
            history=history_from_json(row["history"]),
            valid_from=parse_optional_timestamp(row["valid_from"]),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"a stored memory row is malformed ({type(exc).__name__})") from None


def profile_row(profile: object) -> Row:
    """The companion_profiles row of a profile."""
    if not isinstance(profile, UserProfile):
        raise InvalidInput(f"expected a UserProfile, got {type(profile).__name__}")
    return {
        "user_id": uuid_text(profile.user_id, what="user id"),
        "name": optional_text(profile.name, what="profile name"),
        "display_name": optional_text(profile.display_name, what="profile display name"),
        "interests": string_list(profile.interests, what="profile interests"),
        "goals": string_list(profile.goals, what="profile goals"),
        "preferences": string_map(profile.preferences, what="profile preferences"),
        "language": optional_text(profile.language, what="profile language"),
        "notes": optional_text(profile.notes, what="profile notes"),
        "participants": string_list(profile.participants, what="profile participants"),
        "created_at": timestamp(profile.created_at, what="created_at"),
        "updated_at": timestamp(profile.updated_at, what="updated_at"),
        "last_seen_at": optional_timestamp(profile.last_seen_at, what="last_seen_at"),
    }


def profile_from_row(row: Row) -> UserProfile:
    """A UserProfile from a companion_profiles row."""
    try:
        return UserProfile(
            user_id=UUID(row["user_id"]),
            name=row["name"],
            display_name=row["display_name"],
            interests=load_list(row["interests"]),
            goals=load_list(row["goals"]),
            preferences=load_map(row["preferences"]),
            language=row["language"],
            notes=row["notes"],
            participants=load_list(row["participants"]),
            created_at=parse_timestamp(row["created_at"]),
            updated_at=parse_timestamp(row["updated_at"]),
            last_seen_at=parse_optional_timestamp(row["last_seen_at"]),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"a stored profile row is malformed ({type(exc).__name__})") from None


def turn_row(turn: object) -> Row:
    """The companion_turns row of a turn (``seq`` and ``processed_at`` are the database's)."""
    if not isinstance(turn, ConversationTurn):
        raise InvalidInput(f"expected a ConversationTurn, got {type(turn).__name__}")
    try:
        role = Role(turn.role).value
    except ValueError:
        raise InvalidInput(f"unknown turn role {turn.role!r}") from None
    return {
        "id": uuid_text(turn.id, what="turn id"),
        "user_id": uuid_text(turn.user_id, what="user id"),
        "session_id": uuid_text(turn.session_id, what="session id"),
        "role": role,
        "text": text(turn.text, what="turn text"),
        "created_at": timestamp(turn.created_at, what="created_at"),
    }


def turn_from_row(row: Row) -> ConversationTurn:
    """A ConversationTurn from a companion_turns row."""
    try:
        return ConversationTurn(
            id=UUID(row["id"]),
            user_id=UUID(row["user_id"]),
            session_id=UUID(row["session_id"]),
            role=Role(row["role"]),
            text=row["text"],
            created_at=parse_timestamp(row["created_at"]),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"a stored turn row is malformed ({type(exc).__name__})") from None


CLAIM_MEMORY_WORK = "companion_claim_memory_work"


def claim_params(
    user_id: object,
    owner: object,
    lease_seconds: object,
    limit: object,
    take_over: object = None,
) -> Row:
    """The arguments of ``companion_claim_memory_work`` (migration 0008), checked."""
    who, seconds = lease_terms(owner, lease_seconds)
    gone = None if take_over is None else text(lease_terms(take_over, 1.0)[0], what="owner")
    return {
        "p_user_id": uuid_text(user_id, what="user id"),
        "p_owner": text(who, what="lease owner"),
        "p_lease_seconds": seconds,
        "p_limit": limit if positive_limit(limit) else 0,
        "p_take_over": gone,
    }


def claimed_turns(answer: object) -> list[ConversationTurn] | None:
    """What ``companion_claim_memory_work`` returned: None (another owner's lease runs),
    or the user's pending turns (a JSON array, or its text)."""
    if answer is None:
        return None
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError:
            raise StoreError("a memory-work claim came back malformed") from None
    if not isinstance(answer, list) or not all(isinstance(row, dict) for row in answer):
        raise StoreError("a memory-work claim came back malformed")
    return [turn_from_row(row) for row in answer]


def summary_row(summary: object) -> Row:
    """The companion_summaries row of a session summary."""
    if not isinstance(summary, ConversationSummary):
        raise InvalidInput(f"expected a ConversationSummary, got {type(summary).__name__}")
    return {
        "id": uuid_text(summary.id, what="summary id"),
        "user_id": uuid_text(summary.user_id, what="user id"),
        "session_id": uuid_text(summary.session_id, what="session id"),
        "summary": text(summary.summary, what="summary text"),
        "topics": string_list(summary.topics, what="summary topics"),
        "open_threads": string_list(summary.open_threads, what="summary open threads"),
        "started_at": timestamp(summary.started_at, what="started_at"),
        "ended_at": timestamp(summary.ended_at, what="ended_at"),
        "turn_count": integer(summary.turn_count, what="turn count", low=0, high=INT32_MAX),
        "next_greeting": optional_text(summary.next_greeting, what="next greeting"),
    }


def summary_from_row(row: Row) -> ConversationSummary:
    """A ConversationSummary from a companion_summaries row."""
    try:
        return ConversationSummary(
            id=UUID(row["id"]),
            user_id=UUID(row["user_id"]),
            session_id=UUID(row["session_id"]),
            summary=row["summary"],
            topics=load_list(row["topics"]),
            open_threads=load_list(row["open_threads"]),
            started_at=parse_timestamp(row["started_at"]),
            ended_at=parse_timestamp(row["ended_at"]),
            turn_count=int(row["turn_count"]),
            next_greeting=row["next_greeting"],
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"a stored summary row is malformed ({type(exc).__name__})") from None
