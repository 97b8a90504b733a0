"""UserService: making sure a user exists before anything is stored for them."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import structlog

from companion.core.cache_aside import (
    PROFILE,
    PROFILE_TTL_SECONDS,
    CacheAside,
    cached_profile,
    profile_key,
)
from companion.domain.models import UserProfile
from companion.domain.validation import normalize_name
from companion.ports.cache import Cache
from companion.ports.clock import Clock
from companion.ports.profile_store import ProfileStore

log = structlog.get_logger(__name__)


class UserService:
    """Owns the existence of users (their profile row), and the cached copy of it.

    Every profile write of the services goes through :meth:`save`, which refreshes the
    cached profile once the store has it.
    """

    def __init__(self, profiles: ProfileStore, clock: Clock, cache: Cache) -> None:
        self._profiles = profiles
        self._clock = clock
        self._cached = CacheAside(cache)

    async def ensure_profile_exists(self, user_id: UUID) -> UserProfile:
        """The user's profile, created empty if there is none yet."""
        profile = await cached_profile(self._cached, self._profiles, user_id)
        if profile is not None:
            return profile
        now = self._clock.now()
        profile = UserProfile(user_id=user_id, created_at=now, updated_at=now)
        await self.save(profile)
        log.info("profile_created")
        return profile

    async def save(self, profile: UserProfile) -> None:
        """Store the profile, then write it through to the cache."""
        await self._profiles.save(profile)
        await self._cached.write(
            profile_key(profile.user_id), profile, PROFILE, PROFILE_TTL_SECONDS
        )

    async def mark_seen(self, user_id: UUID) -> UserProfile:
        """Record that the user started a session now."""
        profile = await self.ensure_profile_exists(user_id)
        seen = replace(profile, last_seen_at=self._clock.now())
        await self.save(seen)
        return seen

    async def set_display_name(self, user_id: UUID, name: str) -> UserProfile:
        """Set the name the companion calls the user by."""
        profile = await self.ensure_profile_exists(user_id)
        updated = replace(profile, display_name=normalize_name(name), updated_at=self._clock.now())
        await self.save(updated)
        return updated
