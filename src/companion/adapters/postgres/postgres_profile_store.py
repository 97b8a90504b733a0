"""PostgresProfileStore: one row per user in ``companion_profiles``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from companion.adapters.postgres._codec import (
    check_id,
    check_optional_text,
    check_optional_time,
    check_time,
    dump_string_list,
    dump_string_map,
    load_string_list,
    load_string_map,
)
from companion.adapters.postgres.database import PostgresDatabase
from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import UserProfile
from companion.ports.profile_store import ProfileStore

_SELECT = (
    "SELECT user_id, name, display_name, interests, goals, preferences, language, notes,"
    " created_at, updated_at, last_seen_at, participants FROM companion_profiles"
    " WHERE user_id = $1"
)
_UPSERT = (
    "INSERT INTO companion_profiles (user_id, name, display_name, interests, goals,"
    " preferences, language, notes, created_at, updated_at, last_seen_at, participants)"
    " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12::jsonb)"
    " ON CONFLICT (user_id) DO UPDATE SET name = excluded.name,"
    " display_name = excluded.display_name, interests = excluded.interests,"
    " goals = excluded.goals, preferences = excluded.preferences,"
    " language = excluded.language, notes = excluded.notes,"
    " created_at = excluded.created_at, updated_at = excluded.updated_at,"
    " last_seen_at = excluded.last_seen_at, participants = excluded.participants"
)


class PostgresProfileStore(ProfileStore):
    """User profiles in PostgreSQL; each method is one statement."""

    def __init__(self, db: PostgresDatabase) -> None:
        """A store over an open pool; it does not own (or close) the pool."""
        self._db = db
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("profile store is closed")

    async def get(self, user_id: UUID) -> UserProfile | None:
        """The user's profile, or None when there is none yet."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        row = await self._db.fetchrow(_SELECT, uid)
        return None if row is None else _profile_from_row(row, uid)

    async def save(self, profile: UserProfile) -> None:
        """Insert or replace the profile of ``profile.user_id``."""
        self._check_open()
        await self._db.execute(_UPSERT, *_profile_params(profile))

    async def delete(self, user_id: UUID) -> bool:
        """Delete the user's profile; True if it existed."""
        self._check_open()
        uid = check_id(user_id, what="user id")
        status = await self._db.execute("DELETE FROM companion_profiles WHERE user_id = $1", uid)
        return not status.endswith(" 0")

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the pool stays open."""
        self._closed = True


def _profile_params(profile: object) -> tuple[Any, ...]:
    if not isinstance(profile, UserProfile):
        raise InvalidInput(f"expected a UserProfile, got {type(profile).__name__}")
    return (
        check_id(profile.user_id, what="user id"),
        check_optional_text(profile.name, what="profile name"),
        check_optional_text(profile.display_name, what="profile display name"),
        dump_string_list(profile.interests, what="profile interests"),
        dump_string_list(profile.goals, what="profile goals"),
        dump_string_map(profile.preferences, what="profile preferences"),
        check_optional_text(profile.language, what="profile language"),
        check_optional_text(profile.notes, what="profile notes"),
        check_time(profile.created_at, what="created_at"),
        check_time(profile.updated_at, what="updated_at"),
        check_optional_time(profile.last_seen_at, what="last_seen_at"),
        dump_string_list(profile.participants, what="profile participants"),
    )


def _profile_from_row(row: Any, user_id: UUID) -> UserProfile:
    return UserProfile(
        user_id=user_id,
        name=row[1],
        display_name=row[2],
        interests=load_string_list(row[3]),
        goals=load_string_list(row[4]),
        preferences=load_string_map(row[5]),
        language=row[6],
        notes=row[7],
        created_at=row[8],
        updated_at=row[9],
        last_seen_at=row[10],
        participants=load_string_list(row[11]),
    )
