"""The entry point: an utterance read clause by clause into validated memory candidates.

Each clause is offered to the extractors, most specific first, and a stretch of text
read by one is not read again.
"""

from __future__ import annotations

from collections.abc import Iterator

from companion.adapters.local.extraction.clauses import clauses
from companion.adapters.local.extraction.forget import as_forget, forget_request, forgotten_slots
from companion.adapters.local.extraction.personal import ages, names, places, work
from companion.adapters.local.extraction.plans import goals, plans
from companion.adapters.local.extraction.preferences import dislikes, favourites, likes
from companion.adapters.local.extraction.relations import family, pets
from companion.adapters.local.extraction.values import Extractor, Hit
from companion.domain.errors import InvalidInput
from companion.domain.models import MemoryCandidate
from companion.domain.validation import MAX_TURN_TEXT, validate_candidate

__all__ = ["extract_candidates"]

# Most specific first: "I love my wife Sarah" is a relative, not a like, and "I'm
# planning to run a marathon next year" a dated plan before it is a goal.
_EXTRACTORS: tuple[Extractor, ...] = (
    names,
    ages,
    pets,
    family,
    work,
    places,
    favourites,
    plans,
    goals,
    dislikes,
    likes,
)


def extract_candidates(text: str) -> list[MemoryCandidate]:
    """Memories worth keeping from one utterance, in order of appearance, one per key.

    Never raises: text that states nothing recognisable (questions, chit-chat, other
    languages) gives an empty list. Every candidate passes ``validate_candidate``. A
    request to forget ("forget that I live in Paris") gives candidates marked ``forget``.
    """
    found: dict[str, MemoryCandidate] = {}
    for clause in clauses(text[:MAX_TURN_TEXT]):
        for candidate in _read_clause(clause):
            try:
                checked = validate_candidate(candidate)
            except InvalidInput:
                continue
            # Keeps the first position but takes the later value: saying the same slot
            # twice in one breath is a correction.
            found[checked.key or checked.text] = checked
    return list(found.values())


def _read_clause(clause: str) -> list[MemoryCandidate]:
    rest = forget_request(clause)
    if rest is None:
        return list(_extract_clause(clause))
    stated = [as_forget(candidate) for candidate in _extract_clause(rest)]
    return stated or forgotten_slots(rest)


def _extract_clause(clause: str) -> Iterator[MemoryCandidate]:
    taken: list[tuple[int, int]] = []
    hits: list[Hit] = []
    for extractor in _EXTRACTORS:
        for hit in extractor(clause):
            if not any(hit.start < end and start < hit.end for start, end in taken):
                taken.append((hit.start, hit.end))
                hits.append(hit)
    for hit in sorted(hits, key=lambda h: h.start):
        yield from hit.candidates
