"""The public API: ``from companion import ...``, as a library user calls it."""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import companion
from companion import (
    BlockingCompanion,
    Companion,
    InvalidInput,
    InvalidUserId,
    MemoryCategory,
    NotFound,
    load_settings,
)


def _settings(data_dir: Path) -> companion.Settings:
    return load_settings(companion={"data_dir": data_dir, "embedder": "hashing"})


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[Companion]:
    async with Companion.open(_settings(tmp_path)) as c:
        yield c


def test_every_public_name_is_exported_lazily_and_documented() -> None:
    assert sorted(set(companion.__all__) - {"__version__"}) == sorted(companion._WHERE)
    for name in companion.__all__:
        if name == "__version__":
            continue
        value = getattr(companion, name)
        assert inspect.getdoc(value), f"companion.{name} has no docstring"
        if inspect.isclass(value):
            for attr, member in vars(value).items():
                if not attr.startswith("_") and (callable(member) or isinstance(member, property)):
                    assert inspect.getdoc(member), f"companion.{name}.{attr} has no docstring"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        companion.Nope  # noqa: B018


async def test_remember_says_what_changed_and_keeps_the_history(opened: Companion) -> None:
    first = await opened.remember("ada", "I live in Paris.")
    assert [m.text for m in first.added] == ["Lives in Paris"] and not first.pending
    again = await opened.remember("ada", "I live in Paris.")
    assert [m.text for m in again.unchanged] == ["Lives in Paris"] and again.added == ()
    moved = await opened.remember("ada", "I live in Berlin now.")
    (home,) = moved.updated
    assert home.text == "Lives in Berlin" and [r.text for r in home.history] == ["Lives in Paris"]
    gone = await opened.remember("ada", "Forget that I live in Berlin.")
    assert [m.id for m in gone.forgotten] == [home.id]
    assert await opened.memories("ada") == []


async def test_a_name_and_its_uuid_are_one_user_and_other_users_see_nothing(
    opened: Companion,
) -> None:
    await opened.remember("Ada", "I have a dog called Biscuit.")
    uid = companion.user_id("ada")
    assert [m.text for m in await opened.memories(uid)] == ["Has a dog called Biscuit"]
    assert [m.text for m in await opened.memories(str(uid))] == ["Has a dog called Biscuit"]
    assert await opened.recall("bo", "what is my dog called?") == []
    hits = await opened.recall("ada", "what is my dog called?", limit=1)
    assert [h.memory.text for h in hits] == ["Has a dog called Biscuit"]
    assert 0 < hits[0].score <= 1 and hits[0].memory.created_at.tzinfo is not None
    with pytest.raises(NotFound):  # Ada's memory, asked for as Bo's
        await opened.forget("bo", hits[0].memory.id)
    assert len(await opened.memories("ada")) == 1
    forgotten = await opened.forget("ada", str(hits[0].memory.id))
    assert forgotten.text == "Has a dog called Biscuit"
    assert await opened.memories("ada") == []


async def test_a_conversation_is_greeted_answered_and_summarised(opened: Companion) -> None:
    async with opened.conversation("ada") as talk:
        assert "companion" in talk.greeting.lower()  # a new user's welcome
        await talk.reply("My name is Ada and my favourite colour is green.")
        answer = await talk.reply("What is my favourite colour?")
    assert "green" in answer
    assert "Ada" in await opened.greeting("ada")  # the next session's greeting
    assert (await opened.profile("ada")).name == "Ada"


async def test_work_another_process_holds_is_pending_and_not_lost(opened: Companion) -> None:
    uid = companion.user_id("ada")
    store = opened.container.gateways.conversation_store()
    assert await store.claim_user(uid, "elsewhere/boot:abc:1", 60, 10) == []
    told = await opened.remember("ada", "I live in Paris.")
    assert told.pending and told.changes == ()
    pending = await store.pending_turns(10, uid)
    assert [t.text for t in pending] == ["I live in Paris."]  # journalled, worked later


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    user=st.one_of(
        st.sampled_from(["", "   ", "00000000-0000-0000-0000-00000000000g", "{1234}", "x" * 65]),
        st.text(alphabet="\x00\x07<>{}", min_size=1),
        st.integers(),
        st.none(),
    ),
    limit=st.one_of(st.integers(max_value=0), st.integers(min_value=101), st.booleans()),
)
def test_bad_arguments_are_refused_and_write_nothing(
    tmp_path: Path, user: object, limit: object
) -> None:
    async def run() -> None:
        async with Companion.open(_settings(tmp_path)) as c:
            with pytest.raises(InvalidUserId):
                await c.remember(user, "I live in Paris.")  # type: ignore[arg-type]
            with pytest.raises(InvalidInput):
                await c.recall("ada", "where?", limit=limit)  # type: ignore[arg-type]
            with pytest.raises(InvalidInput):
                await c.remember("ada", "   ")
            with pytest.raises(InvalidInput):
                await c.memories("ada", category="nonsense")
            with pytest.raises(InvalidInput):
                await c.forget("ada", "not-a-uuid")
            assert await c.memories("ada") == []

    asyncio.run(run())


def test_the_blocking_twin_works_in_a_script(tmp_path: Path) -> None:
    with BlockingCompanion.open(_settings(tmp_path)) as c:
        told = c.remember("ada", "I love chai.")
        assert [m.text for m in told.added] == ["Loves chai"]
        assert [h.memory.text for h in c.recall("ada", "what do I love?")] == ["Loves chai"]
        with c.conversation("ada") as talk:
            assert talk.reply("What do I love?")
        assert c.greeting("ada").startswith("Welcome back")


async def test_the_blocking_twin_works_where_a_loop_is_running(tmp_path: Path) -> None:
    # A notebook cell: an event loop runs in this thread already.
    c = BlockingCompanion.open(_settings(tmp_path))
    try:
        assert c.memories(uuid.uuid4()) == []
    finally:
        c.close()
    c.close()  # twice is fine


async def test_a_closed_companion_refuses_work(tmp_path: Path) -> None:
    c = Companion.open(_settings(tmp_path))
    await c.aclose()
    await c.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await c.memories("ada")


def test_the_reference_page_covers_every_public_name_and_call() -> None:
    page = (Path(__file__).resolve().parents[4] / "docs" / "library.md").read_text()
    for name in companion.__all__:
        if name != "__version__":
            assert re.search(rf"\b{name}\b", page), f"docs/library.md lacks {name}"
    for cls in (Companion, BlockingCompanion):
        for attr in vars(cls):
            if not attr.startswith("_"):
                assert attr in page, f"docs/library.md lacks {cls.__name__}.{attr}"


async def test_the_turns_a_user_says_are_kept_at_consecutive_places_in_their_session(
    opened: Companion,
) -> None:
    # Retrieval brings in what was said just before and after a match (one place either
    # side): the companion's replies in between must not leave gaps in the places.
    said = ["I went hiking in the Alps.", "It rained the whole time.", "We still loved it."]
    async with opened.conversation("ada") as talk:
        for text in said:
            await talk.reply(text)
    kept = await opened.memories("ada", category=MemoryCategory.OBSERVATION)
    assert sorted((m.position, m.text) for m in kept) == list(enumerate(said))
    found = await opened.recall("ada", "hiking in the Alps", limit=3)
    assert {s.memory.text for s in found} >= set(said[:2])  # the match and its neighbour
