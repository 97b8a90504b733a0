"""Extractors for the user's pets and people: "I have a dog called Biscuit", "my wife Sarah".

Pets and relatives are introduced the same three ways ("my dog's name is ...", "I have a
dog called ...", "Biscuit is my dog"), so one reader serves both vocabularies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from companion.adapters.local.extraction.values import NOT_NAME, Hit, hit, negated, take_names
from companion.domain.keys import (
    RELATION_WORDS,
    SPECIES_WORDS,
    article,
    canonical_relation,
    canonical_species,
    family_key,
    pet_key,
    word_set,
)
from companion.domain.models import MemoryCandidate, MemoryCategory

__all__ = ["family", "pets"]

_I = re.IGNORECASE
_ADJ = (
    r"(?:older|younger|little|big|twin|eldest|oldest|youngest|elder|step|half|best|late|"
    r"lovely|beautiful|sweet|cute|new|old|young|pet|dear|lazy|fat|fluffy|black|white|brown|"
    r"ginger|grey|gray|tabby|two|three|rescue)\s+"
)
_COUNT = r"(?:(?:a|an|one|two|three|four|five|\d+)\s+)?"
_STRONG_LINK = re.compile(r"called|named|name", _I)
_WEAK_LINK_END = re.compile(r"\s*(?:$|[,.!]|and\b|who\b|by\s+the\s+way\b)", _I)
KinForms = tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]
KinBuilder = Callable[[str, str, bool], MemoryCandidate | None]


def _alternation(words: Iterable[str]) -> str:
    # Longest first, so "guinea pigs" wins over "guinea pig"; then by spelling, so the
    # pattern is the same on every run.
    ordered = sorted(words, key=lambda word: (-len(word), word))
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered) + ")"


def _kin_forms(vocab: str) -> KinForms:
    """The three ways people introduce a pet or a person, for one vocabulary."""
    possessive = re.compile(  # "my dog's name is Biscuit", "my wife Sarah"
        rf"\b(?:my|our)\s+(?P<adj>(?:{_ADJ})*)(?P<w>{vocab})\b"
        r"(?P<link>(?:'s|s'|')?\s+names?\s+(?:is|are|was)|\s+(?:is|are)\s+(?:called|named)|"
        r",?\s+(?:called|named)|\s+(?:is|are)|,|)\s+",
        _I,
    )
    having = re.compile(  # "I have two cats called Tom and Jerry", "and a cat called Tom"
        rf"\b(?:(?:I|we)\s+(?:have|own|got|adopted|rescued)|and|,)\s+{_COUNT}"
        rf"(?P<adj>(?:{_ADJ})*)(?P<w>{vocab})\b,?\s+"
        r"(?:called|named|whose\s+names?\s+(?:is|are))\s+",
        _I,
    )
    naming = re.compile(  # "Biscuit is my dog"
        r"\b(?P<n>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*)?)\s+(?:is|was)\s+(?:my|our)\s+"
        rf"(?P<adj>(?:{_ADJ})*)(?P<w>{vocab})\b",
        _I,
    )
    return possessive, having, naming


_PET_FORMS = _kin_forms(_alternation(SPECIES_WORDS))
_KIN_FORMS = _kin_forms(_alternation(RELATION_WORDS))


def _kin(clause: str, forms: KinForms, build: KinBuilder) -> Iterator[Hit]:
    possessive, having, naming = forms
    for found in (*possessive.finditer(clause), *having.finditer(clause)):
        names, end = take_names(clause, found.end())
        link = found.groupdict().get("link")
        # Without "called"/"named" only a capitalised name counts: "my wife Sarah" but
        # not "my dog is happy".
        weak = link is not None and not _STRONG_LINK.search(link)
        if not names or negated(clause, found.start()):
            continue
        if weak and not all(capitalised for _, capitalised in names):
            continue
        if (
            weak
            and link
            and link.strip() in ("is", "are")
            and not _WEAK_LINK_END.match(clause, end)
        ):
            continue
        best = "best" in found["adj"].lower()
        built = (build(found["w"], name, best) for name, _ in names)
        yield hit(found.start(), end, *(candidate for candidate in built if candidate))
    for found in naming.finditer(clause):
        words = found["n"].split()
        while words and (not words[0][0].isupper() or words[0].casefold() in NOT_NAME):
            words.pop(0)
        if words and all(w[0].isupper() and w.casefold() not in NOT_NAME for w in words):
            candidate = build(found["w"], " ".join(words), "best" in found["adj"].lower())
            if candidate:
                yield hit(found.start("n"), found.end(), candidate)


def _pet(word: str, name: str, best: bool) -> MemoryCandidate | None:
    species = canonical_species(word)
    if species is None:
        return None
    text = f"Has {article(species)} {species} called {name}"
    return MemoryCandidate(MemoryCategory.RELATIONSHIP, text, 7, pet_key(species, name), name)


# There is one of each: "Mother is called Amina" reads better than "Has a mother called".
_ONLY_ONE = word_set("mother father wife husband partner girlfriend boyfriend fiance fiancee")


def _relative(word: str, name: str, best: bool) -> MemoryCandidate | None:
    relation = canonical_relation(word)
    if relation is None:
        return None
    if relation == "friend" and best:
        text = f"Best friend is called {name}"
    elif relation in _ONLY_ONE:
        text = f"{relation.capitalize()} is called {name}"
    else:
        text = f"Has {article(relation)} {relation} called {name}"
    key = family_key(relation, name)
    return MemoryCandidate(MemoryCategory.RELATIONSHIP, text, 7, key, name)


def pets(clause: str) -> Iterator[Hit]:
    """The user's pets, by species and name: "I have two cats called Tom and Jerry"."""
    return _kin(clause, _PET_FORMS, _pet)


def family(clause: str) -> Iterator[Hit]:
    """The user's relatives and friends, by relation and name: "my sister Zara"."""
    return _kin(clause, _KIN_FORMS, _relative)
