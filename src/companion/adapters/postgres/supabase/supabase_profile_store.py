"""SupabaseProfileStore: one row per user in ``companion_profiles``, through PostgREST."""

from __future__ import annotations

from uuid import UUID

from postgrest import ReturnMethod

from companion.adapters.postgres.schema_json.codec import rows_of, uuid_text
from companion.adapters.postgres.schema_json.rows import (
    PROFILE_COLUMNS,
    profile_from_row,
    profile_row,
)
from companion.adapters.postgres.supabase.client import SupabaseClient
from companion.domain.errors import StoreError
from companion.domain.models import UserProfile
from companion.ports.profile_store import ProfileStore

PROFILES = "companion_profiles"


class SupabaseProfileStore(ProfileStore):
    """User profiles on Supabase: one request per operation."""

    def __init__(self, client: SupabaseClient) -> None:
        """A store over a shared client; it does not own (or close) the client."""
        self._client = client
        self._closed = False

    async def get(self, user_id: UUID) -> UserProfile | None:
        """The user's profile, or None when there is none yet."""
        self._check_open()
        query = (
            self._client.table(PROFILES)
            .select(PROFILE_COLUMNS)
            .eq("user_id", uuid_text(user_id, what="user id"))
        )
        rows = rows_of((await self._client.execute(query, what="reading a profile")).data)
        return profile_from_row(rows[0]) if rows else None

    async def save(self, profile: UserProfile) -> None:
        """Insert or replace the profile of ``profile.user_id`` (an upsert on user_id)."""
        self._check_open()
        query = self._client.table(PROFILES).upsert(
            profile_row(profile), on_conflict="user_id", returning=ReturnMethod.minimal
        )
        await self._client.execute(query, what="saving a profile")

    async def delete(self, user_id: UUID) -> bool:
        """Delete the user's profile; True if it existed."""
        self._check_open()
        query = (
            self._client.table(PROFILES)
            .delete()
            .eq("user_id", uuid_text(user_id, what="user id"))
            .select("user_id")
        )
        response = await self._client.execute(query, what="deleting a profile")
        return bool(rows_of(response.data))

    async def close(self) -> None:
        """Mark this store closed (later calls raise StoreError); the client stays open."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("profile store is closed")
