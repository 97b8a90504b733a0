"""A model's draft of the profile only adds to it, within bounds."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import T0

from companion.domain.models import ProfileDraft, UserProfile
from companion.domain.profiles import MAX_ITEM, MAX_LIST, merge_draft

PROFILE = UserProfile(
    user_id=uuid.UUID(int=5),
    created_at=T0,
    updated_at=T0,
    name="Ada",
    interests=("chai",),
    goals=("run a marathon",),
    preferences={"favourite.colour": "green"},
    language="ur",
)

texts = st.text(max_size=300)
drafts = st.builds(
    ProfileDraft,
    name=st.none() | texts,
    interests=st.lists(texts, max_size=80).map(tuple),
    goals=st.lists(texts, max_size=80).map(tuple),
    preferences=st.dictionaries(texts, texts, max_size=20),
    language=st.none() | texts,
    notes=st.none() | st.text(max_size=1500),
)


@given(drafts)
def test_a_draft_never_takes_anything_away_and_stays_bounded(draft: ProfileDraft) -> None:
    merged = merge_draft(PROFILE, draft)
    assert merged.name == "Ada" and merged.language == "ur"  # set by the user's own words
    assert len(merged.interests) <= MAX_LIST and len(merged.goals) <= MAX_LIST
    assert all(0 < len(i) <= MAX_ITEM for i in (*merged.interests, *merged.goals))
    folded = [i.casefold() for i in merged.interests]
    assert len(folded) == len(set(folded))
    assert set(PROFILE.preferences) <= set(merged.preferences)
    if len(draft.interests) + 1 <= MAX_LIST:
        assert "chai" in merged.interests


def test_a_draft_fills_in_what_is_unknown_and_describes_the_user() -> None:
    empty = UserProfile(user_id=PROFILE.user_id, created_at=T0, updated_at=T0)
    merged = merge_draft(
        empty,
        ProfileDraft(
            name="Ada",
            language="ur",
            interests=("Urdu poetry", "  ", "x" * (MAX_ITEM + 1)),
            goals=("learn the oud",),
            preferences={"favourite.food": "biryani"},
            notes="A nurse in Lahore who loves poetry.",
        ),
    )
    assert (merged.name, merged.language) == ("Ada", "ur")
    assert merged.interests == ("Urdu poetry",)
    assert merged.goals == ("learn the oud",)
    assert dict(merged.preferences) == {"favourite.food": "biryani"}
    assert merged.notes == "A nurse in Lahore who loves poetry."
