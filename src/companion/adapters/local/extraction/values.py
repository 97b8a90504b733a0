"""Reading values out of a clause: where a phrase ends, whether it is negated, names.

Also the :class:`Hit` every extractor yields: the candidates it read and the stretch of
the clause they came from, so a stretch read by one extractor is not read again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from companion.domain.keys import RELATION_WORDS, SPECIES_WORDS, word_set
from companion.domain.models import MemoryCandidate

__all__ = [
    "ADVERBS",
    "DAY",
    "NOT_NAME",
    "PRONOUNS",
    "STOP_EMPLOYER",
    "STOP_PLACE",
    "STOP_ROLE",
    "STOP_THING",
    "STOP_VALUE",
    "WHEN",
    "Extractor",
    "Hit",
    "hit",
    "is_chatter",
    "negated",
    "phrase",
    "take_name",
    "take_names",
]

_I = re.IGNORECASE


@dataclass(frozen=True, slots=True)
class Hit:
    """Candidates read from one clause, and the characters they were read from."""

    start: int
    end: int
    candidates: tuple[MemoryCandidate, ...]


Extractor = Callable[[str], Iterator[Hit]]
"""Reads one clause and yields what it recognised, as hits."""


def hit(start: int, end: int, *candidates: MemoryCandidate) -> Hit:
    """A :class:`Hit` for ``candidates`` read from ``start`` to ``end``."""
    return Hit(start, end, candidates)


# --- where a value ends -------------------------------------------------------------------

_NEGATION = re.compile(r"\b(?:not|never|no\s+longer|nor)\b|n't\b", _I)
_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_PERIODS = (
    r"morning|afternoon|evening|night|weekend|week|month|year|summer|winter|spring|autumn|"
    r"fall|semester|term"
)
_NUMBER = r"a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|a\s+couple\s+of|\d+"
_WHEN_BODY = (
    r"(?:the\s+day\s+after\s+)?tomorrow(?:\s+(?:morning|afternoon|evening|night))?|"
    rf"tonight|later\s+today|today|this\s+(?:coming\s+)?(?:{_DAYS}|{_PERIODS})|"
    rf"next\s+(?:{_DAYS}|{_PERIODS})|on\s+(?:{_DAYS})|"
    rf"(?:in|within)\s+(?:{_NUMBER})\s+(?:days?|weeks?|months?|years?)|soon"
)
WHEN = re.compile(rf"\b(?:{_WHEN_BODY})\b", _I)
"""A time expression in the future: "tomorrow", "next week", "in two days"."""
DAY = re.compile(rf"\b(?:{_DAYS})\b")
"""A lower-case day name, to be capitalised."""
# Where a value ends. A "." inside a clause is an abbreviation, not an end.
_END = (
    r"[;!?(){}\[\]\"]|\s-\s|\s+(?:because|since|but|though|although|when|whenever|if|"
    r"unless|while|which|who|whom|where|whose|so\s+that|as\s+well|a\s+lot|so\s+much|"
    r"very\s+much|by\s+the\s+way|i\s+guess|i\s+think|right\s+now|these\s+days|"
    r"at\s+the\s+moment|nowadays|yesterday|ago|last\s+\w+|"
    rf"(?:{_NUMBER})\s+(?:years?|months?|weeks?|days?)|{_WHEN_BODY})\b"
)


def _stops(extra: str) -> re.Pattern[str]:
    return re.compile(_END + extra, _I)


STOP_PLACE = _stops(r"|,|\s+(?:with|for|now|currently|and|or|in\s+\d{4}|recently)\b")
STOP_EMPLOYER = _stops(r"|,|\s+(?:as|and|or|now|for\s+(?:the\s+)?(?:past|over|about))\b")
STOP_ROLE = _stops(r"|,|\s+(?:at|for|in|with|and|or|of|from|now)\b")
STOP_THING = _stops(r"|\s+(?:too|more\s+than|the\s+most|most\s+of\s+all|best|with\s+my)\b")
STOP_VALUE = _stops(r"|,")
_TRAILING = word_set(
    "too also now lol haha though then really btw please thanks anyway actually ok okay "
    "right yeah lately currently anymore"
)
PRONOUNS = word_set(
    "you it that this them him her me us everything nothing something anything everyone "
    "lots here there"
)
"""Words that stand for a value without being one: "I live there", "I love it"."""
# Adverbs between "I" and the verb: "I really do want to", "I also kind of like".
ADVERBS = (
    r"(?:(?:really|also|still|just|eventually|one\s+day|someday|so|truly|absolutely|"
    r"totally|kind\s+of|kinda|do)\s+)*"
)
_CHAT_VERBS = word_set(
    "know ask say tell talk chat speak check hear see test understand remember thank share "
    "mention add clarify confirm sleep"
)


def phrase(text: str, pos: int, stop: re.Pattern[str], max_words: int) -> tuple[str, int]:
    """The words at ``pos`` up to a stop word or punctuation, and where they end."""
    rest = text[pos:]
    found = stop.search(rest)
    chunk = rest[: found.start()] if found else rest
    words = chunk.split()[:max_words]
    while words and words[-1].lower().strip(".,!?'\"") in _TRAILING:
        words.pop()
    return " ".join(words).strip(" \"'.,!?:;-"), pos + len(chunk.rstrip())


def negated(clause: str, value_start: int) -> bool:
    """True when the clause says "not", "never" ... before ``value_start``."""
    return bool(_NEGATION.search(clause[:value_start]))


def is_chatter(value: str) -> bool:
    """True when a value is talk to the companion ("to ask you"), not a fact."""
    words = value.lower().split()
    return not words or words[0] in _CHAT_VERBS or words[0] in PRONOUNS


# --- names --------------------------------------------------------------------------------

_NAME_WORD = re.compile(r"\s*([^\W\d_][\w'-]*)")
_NEXT_NAME_WORD = re.compile(r"\.?\s+([^\W\d_][\w'-]*)")
_NAME_LIST = re.compile(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+|\s*&\s*", _I)
NOT_NAME = word_set(
    "a an the and or but so is was are am be called named name who which that this he she "
    "it they we you i me my your his her our their its from with in at on of for to too "
    "also very really just now here there today tomorrow tonight later back btw by thanks "
    "thank please lol haha yeah yes no not because since though if when while as like "
    "love loves likes has have had does do did will would can could should nice hi hello "
    "hey again right ok okay well actually anyway sometime maybe soon hai hoon hun \u06c1\u06d2 "
    "one two three four five six seven eight nine ten"
)
"""Words (case-folded) that are never part of a name."""
_TITLES = word_set("dr mr mrs ms prof st")
_PARTICLES = word_set("van von de da del der di du la le al el bin bint ibn")


def _capitalise(word: str, first: bool) -> str:
    if not word.islower() or (not first and word in _PARTICLES):
        return word
    return word[0].upper() + word[1:]


def take_name(text: str, pos: int) -> tuple[str, int, bool] | None:
    """A name of up to three words at ``pos``: (name, end, whether it was capitalised)."""
    words: list[str] = []
    end = pos
    found = _NAME_WORD.match(text, pos)
    while found and len(words) < 3:
        word = found.group(1)
        possessive = word.lower().endswith("'s")
        word = (word[:-2] if possessive else word).strip("'-")
        folded = word.casefold()
        if not word or folded in NOT_NAME or folded in SPECIES_WORDS or folded in RELATION_WORDS:
            break
        # "Ada here", "Ada loves": a lower-case word after a capitalised one is not
        # part of the name.
        if words and words[0][0].isupper() and word[0].islower() and word not in _PARTICLES:
            break
        if words and words[-1].casefold() in _TITLES and text[end : end + 1] == ".":
            words[-1] += "."
        words.append(word)
        end = found.end() - (2 if possessive else 0)
        found = None if possessive else _NEXT_NAME_WORD.match(text, end)
    if not words:
        return None
    name = " ".join(_capitalise(word, index == 0) for index, word in enumerate(words))
    return name, end, words[0][0].isupper()


def take_names(text: str, pos: int) -> tuple[list[tuple[str, bool]], int]:
    """Names listed at ``pos`` ("Tom and Jerry"), each with its capitalisation, and the end."""
    names: list[tuple[str, bool]] = []
    end = pos
    taken = take_name(text, pos)
    while taken:
        names.append((taken[0], taken[2]))
        end = taken[1]
        separator = _NAME_LIST.match(text, end)
        taken = take_name(text, separator.end()) if separator else None
        # "Biscuit and Two Cats called...": a list of names keeps the first one's case.
        if taken and taken[2] != names[0][1]:
            break
    return names, end
