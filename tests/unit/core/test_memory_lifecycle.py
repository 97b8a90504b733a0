"""Whatever a user says in whatever order, one current memory per slot, the last word
kept, the earlier words in its history, and forgotten things gone; exports keep history."""

from __future__ import annotations

import uuid
from datetime import timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.core.test_memory_service import make_kit

from companion.adapters.local.extraction import extract_candidates
from companion.domain.changes import Change
from companion.domain.text import normalize
from companion.inbound.cli.memory_records import dumps_jsonl, parse_jsonl

ADA = uuid.UUID(int=11)
BOB = uuid.UUID(int=12)
CITIES = ("Paris", "Berlin", "Lahore")
COLOURS = ("green", "blue")
DOGS = ("Rex", "Biscuit")

# (statement, how it changes the model: key -> current value)
_STATEMENTS = st.one_of(
    st.tuples(st.sampled_from(("I live in {}", "I moved to {}")), st.sampled_from(CITIES)),
    st.tuples(st.just("My favourite colour is {}"), st.sampled_from(COLOURS)),
    st.tuples(st.just("I have a dog called {}"), st.sampled_from(DOGS)),
    st.tuples(st.just("Forget that I live in {}"), st.sampled_from(CITIES)),
    st.tuples(st.just("Please forget my dog's name{}"), st.just("")),
)


def _expect(model: dict[str, str], form: str, word: str) -> None:
    if form.startswith("Forget that I live"):
        if model.get("location.home") == word:
            del model["location.home"]
    elif form.startswith("Please forget my dog"):
        for key in [k for k in model if k.startswith("pet.dog.")]:
            del model[key]
    elif "live" in form or "moved" in form:
        model["location.home"] = word
    elif "colour" in form:
        model["favourite.colour"] = word
    else:
        model[f"pet.dog.{word.lower()}"] = word


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_STATEMENTS, max_size=20))
async def test_any_sequence_of_statements_keeps_one_current_memory_per_slot(
    said: list[tuple[str, str]],
) -> None:
    kit = make_kit()
    model: dict[str, str] = {}
    for form, word in said:
        kit.clock.advance(timedelta(minutes=5))
        await kit.memories.remember(ADA, extract_candidates(form.format(word)))
        _expect(model, form, word)

    stored = await kit.store.list(ADA)
    keys = [m.key for m in stored]
    assert len(keys) == len(set(keys))
    texts = [normalize(m.text) for m in stored]
    assert len(texts) == len(set(texts))
    assert {m.key: m.value for m in stored} == model
    for memory in stored:
        # History is a gap-free timeline ending where the current value began.
        starts = [memory.created_at, *(h.valid_to for h in memory.history)]
        assert [h.valid_from for h in memory.history] == starts[:-1]
        assert memory.valid_from == (memory.history[-1].valid_to if memory.history else None)
        # A repeat is never history: each value differs from the one that replaced it.
        values = [*(h.value for h in memory.history), memory.value]
        assert all(old != new for old, new in pairwise(values))


async def test_forgetting_reports_what_was_deleted() -> None:
    kit = make_kit()
    await kit.memories.remember(ADA, extract_candidates("I have a dog called Rex"))
    await kit.memories.remember(ADA, extract_candidates("I have a dog called Biscuit"))
    results = await kit.memories.remember(ADA, extract_candidates("Please forget my dog's name"))
    assert sorted((r.change, r.memory.value) for r in results) == [
        (Change.DELETED, "Biscuit"),
        (Change.DELETED, "Rex"),
    ]
    assert await kit.memories.remember(ADA, extract_candidates("Forget my dog's name")) == []


async def test_export_then_import_keeps_history() -> None:
    kit = make_kit()
    await kit.memories.remember(ADA, extract_candidates("I live in Paris"))
    kit.clock.advance(timedelta(days=3))
    await kit.memories.remember(ADA, extract_candidates("I moved to Berlin"))
    (home,) = await kit.memories.list(ADA)
    assert [h.value for h in home.history] == ["Paris"]

    exported = dumps_jsonl(await kit.memories.list(ADA))
    elsewhere = make_kit()
    (restored,) = parse_jsonl(exported.splitlines(), target_user=BOB)
    report = await elsewhere.memories.import_memories(BOB, [restored])
    assert report.added == 1
    (imported,) = await elsewhere.memories.list(BOB)
    assert (imported.value, imported.history, imported.valid_from) == (
        "Berlin",
        home.history,
        home.valid_from,
    )
    # Importing it again into the same user is still a no-op.
    again = await kit.memories.import_memories(
        ADA, parse_jsonl(exported.splitlines(), target_user=ADA)
    )
    assert (again.added, again.updated, again.skipped) == (0, 0, 1)
