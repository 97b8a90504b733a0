"""Extractors for who the user is: their name, age, work and where they live or are from."""

from __future__ import annotations

import re
from collections.abc import Iterator

from companion.adapters.local.extraction.values import (
    PRONOUNS,
    STOP_EMPLOYER,
    STOP_PLACE,
    STOP_ROLE,
    Hit,
    hit,
    negated,
    phrase,
    take_name,
)
from companion.domain.keys import (
    KEY_AGE,
    KEY_EMPLOYER,
    KEY_HOME,
    KEY_NAME,
    KEY_ORIGIN,
    KEY_ROLE,
    article,
    word_set,
)
from companion.domain.models import MemoryCandidate, MemoryCategory

__all__ = ["ages", "names", "places", "work"]

_I = re.IGNORECASE
_PERSONAL = MemoryCategory.PERSONAL

# --- name ---------------------------------------------------------------------------------

_NAME_FORMS = tuple(
    re.compile(pattern, _I)
    for pattern in (
        r"\bmy\s+(?:full\s+|first\s+|real\s+|actual\s+)?name\s+is\s+(?:actually\s+|just\s+)?",
        r"\bI'm\s+(?:called|named|known\s+as)\s+",
        r"\b(?:you\s+can\s+|please\s+|just\s+)?call\s+me\s+",
        r"\b(?:people|everyone|everybody|my\s+friends)\s+calls?\s+me\s+",
        r"\bI\s+go\s+by\s+",
        r"\bmera\s+naam\s+",
        "\u0645\u06cc\u0631\u0627\\s+\u0646\u0627\u0645\\s+",  # Urdu: "my name"
    )
)
_BARE_NAME = re.compile(r"^I'm\s+", _I)
_BARE_NAME_END = re.compile(r"\s*(?:$|[,.!]|(?:from|by|btw|here|speaking)\b)", _I)
# Capitalised words that follow "I'm" without being a name.
_NOT_BARE_NAME = word_set(
    "american british english pakistani indian german french italian spanish canadian "
    "muslim christian jewish hindu catholic sikh buddhist fine good great sorry tired "
    "happy sad ready done home back busy free"
)


def names(clause: str) -> Iterator[Hit]:
    """ "My name is Ada", "call me Ada", and a capitalised "I'm Ada." on its own."""
    for form in _NAME_FORMS:
        found = form.search(clause)
        taken = take_name(clause, found.end()) if found else None
        if found and taken and not negated(clause, found.end()):
            yield hit(found.start(), taken[1], _name(taken[0]))
            return
    # "I'm Ada." is a name only when capitalised and alone: "I'm tired", "I'm British".
    bare = _BARE_NAME.match(clause)
    taken = take_name(clause, bare.end()) if bare else None
    if (
        taken
        and taken[2]
        and taken[0].casefold() not in _NOT_BARE_NAME
        and _BARE_NAME_END.match(clause, taken[1])
    ):
        yield hit(0, taken[1], _name(taken[0]))


def _name(name: str) -> MemoryCandidate:
    return MemoryCandidate(_PERSONAL, f"Name is {name}", 9, KEY_NAME, name)


# --- age ----------------------------------------------------------------------------------

_AGE_FORMS = tuple(
    re.compile(pattern, _I)
    for pattern in (
        r"\bI'm\s+(?P<v>\d{1,3})(?:\s*(?:years?|yrs?)(?:\s+old)?|\s+y/?o)?"
        r"(?=\s*(?:$|[,.!]|now\b|today\b|this\s+year\b))",
        r"\bmy\s+age\s+is\s+(?P<v>\d{1,3})\b",
        r"\bI\s+(?:just\s+)?turned\s+(?P<v>\d{1,3})\b",
    )
)


def ages(clause: str) -> Iterator[Hit]:
    """ "I'm 34", "my age is 34", "I just turned 34"."""
    for form in _AGE_FORMS:
        found = form.search(clause)
        if found and not negated(clause, found.start("v")) and 0 < int(found["v"]) <= 130:
            age = str(int(found["v"]))
            candidate = MemoryCandidate(_PERSONAL, f"Is {age} years old", 6, KEY_AGE, age)
            yield hit(found.start(), found.end(), candidate)
            return


# --- work ---------------------------------------------------------------------------------

_WORK_AT = re.compile(
    r"\bI(?:'m)?\s+(?:currently\s+|now\s+|also\s+|still\s+)?(?:work|working|employed)\s+"
    r"(?P<prep>at|for|in)\s+",
    _I,
)
_WORK_AS = re.compile(
    r"\b(?:I(?:'m)?\s+(?:currently\s+|now\s+|also\s+|still\s+)?(?:work|working)\s+as|"
    r"my\s+(?:job|profession|occupation|job\s+title|role)\s+is)\s+(?:an?\s+)?(?!to\b)",
    _I,
)
_I_AM_A = re.compile(r"\bI'm\s+an?\s+", _I)
_ROLE_AFTER = re.compile(r"\s+as\s+(?:an?\s+)?", _I)
_EMPLOYER_AFTER = re.compile(r"\s+(?P<prep>at|for)\s+", _I)
# "I'm a teacher" is a job, "I'm a big fan" is not: the last word must look like one.
_JOB_WORD = re.compile(
    r"(?:er|or|ist|ian|ant|ent|eer|ect|ess|eur|man|woman|nurse|chef|cook|pilot|coach|judge|"
    r"clerk|tutor|barista|vet|dev|medic|mechanic|surgeon|ceo|cto|intern|analyst)$",
    _I,
)
_NOT_JOB = word_set(
    "fan bit little lot big huge real total vegetarian vegan christian libertarian "
    "introvert extrovert perfectionist optimist pessimist member believer lover beginner "
    "person mother father brother sister daughter son parent grandmother grandfather "
    "winner loser foreigner minor dreamer other leo"
)


def _employer(prep: str, employer: str) -> MemoryCandidate:
    text = f"Works {prep.lower()} {employer}"
    return MemoryCandidate(_PERSONAL, text, 7, KEY_EMPLOYER, employer)


def _role(role: str, lead: str) -> MemoryCandidate:
    # "my job is teaching" -> "Works in teaching"; "I work as a nurse" -> "Works as a nurse".
    text = f"Works in {role}" if role.endswith("ing") else f"{lead} {article(role)} {role}"
    return MemoryCandidate(_PERSONAL, text, 7, KEY_ROLE, role)


def work(clause: str) -> Iterator[Hit]:
    """ "I work at Acme (as an engineer)", "I work as a nurse (at ...)", "I'm a teacher"."""
    for found in _WORK_AT.finditer(clause):
        employer, end = phrase(clause, found.end(), STOP_EMPLOYER, 6)
        if not employer or employer.lower() in PRONOUNS or negated(clause, found.start()):
            continue
        candidates = [_employer(found["prep"], employer)]
        role_at = _ROLE_AFTER.match(clause, end)
        role, role_end = phrase(clause, role_at.end(), STOP_ROLE, 5) if role_at else ("", end)
        if role:
            candidates.append(_role(role, "Works as"))
            end = role_end
        yield hit(found.start(), end, *candidates)
    for form, lead in ((_WORK_AS, "Works as"), (_I_AM_A, "Is")):
        for found in form.finditer(clause):
            role, end = phrase(clause, found.end(), STOP_ROLE, 5)
            words = role.lower().split()
            if not words or negated(clause, found.start()):
                continue
            if form is _I_AM_A and (
                not _JOB_WORD.search(words[-1]) or {words[0], words[-1]} & _NOT_JOB
            ):
                continue
            candidates = [_role(role, lead)]
            employer_at = _EMPLOYER_AFTER.match(clause, end)
            if employer_at:
                employer, employer_end = phrase(clause, employer_at.end(), STOP_EMPLOYER, 6)
                if employer:
                    candidates.append(_employer(employer_at["prep"], employer))
                    end = employer_end
            yield hit(found.start(), end, *candidates)


# --- places -------------------------------------------------------------------------------

_PLACE_FORMS = tuple(
    (re.compile(pattern, _I), key)
    for pattern, key in (
        (
            r"\bI\s+(?:currently\s+|now\s+|still\s+)?live\s+(?P<prep>in|near|at|on|outside)\s+",
            KEY_HOME,
        ),
        (
            r"\bI'm\s+(?:currently\s+|now\s+)?(?:living|based|staying)\s+(?P<prep>in|near)\s+",
            KEY_HOME,
        ),
        (r"\bI\s+(?:have\s+)?(?:just\s+|recently\s+)?(?:moved|relocated)\s+to\s+", KEY_HOME),
        (r"\bmy\s+(?:home|house|flat|apartment)\s+is\s+(?P<prep>in|near)\s+", KEY_HOME),
        (r"\bI\s+reside\s+(?P<prep>in)\s+", KEY_HOME),
        (r"\bI'm\s+(?:originally\s+)?from\s+", KEY_ORIGIN),
        (r"\bI\s+(?:originally\s+)?come\s+from\s+", KEY_ORIGIN),
        (r"\bI\s+was\s+born\s+in\s+", KEY_ORIGIN),
    )
)
_NOT_TITLED = word_set("a an the my our this that some")


def _place_name(place: str) -> str:
    words = place.split()
    # Speech-to-text writes "new york": a short lower-case place name gets its capitals.
    if place.islower() and len(words) <= 3 and words[0] not in _NOT_TITLED:
        return " ".join(word[0].upper() + word[1:] for word in words)
    return place


def places(clause: str) -> Iterator[Hit]:
    """Where the user lives ("I moved to Berlin") or is from ("I'm from Lahore")."""
    for form, key in _PLACE_FORMS:
        found = form.search(clause)
        if not found or negated(clause, found.start()):
            continue
        place, end = phrase(clause, found.end(), STOP_PLACE, 6)
        if not place or place.lower() in PRONOUNS or place[0].isdigit():
            continue
        place = _place_name(place)
        if key == KEY_ORIGIN:
            candidate = MemoryCandidate(_PERSONAL, f"Is from {place}", 6, key, place)
        else:
            prep = (found.groupdict().get("prep") or "in").lower()
            candidate = MemoryCandidate(_PERSONAL, f"Lives {prep} {place}", 8, key, place)
        yield hit(found.start(), end, candidate)
        return
