"""Temporal words in a query: which stretch of time it asks about."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.domain.errors import InvalidInput
from companion.domain.models import Memory, MemoryCategory
from companion.domain.temporal import MAX_SLACK_DAYS, TimeWindow, said_within, time_window

NOW = datetime(2026, 6, 10, 15, 30, tzinfo=UTC)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("What movie did Joanna watch on 1 May, 2022?", day(2022, 5, 1), day(2022, 5, 2)),
        ("What did he get accepted for on May 23, 2023?", day(2023, 5, 23), day(2023, 5, 24)),
        ("What happened on the 3rd of March 2024?", day(2024, 3, 3), day(2024, 3, 4)),
        ("Anything on Sept 9th, 2025?", day(2025, 9, 9), day(2025, 9, 10)),
        ("What did Maria donate in December 2023?", day(2023, 12, 1), day(2024, 1, 1)),
        ("Which performances did John achieve in 2023?", day(2023, 1, 1), day(2024, 1, 1)),
        ("When did she go camping in July?", day(2025, 7, 1), day(2025, 8, 1)),
        ("When did she go camping in June?", day(2026, 6, 1), day(2026, 7, 1)),
        ("What did she start in February?", day(2026, 2, 1), day(2026, 3, 1)),
        ("on 31 February, 2023", day(2023, 2, 1), day(2023, 3, 1)),  # the month still holds
        ("When did she go camping in May?", day(2026, 5, 1), day(2026, 6, 1)),
        ("What did I tell you yesterday?", day(2026, 6, 9), day(2026, 6, 10)),
        ("what did we talk about today", day(2026, 6, 10), day(2026, 6, 11)),
        ("What did I say last week?", day(2026, 5, 27), day(2026, 6, 4)),
        ("and this week?", day(2026, 6, 3), day(2026, 6, 11)),
        ("What happened last month?", day(2026, 5, 1), day(2026, 6, 1)),
        ("What did I do last year?", day(2025, 1, 1), day(2026, 1, 1)),
    ],
)
def test_dates_become_windows(text: str, start: datetime, end: datetime) -> None:
    assert time_window(text, NOW, slack_days=0) == TimeWindow(start, end)


def test_the_slack_widens_both_sides() -> None:
    window = time_window("on 1 May, 2022", NOW, slack_days=3)
    assert window == TimeWindow(day(2022, 4, 28), day(2022, 5, 5))


def test_the_most_specific_date_wins() -> None:
    text = "What was his writing issue last week, as mentioned on November 6, 2023?"
    assert time_window(text, NOW, slack_days=0) == TimeWindow(day(2023, 11, 6), day(2023, 11, 7))


@pytest.mark.parametrize(
    "text",
    [
        "What does she like to paint?",
        "It may be late",  # "may" the verb
        "what we may do in march",  # a month on its own must be written as a name
        "We met at 2023 Main Street",  # a year needs "in"/"during"/... before it
        "",
    ],
)
def test_no_date_no_window(text: str) -> None:
    assert time_window(text, NOW) is None


def test_a_month_on_its_own_needs_its_capital() -> None:
    # "in May" is the month; "in may" and "in march" are more often a verb.
    assert time_window("in May", NOW, slack_days=0) == TimeWindow(day(2026, 5, 1), day(2026, 6, 1))
    assert time_window("in may", NOW) is None
    assert time_window("in may 2024", NOW, slack_days=0) == TimeWindow(
        day(2024, 5, 1), day(2024, 6, 1)
    )


def test_bad_arguments() -> None:
    with pytest.raises(InvalidInput):
        time_window("in 2023", datetime(2026, 1, 1))  # naive
    with pytest.raises(InvalidInput):
        time_window("in 2023", NOW, slack_days=-1)
    with pytest.raises(InvalidInput):
        time_window("in 2023", NOW, slack_days=MAX_SLACK_DAYS + 1)
    with pytest.raises(InvalidInput):
        TimeWindow(day(2024, 1, 2), day(2024, 1, 1))


aware_now = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@given(st.text(max_size=200), aware_now, st.floats(0, MAX_SLACK_DAYS))
def test_any_text_gives_a_window_or_none(text: str, now: datetime, slack: float) -> None:
    window = time_window(text, now, slack_days=slack)
    assert window is None or window.start < window.end


FORMATS = ("{d} {B}, {Y}", "{B} {d}, {Y}", "{d} {b} {Y}", "{B} {d} {Y}", "{d}th of {B} {Y}")


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)),
    st.sampled_from(FORMATS),
    st.floats(0, 30),
)
def test_a_named_day_is_inside_its_window(when: date, form: str, slack: float) -> None:
    text = "what happened on " + form.format(
        d=when.day, B=when.strftime("%B"), b=when.strftime("%b"), Y=when.year
    )
    window = time_window(text, NOW, slack_days=slack)
    assert window is not None
    noon = datetime(when.year, when.month, when.day, 12, tzinfo=UTC)
    assert window.contains(noon)
    assert window.end - window.start <= timedelta(days=1 + 2 * slack) + timedelta(seconds=1)


def memory(
    created: datetime, updated: datetime | None = None, valid_from: datetime | None = None
) -> Memory:
    return Memory(
        id=uuid.uuid4(),
        user_id=uuid.UUID(int=1),
        category=MemoryCategory.EVENT,
        text="Started aerial yoga",
        importance=5,
        created_at=created,
        updated_at=updated or created,
        valid_from=valid_from,
    )


def test_said_within_reads_when_learnt_changed_or_true() -> None:
    december = TimeWindow(day(2023, 12, 1), day(2024, 1, 1))
    assert said_within(memory(day(2023, 12, 17)), december)
    assert not said_within(memory(day(2023, 11, 17)), december)
    assert said_within(memory(day(2023, 11, 17), updated=day(2023, 12, 2)), december)
    assert said_within(memory(day(2024, 2, 1), valid_from=day(2023, 12, 24)), december)
