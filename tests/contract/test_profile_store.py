"""The ProfileStore contract, run against every adapter."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from tests.conftest import T0

from companion.domain.errors import InvalidInput
from companion.domain.models import UserProfile
from companion.ports.profile_store import ProfileStore

ADA = uuid.UUID("00000000-0000-4000-8000-00000000000a")


def profile() -> UserProfile:
    return UserProfile(
        user_id=ADA,
        created_at=T0,
        updated_at=T0,
        name="Ada",
        display_name="Ada L.",
        interests=("hiking", "chess"),
        goals=("learn Spanish",),
        preferences={"favourite.colour": "green"},
        language="en",
        notes="Prefers short answers",
        last_seen_at=T0 + timedelta(hours=1),
    )


async def test_missing_profile_is_none(profile_store: ProfileStore) -> None:
    assert await profile_store.get(ADA) is None


async def test_saved_profile_reads_back(profile_store: ProfileStore) -> None:
    saved = profile()
    await profile_store.save(saved)
    got = await profile_store.get(ADA)
    assert got == saved
    assert got is not None and dict(got.preferences) == {"favourite.colour": "green"}


async def test_save_replaces(profile_store: ProfileStore) -> None:
    await profile_store.save(profile())
    changed = replace(profile(), name="Ada Lovelace", interests=(), preferences={})
    await profile_store.save(changed)
    got = await profile_store.get(ADA)
    assert got == changed
    assert got is not None and dict(got.preferences) == {}


async def test_delete(profile_store: ProfileStore) -> None:
    await profile_store.save(profile())
    assert await profile_store.delete(ADA) is True
    assert await profile_store.get(ADA) is None
    assert await profile_store.delete(ADA) is False


async def test_participants_round_trip_and_can_change(profile_store: ProfileStore) -> None:
    saved = replace(profile(), participants=("Caroline", "Melanie", "José"))
    await profile_store.save(saved)
    got = await profile_store.get(ADA)
    assert got == saved
    assert got is not None and got.participants == ("Caroline", "Melanie", "José")
    fewer = replace(saved, participants=("Melanie",), updated_at=T0 + timedelta(days=1))
    await profile_store.save(fewer)
    assert await profile_store.get(ADA) == fewer
    await profile_store.save(replace(fewer, participants=()))
    got = await profile_store.get(ADA)
    assert got is not None and got.participants == ()
    for bad in ("Melanie", ("Melanie", 7)):
        with pytest.raises(InvalidInput, match="participants"):
            await profile_store.save(replace(fewer, participants=bad))  # type: ignore[arg-type]
    assert await profile_store.get(ADA) == got
