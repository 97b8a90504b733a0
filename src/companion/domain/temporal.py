"""Temporal words in a query: the stretch of time a question is about, as pure text rules.

"What did Maria donate in December 2023?", "What movie did Joanna watch on 1 May, 2022?",
"What did I tell you yesterday?": the answer was said (or became true) in a known
stretch of time, which neither BM25 nor a sentence embedding can see. Retrieval turns
the first date expression it recognises into a :class:`TimeWindow` and lets memories
from inside it gain (see ``scoring.rank``).

Recognised, most specific first: a day ("25 February, 2022", "May 23, 2023", "25 Feb
2022"), a month of a year ("December 2023"), relative words ("today", "yesterday",
"this/last week", "this/last month", "this/last year"), a year ("in 2023") and a bare
month ("in May", written as a name: its latest occurrence up to now, this month
included). Each window is widened by a slack of
days on both sides, because people tell of an event a few days after it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from companion.domain.errors import InvalidInput
from companion.domain.models import Memory

_MONTHS: dict[str, int] = {}
for _number in range(1, 13):
    _MONTHS[calendar.month_name[_number].lower()] = _number
    _MONTHS[calendar.month_abbr[_number].lower()] = _number
_MONTHS["sept"] = 9
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_YEAR = r"((?:19|20|21)\d\d)"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"

_DAY_MONTH_YEAR = re.compile(rf"\b{_DAY}\s+(?:of\s+)?({_MONTH})\b\.?,?\s+{_YEAR}\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\b\.?\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\b\.?,?\s+(?:of\s+)?{_YEAR}\b", re.IGNORECASE)
_RELATIVE = re.compile(r"\b(today|yesterday|(?:this|last)\s+(?:week|month|year))\b", re.IGNORECASE)
_IN_YEAR = re.compile(rf"\b(?:in|during|of|since|throughout)\s+{_YEAR}\b", re.IGNORECASE)
# A month on its own must be its full name, capitalised: "in may" and "in march" are
# more often verbs than months.
_IN_MONTH = re.compile(
    r"\b(?:in|during|of|since|throughout)\s+("
    + "|".join(calendar.month_name[n] for n in range(1, 13))
    + r")\b",
    re.IGNORECASE,
)
_FULL_MONTHS = frozenset(calendar.month_name[n] for n in range(1, 13))

MAX_SLACK_DAYS = 366.0


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A half-open stretch of time ``[start, end)``, both timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("a time window needs timezone-aware bounds")
        if self.end <= self.start:
            raise InvalidInput("a time window must end after it starts")

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end


def _day(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:  # "31 February": not a date, so not a window
        return None


def _month(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC)
        if month == 12
        else datetime(year, month + 1, 1, tzinfo=UTC)
    )
    return start, end


def _relative(phrase: str, now: datetime) -> tuple[datetime, datetime]:
    today = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)
    unit = phrase.split()[-1]
    if phrase == "today":
        return today, today + timedelta(days=1)
    if phrase == "yesterday":
        return today - timedelta(days=1), today
    if unit == "week":
        # A week back from today, or the week before that.
        back = 7 if phrase.startswith("this") else 14
        return today - timedelta(days=back), today - timedelta(days=back - 7) + timedelta(days=1)
    if unit == "month":
        if phrase.startswith("this"):
            return _month(now.year, now.month)
        year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
        return _month(year, month)
    year = now.year if phrase.startswith("this") else now.year - 1
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _span(text: str, now: datetime) -> tuple[datetime, datetime] | None:
    for found in _DAY_MONTH_YEAR.finditer(text):
        day = _day(int(found.group(3)), _MONTHS[found.group(2).lower()], int(found.group(1)))
        if day is not None:
            return day, day + timedelta(days=1)
    for found in _MONTH_DAY_YEAR.finditer(text):
        day = _day(int(found.group(3)), _MONTHS[found.group(1).lower()], int(found.group(2)))
        if day is not None:
            return day, day + timedelta(days=1)
    if month_year := _MONTH_YEAR.search(text):
        return _month(int(month_year.group(2)), _MONTHS[month_year.group(1).lower()])
    if relative := _RELATIVE.search(text):
        return _relative(" ".join(relative.group(1).lower().split()), now)
    if in_year := _IN_YEAR.search(text):
        year = int(in_year.group(1))
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    for in_month in _IN_MONTH.finditer(text):
        if in_month.group(1) in _FULL_MONTHS:
            month = _MONTHS[in_month.group(1).lower()]
            return _month(now.year if month <= now.month else now.year - 1, month)
    return None


def time_window(text: str, now: datetime, *, slack_days: float = 3.0) -> TimeWindow | None:
    """The stretch of time ``text`` asks about, widened by ``slack_days`` on each side.

    ``None`` when it names no date this module recognises. ``now`` (timezone-aware)
    anchors relative words and bare months. Never raises on any text.
    """
    if now.tzinfo is None:
        raise InvalidInput("now must be timezone-aware")
    if not 0 <= slack_days <= MAX_SLACK_DAYS:
        raise InvalidInput(f"slack_days must be between 0 and {MAX_SLACK_DAYS:g}")
    try:
        span = _span(text, now)
        if span is None:
            return None
        slack = timedelta(days=slack_days)
        return TimeWindow(span[0] - slack, span[1] + slack)
    except (ValueError, OverflowError):
        # Only at the edges of the calendar (a "now" in year 1 or 9999): no window.
        return None


def said_within(memory: Memory, window: TimeWindow) -> bool:
    """Whether the memory was learnt, last changed, or became true inside ``window``."""
    return any(
        when is not None and window.contains(when)
        for when in (memory.created_at, memory.updated_at, memory.valid_from)
    )
