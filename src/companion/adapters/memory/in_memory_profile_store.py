"""InMemoryProfileStore: profiles in a dict (tests and fallback)."""

from __future__ import annotations

from uuid import UUID

from companion.domain.errors import InvalidInput, StoreError
from companion.domain.models import UserProfile
from companion.domain.validation import require_aware
from companion.ports.profile_store import ProfileStore


class InMemoryProfileStore(ProfileStore):
    """Profiles in process memory: same contract as the durable stores, lost on exit."""

    def __init__(self) -> None:
        self._profiles: dict[UUID, UserProfile] = {}
        self._closed = False

    def _open(self) -> dict[UUID, UserProfile]:
        if self._closed:
            raise StoreError("profile store is closed")
        return self._profiles

    async def get(self, user_id: UUID) -> UserProfile | None:
        return self._open().get(user_id)

    async def save(self, profile: UserProfile) -> None:
        require_aware(profile.created_at, what="created_at")
        require_aware(profile.updated_at, what="updated_at")
        # As the durable stores: a bare string would be a list of its characters there.
        names = profile.participants
        if isinstance(names, str) or not all(isinstance(name, str) for name in names):
            raise InvalidInput("profile participants must be a sequence of text")
        self._open()[profile.user_id] = profile

    async def delete(self, user_id: UUID) -> bool:
        return self._open().pop(user_id, None) is not None

    async def close(self) -> None:
        self._closed = True
