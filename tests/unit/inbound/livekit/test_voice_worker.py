"""Who a LiveKit participant speaks for: a UUID, from their metadata or their identity."""

from __future__ import annotations

import json

import pytest
from tests.unit.inbound.livekit.world import ADA, EVE

from companion.domain.errors import InvalidUserId
from companion.inbound.livekit.worker import user_from_participant


def test_the_identity_names_the_user() -> None:
    assert user_from_participant(str(ADA), None) == ADA
    assert user_from_participant(f" {str(ADA).upper()} ", "") == ADA


def test_metadata_names_the_user_before_the_identity() -> None:
    metadata = json.dumps({"user_id": str(EVE), "plan": "free"})
    assert user_from_participant(str(ADA), metadata) == EVE


def test_metadata_without_a_user_id_falls_back_to_the_identity() -> None:
    assert user_from_participant(str(ADA), '{"plan": "free"}') == ADA
    assert user_from_participant(str(ADA), "not json") == ADA


@pytest.mark.parametrize(
    ("identity", "metadata"),
    [
        ("ada", None),  # a name is not an id: a room never picks a user by name
        ("", None),
        (str(ADA), json.dumps({"user_id": "not-a-uuid"})),  # a bad id is never skipped
        (str(ADA), json.dumps({"user_id": 42})),
    ],
)
def test_a_participant_without_a_valid_user_id_gets_no_session(
    identity: str, metadata: str | None
) -> None:
    with pytest.raises(InvalidUserId):
        user_from_participant(identity, metadata)
