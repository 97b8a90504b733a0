"""Requests to forget: "Forget that I live in Paris", "please forget my dog's name".

A clause that starts with "forget" (after "please", "just" ...) names what to forget.
When the rest is a statement the other extractors read ("I live in Paris"), the request
is for that statement's key; otherwise the rest may name a whole slot or family of
slots ("my dog's name" -> every ``pet.dog.*``, "my sister" -> every
``family.sister.*``). Only a clause that *starts* that way is a request: "don't forget
that ..." and "I forget where ..." are not, and questions never reach here.
"""

from __future__ import annotations

import re
from dataclasses import replace

from companion.domain.keys import (
    KEY_AGE,
    KEY_EMPLOYER,
    KEY_HOME,
    KEY_NAME,
    KEY_ORIGIN,
    KEY_ROLE,
    RELATION_WORDS,
    SPECIES_WORDS,
    canonical_relation,
    canonical_species,
    favourite_key,
    slugify,
)
from companion.domain.models import MemoryCandidate, MemoryCategory

__all__ = ["as_forget", "forget_request", "forgotten_slots"]

_I = re.IGNORECASE
_REQUEST = re.compile(
    r"^(?:(?:please|just|now|and|so|ok(?:ay)?)\s+)*(?:forget|disregard)\s+"
    r"(?:(?:about|that|the\s+fact\s+that)\s+)*(?P<rest>\S.*?)[\s.!]*$",
    _I,
)
_WORD = r"(?P<w>[^\W\d_]+(?:\s+pigs?)?)"
_KIN = re.compile(
    rf"^(?:my|our)\s+(?:[a-z]+\s+)?{_WORD}(?:'s|s'|')?(?:\s+names?)?$",
    _I,
)
_FAVOURITE = re.compile(r"^(?:my|our)\s+(?:favou?rite|fave|fav)\s+(?P<thing>.+?)$", _I)
_SLOTS = tuple(
    (re.compile(pattern, _I), keys, category)
    for pattern, keys, category in (
        (r"^my\s+(?:full\s+|first\s+)?name$|^what\s+I'm\s+called$", (KEY_NAME,), "personal"),
        (r"^my\s+age$|^how\s+old\s+I\s+am$", (KEY_AGE,), "personal"),
        (
            r"^(?:where\s+I\s+live|my\s+(?:address|home|location|city))$",
            (KEY_HOME,),
            "personal",
        ),
        (r"^where\s+I(?:'m|\s+come)\s+from$", (KEY_ORIGIN,), "personal"),
        (
            r"^(?:where\s+I\s+work|my\s+(?:job|work|employer|workplace))$",
            (KEY_EMPLOYER, KEY_ROLE),
            "personal",
        ),
    )
)


def forget_request(clause: str) -> str | None:
    """What a clause asks to forget ("I live in Paris"), or ``None`` if it asks nothing."""
    found = _REQUEST.match(clause)
    return found["rest"] if found else None


def as_forget(candidate: MemoryCandidate) -> MemoryCandidate:
    """The request to forget what ``candidate`` states (its key and value)."""
    return replace(candidate, forget=True)


def forgotten_slots(rest: str) -> list[MemoryCandidate]:
    """Requests to forget the slots ``rest`` names without stating a value ("my sister")."""
    words = " ".join(rest.split())
    for pattern, keys, category in _SLOTS:
        if pattern.match(words):
            return [_request(words, key, MemoryCategory(category)) for key in keys]
    favourite = _FAVOURITE.match(words)
    if favourite:
        return [_request(words, favourite_key(favourite["thing"]), MemoryCategory.PREFERENCE)]
    kin = _KIN.match(words)
    if kin is None:
        return []
    word = kin["w"].casefold()
    if word in SPECIES_WORDS and (species := canonical_species(word)):
        return [_request(words, f"pet.{slugify(species)}.", MemoryCategory.RELATIONSHIP)]
    if word in RELATION_WORDS and (relation := canonical_relation(word)):
        family = "friend." if relation == "friend" else f"family.{slugify(relation)}."
        return [_request(words, family, MemoryCategory.RELATIONSHIP)]
    return []


def _request(text: str, key: str, category: MemoryCategory) -> MemoryCandidate:
    return MemoryCandidate(category, f"Forget {text}", 5, key, None, forget=True)
