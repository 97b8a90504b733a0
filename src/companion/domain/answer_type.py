"""What kind of answer a question wants, and whether a memory could hold one.

"When did I start yoga?" is answered by a memory that says when ("started aerial yoga
last week"), "How many dogs does she have?" by one with a number, "Where did he move?"
by one naming a place. Matching a question's answer type to the memories' content is an
old question-answering retrieval rule; here it is a small bonus in the ranking (see
``scoring.rank``), never a filter.
"""

from __future__ import annotations

import enum
import functools
import re
import string

__all__ = ["AnswerType", "answer_type", "is_question", "may_answer"]


class AnswerType(enum.Enum):
    TIME = "time"
    NUMBER = "number"
    PLACE = "place"


# Fillers a spoken question may start with ("so, when did ...", "remind me where ...").
_LEAD = (
    r"^\W*(?:(?:so|and|but|hey|hi|ok|okay|well|um|please|remind me|tell me"
    r"|do you (?:know|remember))\W+)*"
)
# A question or a request to recall: what retrieval's focus applies to. "I'm going to
# Paris in June" names a month, but not as the time of the memories it wants.
_ASKING = re.compile(
    _LEAD + r"(?:what|when|since when|where|which|who|whom|whose|why|how|did|do|does|was|were"
    r"|is|are|am|have|has|had|can|could|would|will|remind me|tell me|recall)\b",
    re.IGNORECASE,
)
_QUESTIONS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    (
        AnswerType.TIME,
        re.compile(
            _LEAD + r"(?:when|since when|how long|what (?:year|month|day|date|time|week))\b",
            re.IGNORECASE,
        ),
    ),
    (AnswerType.NUMBER, re.compile(_LEAD + r"how (?:many|much|old|often)\b", re.IGNORECASE)),
    (
        AnswerType.PLACE,
        re.compile(
            _LEAD + r"(?:where|(?:what|which) (?:countr(?:y|ies)|cit(?:y|ies)|states?|places?"
            r"|towns?|parks?|restaurants?|shops?|stores?))\b",
            re.IGNORECASE,
        ),
    ),
)

# Words that say when or how many/often, matched as a set of lower-cased words: one
# pass over a memory (~3 us), where a many-way alternation tried at every position
# costs ~15 us.
_TIME_WORDS = frozenset(
    "yesterday today tonight tomorrow ago recently lately last next weekend weekends week"
    " weeks month months year years since january february march april june july august"
    " september october november december monday tuesday wednesday thursday friday"
    " saturday sunday".split()
)
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve twenty thirty forty"
    " fifty hundred thousand million dozen dozens couple few several once twice daily"
    " weekly monthly yearly every".split()
)
# Punctuation to spaces, so that split() gives the words: C-speed, unlike a regex.
_SPACES = str.maketrans({c: " " for c in string.punctuation})
_MAY = re.compile(r"\bMay\b")  # the month, not the verb
_DIGIT = re.compile(r"\d")
# A preposition of place before a capitalised name: "in Tampa", "to the Smoky Mountains".
_PLACE = re.compile(
    r"\b(?:[Ii]n|[Aa]t|[Tt]o|[Ff]rom|[Nn]ear|[Aa]round|[Vv]isit(?:ed|ing|s)?)\s+(?:the\s+)?[A-Z][a-z]+"
)


def is_question(text: str) -> bool:
    """Whether ``text`` asks something (a "?" at its end, or a question's first words)."""
    return text.rstrip().endswith("?") or _ASKING.match(text) is not None


def answer_type(question: str) -> AnswerType | None:
    """The kind of answer ``question`` asks for, or ``None`` (most questions)."""
    for kind, pattern in _QUESTIONS:
        if pattern.match(question):
            return kind
    return None


@functools.lru_cache(maxsize=4096)
def may_answer(text: str, kind: AnswerType) -> bool:
    """Whether ``text`` holds something of that kind: a time, a number, a place.

    Cached: the same memories come back as candidates question after question, and each
    check costs a few microseconds, times the ~100 candidates of a voice turn. The cache
    holds about the candidates of the users a worker serves now (40 voice turns' worth);
    at 32,768 texts a worker kept every memory of its last 10,000 users.
    """
    if kind is AnswerType.PLACE:
        return _PLACE.search(text) is not None
    if kind is AnswerType.NUMBER and _DIGIT.search(text):
        return True
    words = set(text.lower().translate(_SPACES).split())
    if kind is AnswerType.NUMBER:
        return not words.isdisjoint(_NUMBER_WORDS)
    return (
        not words.isdisjoint(_TIME_WORDS)
        or any(len(w) == 4 and w.isdigit() and w[:2] in ("19", "20") for w in words)
        or ("May" in text and _MAY.search(text) is not None)
    )
