"""The ProfileStore port: one profile per user."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from companion.domain.models import UserProfile


class ProfileStore(Protocol):
    """Stores user profiles, keyed by user id."""

    async def get(self, user_id: UUID) -> UserProfile | None:
        """The user's profile, or None when there is none yet."""
        ...

    async def save(self, profile: UserProfile) -> None:
        """Insert or replace the profile of ``profile.user_id``."""
        ...

    async def delete(self, user_id: UUID) -> bool:
        """Delete the user's profile; True if it existed."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
