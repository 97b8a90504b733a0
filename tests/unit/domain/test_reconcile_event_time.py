"""Event time: a statement worked late never overrides one said after it, and takes its
place in the history; the timeline is the same whatever order statements are worked in."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import T0, make_memory

from companion.domain.models import Memory, MemoryCandidate, MemoryCategory, MemoryRevision
from companion.domain.reconcile import Action, reconcile

ADA = uuid.UUID(int=1)
DAY = timedelta(days=1)
CITIES = ["Paris", "Berlin", "Rome", "Oslo"]


def said(value: str, *, forget: bool = False, value_named: bool = True) -> MemoryCandidate:
    return MemoryCandidate(
        MemoryCategory.PERSONAL,
        f"Lives in {value}",
        8,
        "location.home",
        value if value_named else None,
        forget,
    )


def work(statements: list[tuple[datetime, str]]) -> Memory:
    """The memory after working ``statements`` in the order given."""
    memory: Memory | None = None
    for at, city in statements:
        if memory is None:
            memory = make_memory(ADA, f"Lives in {city}", key="location.home", value=city, at=at)
            continue
        decision = reconcile(said(city), memory, now=at)
        if decision.action in (Action.UPDATE, Action.RESTATE) and decision.memory is not None:
            memory = decision.memory
    assert memory is not None
    return memory


def timeline(memory: Memory) -> list[tuple[str | None, datetime, datetime | None]]:
    past = [(h.value, h.valid_from, h.valid_to) for h in memory.history]
    return [*past, (memory.value, memory.valid_from or memory.created_at, None)]


def expected(statements: list[tuple[datetime, str]]) -> list[tuple[str, datetime, datetime | None]]:
    """The timeline of the statements in the order they were said: each value holds from
    when it was said until the next different one."""
    runs: list[tuple[str, datetime]] = []
    for at, city in sorted(statements):
        if not runs or runs[-1][0] != city:
            runs.append((city, at))
    ends: list[datetime | None] = [start for _, start in runs[1:]]
    return [(city, start, end) for (city, start), end in zip(runs, [*ends, None], strict=True)]


statements = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10_000), st.sampled_from(CITIES)),
    min_size=1,
    max_size=8,
    unique_by=lambda s: s[0],  # two statements of one slot in the same minute: no order
).map(lambda items: [(T0 + timedelta(minutes=m), city) for m, city in items])


@given(statements, st.randoms(use_true_random=False))
def test_any_working_order_keeps_the_last_said_current_and_the_history_in_order(
    said_: list[tuple[datetime, str]], rng: object
) -> None:
    shuffled = list(said_)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    memory = work(shuffled)
    assert memory.value == max(said_)[1]  # the last said is current
    spans = timeline(memory)
    assert spans[0][1] == min(said_)[0]  # it is known from the first time it was said
    for (_, start, end), (_, next_start, _) in itertools.pairwise(spans):
        assert end is not None and start < end == next_start  # ordered, none overlapping
    starts = {at: city for at, city in said_}
    assert all(starts.get(start) == city for city, start, _ in spans)  # each said then


@given(
    statements.filter(lambda s: len({city for _, city in s}) == len(s)),
    st.randoms(use_true_random=False),
)
def test_without_repeats_any_working_order_gives_the_timeline_of_the_order_said(
    said_: list[tuple[datetime, str]], rng: object
) -> None:
    shuffled = list(said_)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert timeline(work(shuffled)) == expected(said_)


def test_a_late_turn_never_overrides_a_fact_said_after_it() -> None:
    berlin = work([(T0 + DAY, "Berlin")])
    decision = reconcile(said("Paris"), berlin, now=T0)  # said the day before, worked now
    assert decision.action is Action.UPDATE and decision.memory is not None
    assert decision.memory.value == "Berlin"
    assert decision.memory.history == (MemoryRevision("Lives in Paris", "Paris", T0, T0 + DAY),)


def test_a_late_request_to_forget_never_forgets_what_was_said_after_it() -> None:
    berlin = work([(T0, "Paris"), (T0 + 2 * DAY, "Berlin")])
    forget_where = said("Paris", forget=True, value_named=False)  # "forget where I live"
    assert reconcile(forget_where, berlin, now=T0 + DAY).action is Action.NOOP
    assert reconcile(forget_where, berlin, now=T0 + 3 * DAY).action is Action.DELETE
