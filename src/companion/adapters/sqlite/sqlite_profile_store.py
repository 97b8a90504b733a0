"""SqliteProfileStore: one row per user in the ``profiles`` table."""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import UUID

from companion.adapters.sqlite._codec import (
    check_optional_text,
    dump_string_list,
    dump_string_map,
    from_micros,
    from_micros_or_none,
    id_text,
    load_string_list,
    load_string_map,
    to_micros,
    to_micros_or_none,
)
from companion.adapters.sqlite.database import SqliteDatabase
from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import UserProfile
from companion.ports.profile_store import ProfileStore

_SELECT = (
    "SELECT user_id, name, display_name, interests, goals, preferences, language, notes,"
    " created_at, updated_at, last_seen_at, participants FROM profiles"
)
_UPSERT = (
    "INSERT INTO profiles (user_id, name, display_name, interests, goals, preferences,"
    " language, notes, created_at, updated_at, last_seen_at, participants)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (user_id) DO UPDATE SET name = excluded.name,"
    " display_name = excluded.display_name, interests = excluded.interests,"
    " goals = excluded.goals, preferences = excluded.preferences,"
    " language = excluded.language, notes = excluded.notes,"
    " created_at = excluded.created_at, updated_at = excluded.updated_at,"
    " last_seen_at = excluded.last_seen_at, participants = excluded.participants"
)


class SqliteProfileStore(ProfileStore):
    """User profiles in the companion's SQLite database."""

    def __init__(self, db: SqliteDatabase) -> None:
        """A store over an open database; it does not own (or close) the database."""
        self._db = db
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("profile store is closed")

    async def get(self, user_id: UUID) -> UserProfile | None:
        """The user's profile, or None when there is none yet."""
        self._check_open()
        row = await self._db.run(_get_profile, id_text(user_id, what="user id"))
        return None if row is None else _profile_from_row(row, user_id)

    async def save(self, profile: UserProfile) -> None:
        """Insert or replace the profile of ``profile.user_id``."""
        self._check_open()
        await self._db.write(_save_profile, _profile_params(profile))

    async def delete(self, user_id: UUID) -> bool:
        """Delete the user's profile; True if it existed."""
        self._check_open()
        return await self._db.write(_delete_profile, id_text(user_id, what="user id"))

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the database stays open."""
        self._closed = True


def _profile_params(profile: UserProfile) -> tuple[Any, ...]:
    if not isinstance(profile, UserProfile):
        raise InvalidInput(f"expected a UserProfile, got {type(profile).__name__}")
    return (
        id_text(profile.user_id, what="user id"),
        check_optional_text(profile.name, what="profile name"),
        check_optional_text(profile.display_name, what="profile display name"),
        dump_string_list(profile.interests, what="profile interests"),
        dump_string_list(profile.goals, what="profile goals"),
        dump_string_map(profile.preferences, what="profile preferences"),
        check_optional_text(profile.language, what="profile language"),
        check_optional_text(profile.notes, what="profile notes"),
        to_micros(profile.created_at, what="created_at"),
        to_micros(profile.updated_at, what="updated_at"),
        to_micros_or_none(profile.last_seen_at, what="last_seen_at"),
        dump_string_list(profile.participants, what="profile participants"),
    )


def _profile_from_row(row: tuple[Any, ...], user_id: UUID) -> UserProfile:
    return UserProfile(
        user_id=user_id,
        name=row[1],
        display_name=row[2],
        interests=load_string_list(row[3]),
        goals=load_string_list(row[4]),
        preferences=load_string_map(row[5]),
        language=row[6],
        notes=row[7],
        created_at=from_micros(row[8]),
        updated_at=from_micros(row[9]),
        last_seen_at=from_micros_or_none(row[10]),
        participants=load_string_list(row[11]),
    )


def _get_profile(conn: sqlite3.Connection, user_id: str) -> Any:
    return conn.execute(_SELECT + " WHERE user_id = ?", (user_id,)).fetchone()


def _save_profile(conn: sqlite3.Connection, params: tuple[Any, ...]) -> None:
    conn.execute(_UPSERT, params)


def _delete_profile(conn: sqlite3.Connection, user_id: str) -> bool:
    return conn.execute("DELETE FROM profiles WHERE user_id = ?", (user_id,)).rowcount > 0
