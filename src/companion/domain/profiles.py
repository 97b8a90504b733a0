"""The user profile, built from memories: the deterministic merge, and a model's draft.

Both only add to what the profile says (a model cannot wipe a profile by leaving fields
out), cap list sizes, and drop items that are too long or empty rather than fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from companion.domain.models import Memory, ProfileDraft, UserProfile

MAX_LIST = 50
MAX_ITEM = 200
MAX_NOTES = 1000
MAX_PREFERENCES = 100


def _clean(text: str | None, limit: int = MAX_ITEM) -> str | None:
    if not isinstance(text, str):
        return None
    flat = " ".join(text.split())
    return flat if 0 < len(flat) <= limit else None


def _add_unique(items: tuple[str, ...], new: str) -> tuple[str, ...]:
    folded = {i.casefold() for i in items}
    return items if new.casefold() in folded else (*items, new)[-MAX_LIST:]


def merge_memories(profile: UserProfile, memories: Iterable[Memory]) -> UserProfile:
    """The profile with what these memories say about the user folded in (deterministic)."""
    name, interests, goals = profile.name, profile.interests, profile.goals
    preferences = dict(profile.preferences)
    for memory in memories:
        key, value = memory.key or "", memory.value or memory.text
        if key == "name":
            name = value
        elif key.startswith("likes."):
            interests = _add_unique(interests, value)
        elif key.startswith("dislikes.") or key.startswith("favourite."):
            preferences[key] = value
        elif key.startswith("goal."):
            goals = _add_unique(goals, value)
    return replace(profile, name=name, interests=interests, goals=goals, preferences=preferences)


def unmerge_memories(profile: UserProfile, memories: Iterable[Memory]) -> UserProfile:
    """The profile without what these (forgotten) memories had put into it."""
    name, interests, goals = profile.name, profile.interests, profile.goals
    preferences = dict(profile.preferences)
    for memory in memories:
        key, value = memory.key or "", memory.value or memory.text
        folded = value.casefold()
        if key == "name" and name is not None and name.casefold() == folded:
            name = None
        elif key.startswith("likes."):
            interests = tuple(i for i in interests if i.casefold() != folded)
        elif key.startswith("goal."):
            goals = tuple(g for g in goals if g.casefold() != folded)
        elif key.startswith(("favourite.", "dislikes.")):
            preferences.pop(key, None)
    return replace(profile, name=name, interests=interests, goals=goals, preferences=preferences)


def draft_from_memories(profile: UserProfile, memories: Iterable[Memory]) -> ProfileDraft:
    """What the deterministic merge would make of these memories, as a draft."""
    merged = merge_memories(profile, memories)
    return ProfileDraft(
        name=merged.name,
        interests=merged.interests,
        goals=merged.goals,
        preferences=dict(merged.preferences),
        language=merged.language,
        notes=merged.notes,
    )


def merge_draft(profile: UserProfile, draft: ProfileDraft) -> UserProfile:
    """The profile with a model's draft folded in.

    The name and language are only filled in when unknown (the user's own words set
    them, through memories); interests and goals are added; preferences are added or
    updated; the notes (a short description of the user) are replaced when the draft
    has some. Items that are empty or too long are dropped.
    """
    interests, goals = profile.interests, profile.goals
    for item in draft.interests:
        clean = _clean(item)
        if clean:
            interests = _add_unique(interests, clean)
    for item in draft.goals:
        clean = _clean(item)
        if clean:
            goals = _add_unique(goals, clean)
    preferences = dict(profile.preferences)
    for key, value in draft.preferences.items():
        k, v = _clean(key, 100), _clean(value)
        if k and v and (k in preferences or len(preferences) < MAX_PREFERENCES):
            preferences[k] = v
    return replace(
        profile,
        name=profile.name or _clean(draft.name, 100),
        language=profile.language or _clean(draft.language, 35),
        interests=interests,
        goals=goals,
        preferences=preferences,
        notes=_clean(draft.notes, MAX_NOTES) or profile.notes,
    )
