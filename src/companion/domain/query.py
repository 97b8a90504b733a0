"""Query expansion, participant-name handling and a query's focus: pure text rules."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from companion.domain.answer_type import AnswerType, answer_type, is_question
from companion.domain.temporal import TimeWindow, time_window
from companion.domain.text import STOP_WORDS, tokenize

_MAX_TERMS = 16
_MAX_PHRASES = 8


@dataclass(frozen=True, slots=True)
class ExpandedQuery:
    """What lexical search looks for: single words, and adjacent word pairs as phrases."""

    terms: tuple[str, ...]
    phrases: tuple[str, ...]


def _words(text: str) -> list[str]:
    # "Caroline's" is "caroline" to a search: FTS5 splits at the apostrophe, and the
    # possessive adds nothing to what the question is about.
    return [t.removesuffix("'s") for t in tokenize(text)]


def expand_query(
    text: str, *, phrases: bool = True, participants: Sequence[str] = ()
) -> ExpandedQuery:
    """Terms (stop words out, each once) and the phrases made by adjacent content words.

    A phrase rewards memories where the words stand together ("support group"), which
    single terms cannot tell from memories that merely contain both words somewhere.
    The participants' names are not search terms: they say who, not what, and in a store
    shared by many users their rarity would make them outweigh what was asked about.
    Stemming is the store's job (FTS5's Porter stemmer, or the in-memory index's).
    """
    ignored = STOP_WORDS | {w for name in participants for w in _words(name)}
    words = _words(text)
    terms = list(dict.fromkeys(w for w in words if w and w not in ignored))[:_MAX_TERMS]
    pairs: list[str] = []
    if phrases:
        for first, second in itertools.pairwise(words):
            if first in ignored or second in ignored or not first or not second:
                continue
            pair = f"{first} {second}"
            if pair not in pairs:
                pairs.append(pair)
    return ExpandedQuery(terms=tuple(terms), phrases=tuple(pairs[:_MAX_PHRASES]))


def mask_names(text: str, names: Sequence[str]) -> str:
    """``text`` with the conversation participants' names replaced by "they"/"their".

    Every memory of a conversation is about its participants, so their names say nothing
    about what a memory is about; left in, they dominate a small embedding model's
    vectors (measured on LoCoMo: dense recall@10 rises by about five points).
    """
    pattern = _name_pattern(names, r"(['’]s)?")
    if pattern is None:
        return text
    return pattern.sub(lambda m: "their" if m.group(2) else "they", text)


def _name_pattern(names: Sequence[str], suffix: str = "") -> re.Pattern[str] | None:
    """Any of ``names`` as a whole word, case-insensitive, longest first (None: no names)."""
    usable = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    if not usable:
        return None
    alternatives = "|".join(re.escape(n) for n in usable)
    return re.compile(r"\b(" + alternatives + r")" + suffix + r"\b", re.IGNORECASE)


def named_participants(text: str, participants: Sequence[str]) -> tuple[str, ...]:
    """The participants ``text`` names, when it names some of them but not all.

    "What did Caroline paint?" is about Caroline's memories more than Melanie's; a
    question naming every participant (or none) singles nobody out, so it gets ``()``.
    """
    pattern = _name_pattern(participants)
    if pattern is None:
        return ()
    everyone = {n.strip().casefold() for n in participants if n and n.strip()}
    named = {m.group(1).casefold() for m in pattern.finditer(text)}
    if not named or named >= everyone:
        return ()
    return tuple(sorted(n for n in everyone if n in named))


@dataclass(frozen=True, slots=True)
class QueryFocus:
    """What a query singles out beyond its words: a stretch of time, people, an answer.

    Memories said inside ``window``, memories naming one of ``names`` (casefolded), and
    memories holding the kind of thing ``answer`` asks for (a time, a number, a place)
    gain in the ranking (see ``scoring.rank``).
    """

    window: TimeWindow | None = None
    names: tuple[str, ...] = ()
    answer: AnswerType | None = None

    def names_pattern(self) -> re.Pattern[str] | None:
        """A case-insensitive whole-word pattern for ``names`` (None without names)."""
        return _name_pattern(self.names)


def focus_of(
    text: str, *, now: datetime, participants: Sequence[str] = (), slack_days: float = 3.0
) -> QueryFocus:
    """The focus of a query: its time window, the participants it singles out, and the
    kind of answer it wants.

    A date counts only in a question ("What did I do in June?"): in a statement ("I'm off
    to Paris in June") it is when the new thing happens, not when the memories it
    should recall were said.
    """
    return QueryFocus(
        window=time_window(text, now, slack_days=slack_days) if is_question(text) else None,
        names=named_participants(text, participants),
        answer=answer_type(text),
    )
