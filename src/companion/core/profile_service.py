"""ProfileService: the user's profile, kept in step with what the companion remembers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from uuid import UUID

import structlog

from companion.core.user_service import UserService
from companion.domain.errors import AccessDenied, InvalidInput
from companion.domain.models import Memory, ProfileDraft, UserProfile
from companion.domain.profiles import merge_draft, merge_memories, unmerge_memories
from companion.domain.validation import MAX_MEMORY_TEXT, normalize_name, validate_text
from companion.ports.clock import Clock
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)

_MAX_PARTICIPANTS = 20
_EDITABLE = frozenset({"name", "display_name", "language", "notes"})


class ProfileService:
    """Owns user profiles.

    Every write goes through :meth:`UserService.save`, which keeps the cached profile in
    step with the store.
    """

    def __init__(self, profiles: ProfileStore, users: UserService, clock: Clock) -> None:
        self._profiles = profiles
        self._users = users
        self._clock = clock

    async def get(self, user_id: UUID) -> UserProfile:
        """The user's profile (created empty on first use)."""
        return await self._users.ensure_profile_exists(user_id)

    async def _current(self, user_id: UUID, profile: UserProfile | None) -> UserProfile:
        """``profile`` when the caller holds this user's, else the stored one."""
        if profile is None:
            return await self.get(user_id)
        if profile.user_id != user_id:
            raise AccessDenied("the profile belongs to another user")
        return profile

    async def apply_memories(
        self, user_id: UUID, memories: Iterable[Memory], *, profile: UserProfile | None = None
    ) -> UserProfile:
        """Fold newly saved memories into the profile; saves only if something changed.

        ``profile`` is the user's profile when the caller holds it (saves a read)."""
        profile = await self._current(user_id, profile)
        merged = merge_memories(profile, memories)
        if merged == profile and dict(merged.preferences) == dict(profile.preferences):
            return profile
        merged = replace(merged, updated_at=self._clock.now())
        await self._users.save(merged)
        log.info("profile_updated")
        return merged

    async def apply_draft(
        self, user_id: UUID, draft: ProfileDraft, *, profile: UserProfile | None = None
    ) -> UserProfile:
        """Fold a model's draft of the profile in (see ``domain.profiles.merge_draft``)."""
        profile = await self._current(user_id, profile)
        merged = merge_draft(profile, draft)
        if merged == profile and dict(merged.preferences) == dict(profile.preferences):
            return profile
        merged = replace(merged, updated_at=self._clock.now())
        await self._users.save(merged)
        log.info("profile_rebuilt")
        return merged

    async def forget_memories(
        self, user_id: UUID, memories: Iterable[Memory], *, profile: UserProfile | None = None
    ) -> UserProfile:
        """Take forgotten memories back out of the profile, so nothing brings them back."""
        profile = await self._current(user_id, profile)
        cleaned = unmerge_memories(profile, memories)
        if cleaned == profile and dict(cleaned.preferences) == dict(profile.preferences):
            return profile
        cleaned = replace(cleaned, updated_at=self._clock.now())
        await self._users.save(cleaned)
        log.info("profile_updated", reason="forget")
        return cleaned

    async def set_participants(self, user_id: UUID, names: Iterable[str]) -> UserProfile:
        """Name the people in this user's conversations (masked when embedding).

        Memories embedded before a change keep their old vectors: run ``reindex``.
        """
        cleaned = tuple(dict.fromkeys(normalize_name(n) for n in names))
        if len(cleaned) > _MAX_PARTICIPANTS:
            raise InvalidInput(f"at most {_MAX_PARTICIPANTS} participants")
        profile = await self.get(user_id)
        if profile.participants == cleaned:
            return profile
        updated = replace(profile, participants=cleaned, updated_at=self._clock.now())
        await self._users.save(updated)
        return updated

    async def update(self, user_id: UUID, fields: Mapping[str, object]) -> UserProfile:
        """Set editable text fields (name, display_name, language, notes)."""
        unknown = set(fields) - _EDITABLE
        if unknown:
            raise InvalidInput(f"profile fields not editable: {', '.join(sorted(unknown))}")
        clean = {
            k: None if v is None else validate_text(v, what=k, max_length=MAX_MEMORY_TEXT)
            for k, v in fields.items()
        }
        profile = await self.get(user_id)
        updated = replace(profile, **clean, updated_at=self._clock.now())  # type: ignore[arg-type]
        await self._users.save(updated)
        return updated
