"""Validators at the boundary, and the session write guard."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.errors import AccessDenied, InvalidInput, InvalidUserId
from companion.domain.models import MemoryCandidate, MemoryCategory, MemoryQuery
from companion.domain.validation import (
    MAX_MEMORY_TEXT,
    SessionScope,
    parse_user_id,
    positive_limit,
    resolve_user_ref,
    user_id_for_name,
    validate_candidate,
    validate_importance,
    validate_key,
    validate_memory_query,
)


@given(st.uuids())
def test_any_uuid_string_parses_to_itself(value: uuid.UUID) -> None:
    assert parse_user_id(str(value)) == value
    assert parse_user_id(str(value).upper()) == value
    assert resolve_user_ref(f"  {value}  ") == (value, None)


@given(st.text(max_size=60))
def test_anything_else_is_rejected_with_invalid_user_id(text: str) -> None:
    try:
        parsed = uuid.UUID(text.strip())
    except ValueError:
        with pytest.raises(InvalidUserId):
            parse_user_id(text)
    else:
        assert parse_user_id(text) == parsed


def test_names_map_to_stable_case_insensitive_uuids() -> None:
    ada = user_id_for_name("Ada")
    assert ada == user_id_for_name("  ada ") == user_id_for_name("ADA")
    assert ada != user_id_for_name("Ada Lovelace")
    # Stable across versions and machines: users' data depends on this value.
    assert str(ada) == str(uuid.uuid5(uuid.UUID("6f1c3d52-1f5e-4b7e-9a57-2f3c8a1d0b11"), "ada"))
    assert resolve_user_ref("ada") == (ada, "ada")


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "a" * 65, "ada;drop", "../etc", "x\ny", "12345678-1234-1234-1234-12345678zzzz"],
)
def test_bad_names_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidUserId):
        resolve_user_ref(bad)


@given(st.integers())
def test_importance_is_one_to_ten(value: int) -> None:
    if 1 <= value <= 10:
        assert validate_importance(value) == value
    else:
        with pytest.raises(InvalidInput):
            validate_importance(value)


@pytest.mark.parametrize("bad", [True, 5.0, "5", None])
def test_importance_must_be_an_int(bad: object) -> None:
    with pytest.raises(InvalidInput):
        validate_importance(bad)


@given(st.text(max_size=130))
def test_keys_are_dotted_slugs_or_rejected(key: str) -> None:
    try:
        assert validate_key(key) == key
    except InvalidInput:
        return
    assert key and key == key.lower() and " " not in key


def test_candidate_validation_limits_size_and_content() -> None:
    ok = validate_candidate(
        MemoryCandidate(MemoryCategory.FACT, "  Likes tea  ", 5, "likes.tea", "tea")
    )
    assert ok.text == "Likes tea"
    for bad in ("", "x" * (MAX_MEMORY_TEXT + 1), "nul\x00byte"):
        with pytest.raises(InvalidInput):
            validate_candidate(MemoryCandidate(MemoryCategory.FACT, bad))


@given(st.uuids(), st.one_of(st.uuids(), st.text(max_size=40)))
def test_write_guard_allows_only_the_sessions_user(own: uuid.UUID, other: object) -> None:
    scope = SessionScope(own)
    assert scope.can_write_for_current_user(own)
    assert scope.can_write_for_current_user(str(own))
    if other != own and str(other).strip().lower() != str(own):
        assert not scope.can_write_for_current_user(other)
        with pytest.raises(AccessDenied):
            scope.require(other)


@given(st.one_of(st.integers(), st.booleans(), st.floats(), st.text(max_size=3), st.none()))
def test_positive_limit_takes_integers_only(limit: object) -> None:
    if isinstance(limit, int) and not isinstance(limit, bool):
        assert positive_limit(limit) is (limit > 0)
    else:
        with pytest.raises(InvalidInput):
            positive_limit(limit)


_numbers = st.one_of(st.integers(-5, 5), st.booleans(), st.floats(-5, 5), st.none())


@given(limit=_numbers, expand=_numbers, neighbours=_numbers)
def test_a_memory_query_needs_integer_numbers(
    limit: object, expand: object, neighbours: object
) -> None:
    query = MemoryQuery(
        text="x",
        terms=(),
        embedding=None,
        limit=limit,  # type: ignore[arg-type]
        expand=expand,  # type: ignore[arg-type]
        neighbours=neighbours,  # type: ignore[arg-type]
    )

    def whole(value: object, low: int | None) -> bool:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return ok and (low is None or value >= low)  # type: ignore[operator]

    if whole(limit, None) and whole(expand, 0) and whole(neighbours, 0):
        assert validate_memory_query(query) is query
    else:
        with pytest.raises(InvalidInput):
            validate_memory_query(query)
    with pytest.raises(InvalidInput):
        validate_memory_query("chess")
