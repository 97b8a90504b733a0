"""OnboardingService: a new user's profile and first memories from onboarding data."""

from __future__ import annotations

from uuid import UUID

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from companion.core.memory_service import MemoryService
from companion.core.profile_service import ProfileService
from companion.core.validation_errors import first_problem
from companion.domain.changes import SaveResult
from companion.domain.errors import InvalidInput
from companion.domain.keys import favourite_key, goal_key, likes_key
from companion.domain.models import MemoryCandidate, MemoryCategory, MemorySource, UserProfile
from companion.domain.validation import normalize_name

log = structlog.get_logger(__name__)

_SHORT = 200


class OnboardingData(BaseModel):
    """What an onboarding form collects. Unknown fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=64)
    interests: list[str] = Field(default_factory=list, max_length=50)
    goals: list[str] = Field(default_factory=list, max_length=50)
    preferences: dict[str, str] = Field(default_factory=dict, max_length=50)
    language: str | None = Field(default=None, max_length=35)

    @field_validator("interests", "goals")
    @classmethod
    def _items(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in values]
        if any(not v or len(v) > _SHORT for v in cleaned):
            raise ValueError(f"items must be non-empty and at most {_SHORT} characters")
        return cleaned

    @field_validator("preferences")
    @classmethod
    def _prefs(cls, values: dict[str, str]) -> dict[str, str]:
        for k, v in values.items():
            if not k.strip() or not v.strip() or len(k) > _SHORT or len(v) > _SHORT:
                raise ValueError("preference names and values must be short, non-empty text")
        return {" ".join(k.split()): " ".join(v.split()) for k, v in values.items()}

    @classmethod
    def parse(cls, raw: object) -> OnboardingData:
        """Validate raw JSON data, turning pydantic's errors into one InvalidInput."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            where, problem = first_problem(exc, default="data")
            raise InvalidInput(f"onboarding {where}: {problem}") from None


def onboarding_candidates(data: OnboardingData) -> list[MemoryCandidate]:
    """The memories an onboarding form implies."""
    out: list[MemoryCandidate] = []
    if data.name:
        name = normalize_name(data.name)
        out.append(MemoryCandidate(MemoryCategory.PERSONAL, f"Name is {name}", 9, "name", name))
    for interest in data.interests:
        out.append(
            MemoryCandidate(
                MemoryCategory.PREFERENCE, f"Likes {interest}", 5, likes_key(interest), interest
            )
        )
    for goal in data.goals:
        out.append(MemoryCandidate(MemoryCategory.GOAL, f"Goal: {goal}", 7, goal_key(goal), goal))
    for pref, value in data.preferences.items():
        out.append(
            MemoryCandidate(
                MemoryCategory.PREFERENCE,
                f"Preference {pref}: {value}",
                5,
                favourite_key(pref),
                value,
            )
        )
    return out


class OnboardingService:
    """Initialises a user from onboarding data: profile first, then memories."""

    def __init__(self, profiles: ProfileService, memories: MemoryService) -> None:
        self._profiles = profiles
        self._memories = memories

    async def initialize(
        self, user_id: UUID, data: OnboardingData
    ) -> tuple[UserProfile, list[SaveResult]]:
        """Apply onboarding data; running it twice changes nothing the second time."""
        results = await self._memories.remember(
            user_id, onboarding_candidates(data), source=MemorySource.ONBOARDING
        )
        profile = await self._profiles.apply_memories(user_id, [r.memory for r in results])
        if data.language and profile.language != data.language:
            profile = await self._profiles.update(user_id, {"language": data.language})
        log.info("user_onboarded", memories=len(results))
        return profile, results
