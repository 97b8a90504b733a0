"""Extractors for what the user prefers: favourites, likes and dislikes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from companion.adapters.local.extraction.values import (
    ADVERBS,
    PRONOUNS,
    STOP_THING,
    STOP_VALUE,
    Hit,
    hit,
    is_chatter,
    negated,
    phrase,
)
from companion.domain.keys import (
    dislikes_key,
    favourite_key,
    likes_key,
    normalise_thing,
    strip_articles,
)
from companion.domain.models import MemoryCandidate, MemoryCategory

__all__ = ["dislikes", "favourites", "likes"]

_I = re.IGNORECASE

# --- favourites ---------------------------------------------------------------------------

_FAVOURITE_WORD = r"(?:(?:very|absolute|all[- ]time|most)\s+)?(?:favou?rite|fave|fav)"
_FAVOURITE = re.compile(
    rf"\bmy\s+{_FAVOURITE_WORD}\s+(?P<thing>[^\W\d_]+(?:\s+[^\W\d_]+){{0,3}}?)\s+"
    r"(?:is|are|would\s+be|has\s+to\s+be)\s+",
    _I,
)
_FAVOURITE_LAST = re.compile(  # "Green is my favourite colour"
    rf"^(?P<v>[^,]+?)\s+(?:is|are)\s+my\s+{_FAVOURITE_WORD}\s+"
    r"(?P<thing>[^\W\d_]+(?:\s+[^\W\d_]+)?)\s*$",
    _I,
)


def _favourite(thing: str, value: str) -> MemoryCandidate | None:
    canonical = normalise_thing(thing)
    if not value or not canonical or value.lower() in PRONOUNS:
        return None
    text = f"Favourite {canonical} is {value}"
    return MemoryCandidate(MemoryCategory.PREFERENCE, text, 5, favourite_key(thing), value)


def favourites(clause: str) -> Iterator[Hit]:
    """ "My favourite colour is green" and "Green is my favourite colour"."""
    for found in _FAVOURITE.finditer(clause):
        value, end = phrase(clause, found.end(), STOP_VALUE, 6)
        candidate = _favourite(found["thing"], value)
        if candidate and not negated(clause, found.end()):
            yield hit(found.start(), end, candidate)
    last = _FAVOURITE_LAST.match(clause)
    if last and len(last["v"].split()) <= 6 and not negated(clause, last.end("v")):
        candidate = _favourite(last["thing"], last["v"].strip())
        if candidate:
            yield hit(0, len(clause), candidate)


# --- likes and dislikes -------------------------------------------------------------------

_DISLIKES = re.compile(
    rf"\bI\s+{ADVERBS}(?P<verb>don't\s+(?:really\s+)?(?:like|love|enjoy|care\s+for)|hate|"
    r"dislike|detest|loathe|despise|can't\s+stand|can't\s+bear|never\s+liked?)\s+|"
    r"\bI'm\s+not\s+(?P<fan>(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|into|keen\s+on|fond\s+of)\s+",
    _I,
)
_LIKES = re.compile(
    rf"\bI\s+{ADVERBS}(?P<verb>like|love|enjoy|adore|prefer)\s+|"
    r"\bI'm\s+(?:really\s+|also\s+|so\s+)?(?P<fan>into|(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|"
    r"fond\s+of|keen\s+on|passionate\s+about|obsessed\s+with|crazy\s+about)\s+",
    _I,
)
_LIST = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+", _I)
_PREFERENCE_LEADS = {
    **dict.fromkeys(("love", "adore", "passionate about", "obsessed with", "crazy about"), "Loves"),
    "enjoy": "Enjoys",
    **dict.fromkeys(("hate", "detest", "loathe", "despise"), "Hates"),
    **dict.fromkeys(("can't stand", "can't bear"), "Can't stand"),
}


def _preferences(clause: str, form: re.Pattern[str], liked: bool) -> Iterator[Hit]:
    for found in form.finditer(clause):
        if liked and negated(clause, found.start()):
            continue
        said, end = phrase(clause, found.end(), STOP_THING, 16)
        items = [item.strip() for item in _LIST.split(said) if item.strip()]
        # "I like hiking, swimming and reading" is three likes; a long phrase is one.
        if not 2 <= len(items) <= 6 or any(len(item.split()) > 4 for item in items):
            items = [said] if said else []
        how = " ".join((found["verb"] or found["fan"] or "").lower().split())
        lead = _PREFERENCE_LEADS.get(how, "Likes" if liked else "Doesn't like")
        candidates = []
        for item in items:
            shown = item[3:] if item.lower().startswith("to ") else item
            bare = strip_articles(item).lower()
            if not shown or is_chatter(bare) or bare.startswith(("your ", "you ")):
                continue
            key = likes_key(shown) if liked else dislikes_key(shown)
            text = f"{lead} {item}"
            candidates.append(MemoryCandidate(MemoryCategory.PREFERENCE, text, 5, key, shown))
        if candidates:
            yield hit(found.start(), end, *candidates)


def dislikes(clause: str) -> Iterator[Hit]:
    """ "I hate mushrooms", "I don't like olives", "I'm not a fan of jazz"."""
    return _preferences(clause, _DISLIKES, liked=False)


def likes(clause: str) -> Iterator[Hit]:
    """ "I love hiking", "I'm into chess", "I enjoy swimming and reading"."""
    return _preferences(clause, _LIKES, liked=True)
